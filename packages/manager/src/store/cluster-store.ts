// What the manager's components (control API, dispatcher, CA, orchestrators) use of the
// store: local reads, linearizable barriers, transactional writes and watches. The
// replicated implementation writes through Raft; `LocalClusterStore` applies at once,
// for tests of those components.
import { randomUUID } from 'node:crypto';
import { pb } from '@shoal/api';
import type { MemoryStore, WatchOptions } from './memory-store.js';
import { StoreTx } from './store-batch.js';
import type { StoreEvent } from './store-watch.js';

/** The store as the manager's components see it. */
export interface ClusterStore {
  /** The local replica; reads are as fresh as the last applied entry. */
  readonly state: MemoryStore;
  /**
   * Waits until the local replica has applied everything committed when the call was
   * made (Raft ReadIndex), so reads after it are linearizable.
   */
  barrier(options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Runs `build` on a transaction over the local replica and commits its changes as one
   * batch. Resolves once applied locally; rejects with StoreConflictError when the
   * batch no longer fits the state, changing nothing.
   */
  update(build: (tx: StoreTx) => void, options?: { signal?: AbortSignal }): Promise<void>;
  watch(options?: WatchOptions): AsyncIterableIterator<StoreEvent>;
}

/** A ClusterStore without Raft: every update applies at once at the next version. */
export class LocalClusterStore implements ClusterStore {
  readonly state: MemoryStore;

  constructor(state: MemoryStore) {
    this.state = state;
  }

  async barrier(): Promise<void> {}

  async update(build: (tx: StoreTx) => void): Promise<void> {
    const tx = new StoreTx(this.state);
    build(tx);
    if (tx.isEmpty) return;
    // Through the wire form, as a Raft entry would be, so tests see what members see.
    const batch = pb.StoreBatch.decode(pb.StoreBatch.encode(tx.toBatch(randomUUID())).finish());
    const result = this.state.apply(this.state.version + 1, batch);
    if (!result.ok) throw result.error;
  }

  watch(options?: WatchOptions): AsyncIterableIterator<StoreEvent> {
    return this.state.watch(options);
  }
}
