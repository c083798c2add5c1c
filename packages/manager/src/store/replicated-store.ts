// The store replicated through Raft: every update is one proposal of a StoreBatch, every
// member applies committed batches to its MemoryStore in log order, and reads wait on a
// Raft ReadIndex so they are linearizable on any manager (Swarm's are not: its
// followers serve possibly stale reads).
import { randomUUID } from 'node:crypto';
import { pb, ShoalError } from '@shoal/api';
import type { StateMachine } from '@shoal/raft';
import type { ClusterStore } from './cluster-store.js';
import type { ApplyResult, MemoryStore, WatchOptions } from './memory-store.js';
import { StoreTx } from './store-batch.js';
import type { StoreEvent } from './store-watch.js';

/** What the replicated store needs of a Raft member. */
export interface StoreRaft {
  propose(data: Uint8Array, options?: { signal?: AbortSignal }): Promise<ApplyResult>;
  readIndex(options?: { signal?: AbortSignal }): Promise<number>;
}

/** The MemoryStore as Raft's state machine: entries are encoded StoreBatches. */
export function storeStateMachine(state: MemoryStore): StateMachine<ApplyResult> {
  return {
    apply: (data, index) => state.apply(index, pb.StoreBatch.decode(data)),
    snapshot: () => state.snapshot(),
    restore: (data) => state.restore(data),
  };
}

/** A ClusterStore whose writes go through Raft. */
export class ReplicatedStore implements ClusterStore {
  readonly state: MemoryStore;
  readonly #raft: StoreRaft;

  constructor(state: MemoryStore, raft: StoreRaft) {
    this.state = state;
    this.#raft = raft;
  }

  async barrier(options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#raft.readIndex(options).catch(unavailable('Read the store'));
  }

  async update(
    build: (tx: StoreTx) => void,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const tx = new StoreTx(this.state);
    build(tx);
    if (tx.isEmpty) return;
    const batch = tx.toBatch(randomUUID());
    // Refuse early what already conflicts here; apply checks again in log order.
    const early = this.state.check(batch);
    if (early) throw early;
    const result = await this.#raft
      .propose(pb.StoreBatch.encode(batch).finish(), options)
      .catch(unavailable('Write to the store'));
    if (!result.ok) throw result.error;
  }

  watch(options?: WatchOptions): AsyncIterableIterator<StoreEvent> {
    return this.state.watch(options);
  }
}

/**
 * Raft's failures (no leader, a lost election, a timeout) reach users as UNAVAILABLE, the
 * status clients retry on another manager; anything else passes through.
 */
function unavailable(action: string): (error: unknown) => never {
  return (error) => {
    if (error instanceof Error && /^SHOAL_RAFT_/.test(String((error as { code?: unknown }).code))) {
      throw new ShoalError('SHOAL_UNAVAILABLE', `${action}: ${error.message}: retry`, {
        cause: error,
      });
    }
    throw error;
  };
}
