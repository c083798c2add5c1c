// @shoal/agent: what runs on every node. For now, the node's identity on its host.

export { type EngineFacts, readEngineFacts } from './engine-info.js';
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
