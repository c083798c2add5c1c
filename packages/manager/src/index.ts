// @shoal/manager: the replicated store, the CA, the control API, the allocator, the
// orchestrators, the scheduler and the dispatcher.

export {
  type AuthorizableCall,
  type AuthorizeOptions,
  authorizationInterceptor,
  authorizeRpc,
  callerIdentity,
  requireRole,
} from './ca/authorize.js';
export {
  generateJoinToken,
  generateJoinTokens,
  JOIN_TOKEN_DIGEST_LENGTH,
  JOIN_TOKEN_PREFIX,
  JOIN_TOKEN_SECRET_LENGTH,
  type JoinTokens,
  type ParsedJoinToken,
  parseJoinToken,
  requireJoinToken,
  roleOfJoinToken,
  rootCaDigest,
  tokenMatches,
} from './ca/join-token.js';
export {
  type NodeCertificateInfo,
  parseNodeCertificate,
  RENEWAL_WINDOW,
  type RenewalDelayOptions,
  renewalDelayMs,
  type VerifyNodeCertificateOptions,
  verifyNodeCertificate,
} from './ca/node-certificate.js';
export {
  CA_SERVER_NAME,
  fromPbNodeRole,
  identityFromSubject,
  isValidSubjectId,
  type NodeIdentity,
  type NodeRoleName,
  ROLE_OU,
  roleOfOu,
  type SubjectFields,
  toPbNodeRole,
} from './ca/node-identity.js';
export { createNodeKeyAndCsr, type NodeKeyAndCsr, verifyRootAgainstToken } from './ca/node-keys.js';
export { generateRandomId, RANDOM_ID_BYTES, RANDOM_ID_LENGTH } from './ca/random-id.js';
export {
  CERT_BACKDATE_MS,
  type IssueNodeCertificateOptions,
  type LoadRootCAOptions,
  NODE_CERT_VALIDITY_DEFAULT_MS,
  NODE_CERT_VALIDITY_MIN_MS,
  ROOT_CA_COMMON_NAME,
  ROOT_CA_VALIDITY_MS,
  RootCA,
  type RootCAOptions,
} from './ca/root-ca.js';
export { RPC_ROLES, type RpcAccess } from './ca/rpc-roles.js';
export { CRYPTO_RNG, type SecureRng } from './ca/secure-rng.js';
export {
  type ClientTlsOptions,
  clientCredentials,
  insecureCaBootstrapCredentials,
  MANAGER_CHANNEL_OPTIONS,
  MANAGER_SERVER_NAME,
  NodeServerCredentials,
  type ServerTlsOptions,
  serverCredentials,
} from './ca/tls.js';
export { SYSTEM_WALL_CLOCK, type WallClock } from './ca/wall-clock.js';
export { ControlApi, type ControlApiOptions } from './control/control-api.js';
export { controlService } from './control/control-service.js';
export { ServiceApi, type ServiceApiOptions } from './control/service-api.js';
export {
  Dispatcher,
  type DispatcherState,
  HEARTBEAT_FAILURE,
} from './dispatcher/dispatcher.js';
export {
  type DispatcherClock,
  SYSTEM_DISPATCHER_CLOCK,
  type TimerHandle,
} from './dispatcher/dispatcher-clock.js';
export { LEADER_ADDR_TRAILER, NotLeaderDispatchError } from './dispatcher/dispatcher-errors.js';
export {
  type CallerIdentity,
  type CompiledDispatcherOptions,
  compileDispatcherOptions,
  DEFAULT_DOWN_TIMEOUT_FACTOR,
  DEFAULT_HEARTBEAT_PERIOD_MS,
  type DispatcherCall,
  type DispatcherOptions,
  heartbeatPeriodOf,
} from './dispatcher/dispatcher-options.js';
export { BoundedQueue, type BoundedQueueState } from './logs/bounded-queue.js';
export {
  LOG_QUEUE_CAPACITY,
  LogBroker,
  type LogSubscribeOptions,
  type LogSubscriptionSink,
  type LogTarget,
} from './logs/log-broker.js';
export {
  forwardServiceLogs,
  logTargets,
  ServiceLogs,
  type ServiceLogsOptions,
} from './logs/service-logs.js';
export {
  MANAGER_ELECTION_TICK,
  Manager,
  type ManagerOptions,
  type ManagerState,
  type NodeTls,
} from './manager/manager.js';
export { newRaftId, raftPeers } from './manager/raft-membership.js';
export { type NewTaskOptions, newTask } from './orchestrator/new-task.js';
export type { OrchestratorAction, ReconcileResult } from './orchestrator/orchestrator-action.js';
export { reconcileGlobal } from './orchestrator/reconcile-global.js';
export {
  type ReconcileInput,
  type ReconcileOptions,
  reconcileReplicated,
} from './orchestrator/reconcile-replicated.js';
export {
  reconcileSlot,
  type SlotContext,
  type SlotOutcome,
  type SlotPlace,
  type SlotStatus,
} from './orchestrator/reconcile-slot.js';
export { removeTasks } from './orchestrator/remove-tasks.js';
export {
  countRestarts,
  heldUntilMs,
  isRestart,
  type RestartCountOptions,
  restartDelayMs,
  shouldRestart,
} from './orchestrator/restart-policy.js';
export { DEFAULT_TASK_HISTORY_LIMIT, trimSlotHistory } from './orchestrator/task-history.js';
export { isSameTaskSpec } from './orchestrator/task-spec-equal.js';
export {
  compareTaskAge,
  endedOnItsOwn,
  hasTaskEnded,
  isTaskFinished,
  isTaskWanted,
  observedState,
  taskName,
} from './orchestrator/task-state.js';
export {
  type PlanUpdateInput,
  type PlanUpdateOptions,
  planUpdate,
  rollbackService,
  UPDATE_MESSAGES,
  type UpdatePlan,
} from './orchestrator/updater.js';
export { matchConstraints, nodeAttribute } from './scheduler/constraint-match.js';
export { isNodeAcceptingTasks, isNodeShedding } from './scheduler/node-availability.js';
export {
  MAX_RECENT_FAILURES,
  NO_SUITABLE_NODE,
  RECENT_FAILURE_WINDOW_MS,
  type ScheduleInput,
  type ScheduleResult,
  schedule,
  type TaskAssignment,
  type UnschedulableTask,
} from './scheduler/schedule.js';
export {
  ORCHESTRATION_BATCH_SIZE,
  ORCHESTRATION_DEBOUNCE_MS,
  ORCHESTRATION_RETRY_MS,
  ORCHESTRATION_SCHEDULE_BATCH,
  OrchestrationDriver,
  type OrchestrationDriverOptions,
  type OrchestrationDriverState,
} from './services/orchestration-driver.js';
export { randomServiceName } from './services/random-name.js';
export { TASK_MESSAGES } from './services/task-changes.js';
export { type ClusterStore, LocalClusterStore } from './store/cluster-store.js';
export {
  type ApplyResult,
  MemoryStore,
  type MemoryStoreOptions,
  type WatchOptions,
  type WatchRouter,
} from './store/memory-store.js';
export { ReplicatedStore, type StoreRaft, storeStateMachine } from './store/replicated-store.js';
export { StoreTx } from './store/store-batch.js';
export {
  StoreConflictError,
  WatchCompactedError,
  WatchOverflowError,
} from './store/store-errors.js';
export type { EventFilter, StoreEvent } from './store/store-watch.js';
export { type StoredObject, TABLES, type TableName, type TableObjects } from './store/tables.js';
