// @shoal/agent: what runs on every node: its identity, its session with the managers and
// the executor that runs its tasks on the node's container engine.

export { type EngineFacts, readEngineFacts } from './engine-info.js';
export { type AdoptionDecision, planAdoption } from './executor/adoption.js';
export type {
  ContainerCreateOptions,
  ContainerInfo,
  ContainerRuntime,
  ContainerStatus,
  HealthStatus,
  RuntimeEvent,
  RuntimeHealthcheck,
  RuntimeMount,
  StopOptions,
} from './executor/container-runtime.js';
export {
  containerName,
  DEFAULT_STOP_GRACE_MS,
  type RenderContext,
  renderContainerSpec,
  stopGraceMs,
  TASK_LABELS,
} from './executor/container-spec.js';
export { DockerRuntime, type DockerRuntimeOptions } from './executor/docker-runtime.js';
export { FakeContainerRuntime } from './executor/fake-container-runtime.js';
export type { ReporterTimers, ReportFn } from './executor/status-reporter.js';
export {
  type CompiledTaskExecutorOptions,
  compileTaskExecutorOptions,
  DEFAULT_TASK_PARALLELISM,
  TaskExecutor,
  type TaskExecutorOptions,
  type TaskExecutorState,
} from './executor/task-executor.js';
export {
  isStateEvent,
  isTerminal,
  missingImage,
  type Observation,
  observeContainer,
  UNHEALTHY_ERR,
} from './executor/task-state.js';
export { DockerLogDemuxer, type LogLine, type LogStreamName } from './logs/docker-log-frames.js';
export { DockerLogSource } from './logs/docker-log-source.js';
export {
  LogPublisher,
  type LogPublisherOptions,
  type LogPublisherSession,
  MAX_LOG_SUBSCRIPTIONS,
  PUBLISH_BATCH_LINES,
} from './logs/log-publisher.js';
export type { TaskLogReadOptions, TaskLogSource } from './logs/task-log-source.js';
export { loadOrCreateNodeIdentity, type NodeIdentity, newNodeId } from './node-identity.js';
export {
  AgentSession,
  type AgentSessionOptions,
  type AgentSessionState,
  type AgentTimers,
  type Assignments,
  type CompiledAgentSessionOptions,
  compileAgentSessionOptions,
} from './session/agent-session.js';
export {
  LEADER_ADDR_TRAILER,
  ManagerRotation,
  type SessionVerdict,
  verdictOf,
} from './session/manager-rotation.js';
export type { AgentSessionEvent } from './session/session-events.js';
