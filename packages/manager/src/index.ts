// @shoal/manager: the replicated store, the CA, the control API, the allocator, the
// orchestrators, the scheduler and the dispatcher.

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
