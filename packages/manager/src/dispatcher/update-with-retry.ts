// Store writes that read what they change: a StoreConflictError means another write
// landed between our read and our commit, so the batch is built again from fresh reads.
import type { ClusterStore } from '../store/cluster-store.js';
import type { StoreTx } from '../store/store-batch.js';
import { StoreConflictError } from '../store/store-errors.js';

/**
 * Runs `build` in a store update, again from fresh reads after each StoreConflictError,
 * `attempts` times at most; other errors end it at once.
 *
 * @example
 * await updateWithRetry(store, (tx) => tx.update('nodes', fresh(tx)), { attempts: 5 });
 */
export async function updateWithRetry(
  store: ClusterStore,
  build: (tx: StoreTx) => void,
  options: { attempts: number },
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await store.update(build);
      return;
    } catch (error) {
      if (!(error instanceof StoreConflictError) || attempt >= options.attempts) throw error;
    }
  }
}
