// The proposals a RaftNode is waiting on: queued until the next Ready, handed to the core
// as batch entries, located in the log when an entry of ours shows up, settled when it is
// applied, and failed when another leader's entry took its index.
import type { Entry, RaftId } from '../core/types.js';
import { ProposalDroppedError } from '../errors.js';
import type { Waiter } from './deadline.js';
import { type BatchItem, decodeBatch } from './proposal-batch.js';

/** Upper bound of client data in one batch entry (the core's default maxSizePerMsg). */
export const MAX_BATCH_BYTES = 1024 * 1024;

/** Pending proposals of one member, keyed by their sequence number. */
export class ProposalTracker<R> {
  readonly #id: RaftId;
  readonly #pending = new Map<number, Waiter<R>>();
  /** Log index -> our sequence numbers in that entry, for entries not applied yet. */
  readonly #byIndex = new Map<number, number[]>();
  #queued: BatchItem[] = [];
  #queuedBytes = 0;

  constructor(id: RaftId) {
    this.#id = id;
  }

  /** Whether proposals wait to be handed to the core. */
  get hasQueued(): boolean {
    return this.#queued.length > 0;
  }

  /** Registers a caller and queues its data; true once a full batch is queued. */
  add(seq: number, data: Uint8Array, waiter: Waiter<R>): boolean {
    this.#pending.set(seq, waiter);
    this.#queued.push({ proposer: this.#id, seq, data });
    this.#queuedBytes += data.length;
    return this.#queuedBytes >= MAX_BATCH_BYTES;
  }

  /** Drops a caller that gave up (timeout, abort). */
  forget(seq: number): void {
    this.#pending.delete(seq);
  }

  /** Takes everything queued, cut into batches of at most MAX_BATCH_BYTES (one item at least). */
  takeBatches(): BatchItem[][] {
    const items = this.#queued;
    this.#queued = [];
    this.#queuedBytes = 0;
    const out: BatchItem[][] = [];
    let from = 0;
    while (from < items.length) {
      let to = from;
      let bytes = 0;
      while (
        to < items.length &&
        (to === from || bytes + items[to]!.data.length <= MAX_BATCH_BYTES)
      ) {
        bytes += items[to]!.data.length;
        to++;
      }
      out.push(items.slice(from, to));
      from = to;
    }
    return out;
  }

  /** Fails every caller of `batch` (the core refused it). */
  rejectBatch(batch: readonly BatchItem[], err: unknown): void {
    for (const it of batch) {
      const w = this.#pending.get(it.seq);
      this.#pending.delete(it.seq);
      w?.reject(err);
    }
  }

  /** Notes where our proposals landed, from an entry about to be persisted. */
  noteEntry(e: Entry): void {
    if (e.type !== 'normal') return;
    const items = decodeBatch(e.data);
    if (items === undefined) return;
    const ours: number[] = [];
    for (const it of items) {
      if (it.proposer === this.#id && this.#pending.has(it.seq)) ours.push(it.seq);
    }
    if (ours.length > 0) this.#byIndex.set(e.index, ours);
  }

  /**
   * Applies a committed entry: each batch item through `apply` (a normal entry that is
   * not a batch is the empty entry of a new leader, Raft §8), settling our callers with
   * the result; ours that sat at this index and did not come back were overwritten.
   */
  applyEntry(e: Entry, apply: ((data: Uint8Array, index: number) => R) | undefined): void {
    const expected = this.#byIndex.get(e.index);
    if (expected !== undefined) this.#byIndex.delete(e.index);
    if (e.type === 'normal' && apply !== undefined) {
      for (const it of decodeBatch(e.data) ?? []) {
        const result = apply(it.data, e.index);
        if (it.proposer !== this.#id) continue;
        const w = this.#pending.get(it.seq);
        if (w === undefined) continue;
        this.#pending.delete(it.seq);
        w.resolve(result);
      }
    }
    for (const seq of expected ?? []) {
      const w = this.#pending.get(seq);
      if (w === undefined) continue;
      this.#pending.delete(seq);
      w.reject(
        new ProposalDroppedError(
          `entry ${e.index} was overwritten by a new leader before it committed`,
        ),
      );
    }
  }

  /**
   * Fails the callers whose proposals left this member (forwarded to a leader) and are
   * not in its log: after that leader was replaced they will most likely never show up.
   */
  rejectForwarded(err: unknown): void {
    const kept = new Set(this.#queued.map((it) => it.seq));
    for (const seqs of this.#byIndex.values()) for (const seq of seqs) kept.add(seq);
    for (const [seq, w] of this.#pending) {
      if (kept.has(seq)) continue;
      this.#pending.delete(seq);
      w.reject(err);
    }
  }

  /** Fails every pending caller (the node stopped). */
  rejectAll(err: unknown): void {
    for (const w of this.#pending.values()) w.reject(err);
    this.#pending.clear();
    this.#byIndex.clear();
    this.#queued = [];
    this.#queuedBytes = 0;
  }
}
