// @shoal/manager: the replicated store, the CA, the control API, the allocator, the
// orchestrators, the scheduler and the dispatcher.

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
export {
  Dispatcher,
  type DispatcherState,
  HEARTBEAT_FAILURE,
} from './dispatcher/dispatcher.js';
export { type ClusterStore, LocalClusterStore } from './store/cluster-store.js';
export { type ApplyResult, MemoryStore, type MemoryStoreOptions } from './store/memory-store.js';
export { StoreTx } from './store/store-batch.js';
export {
  StoreConflictError,
  WatchCompactedError,
  WatchOverflowError,
} from './store/store-errors.js';
export type { EventFilter, StoreEvent } from './store/store-watch.js';
export { type StoredObject, TABLES, type TableName, type TableObjects } from './store/tables.js';
