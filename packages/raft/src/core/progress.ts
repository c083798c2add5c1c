// The leader's view of one follower (etcd-io/raft tracker/progress.go, design.md):
// how far its log matches (`match`), what to send next (`next`), and a flow-control
// state. Probe: we do not know where the logs diverge, send one append per heartbeat.
// Replicate: the follower is keeping up, stream optimistically up to an inflight window.
// Snapshot: the follower needs a snapshot, pause appends until it reports back.

import type { RaftId } from './types.js';

/** Flow-control state of a follower: probe (find the match), replicate (stream), snapshot (paused). */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/**
 * A sliding window of append messages sent but not yet acknowledged, bounded by count
 * and by bytes (0 bytes = no byte limit). Each slot remembers the last index the
 * message carried, so an ack for index i frees every slot at or below i.
 */
export class Inflights {
  readonly capacity: number;
  readonly maxBytes: number;
  #slots: { index: number; bytes: number }[] = [];
  #head = 0;
  #bytes = 0;

  constructor(capacity: number, maxBytes: number) {
    this.capacity = capacity;
    this.maxBytes = maxBytes;
  }

  get count(): number {
    return this.#slots.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  add(index: number, bytes: number): void {
    this.#slots.push({ index, bytes });
    this.#bytes += bytes;
  }

  /** Frees every message whose last index is at or below `index` (they were acked). */
  freeLE(index: number): void {
    while (this.#head < this.#slots.length && this.#slots[this.#head]!.index <= index) {
      this.#bytes -= this.#slots[this.#head]!.bytes;
      this.#head++;
    }
    this.#compactSlots();
  }

  /** Frees the oldest message: a heartbeat reply proves the follower is alive (etcd). */
  freeFirstOne(): void {
    const first = this.#slots[this.#head];
    if (first !== undefined) this.freeLE(first.index);
  }

  full(): boolean {
    return this.count >= this.capacity || (this.maxBytes > 0 && this.#bytes >= this.maxBytes);
  }

  reset(): void {
    this.#slots = [];
    this.#head = 0;
    this.#bytes = 0;
  }

  #compactSlots(): void {
    if (this.#head > 64 && this.#head * 2 > this.#slots.length) {
      this.#slots = this.#slots.slice(this.#head);
      this.#head = 0;
    }
  }
}

/** Replication progress of one member, as tracked by the leader. */
export class Progress {
  readonly id: RaftId;
  /** Highest index known to be durably replicated on the member. */
  match = 0;
  /** Index of the next entry to send. Invariant: match < next. */
  next: number;
  state: ProgressState = 'probe';
  /** In `snapshot` state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from in the current election timeout window (check-quorum). */
  recentActive = false;
  /** In `probe` state: one append sent, wait for a reply or the next heartbeat. */
  msgAppFlowPaused = false;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(options: {
    id: RaftId;
    next: number;
    isLearner: boolean;
    maxInflightMsgs: number;
    maxInflightBytes: number;
  }) {
    this.id = options.id;
    this.next = options.next;
    this.isLearner = options.isLearner;
    this.inflights = new Inflights(options.maxInflightMsgs, options.maxInflightBytes);
  }

  #resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot, resume right after it: the follower has at least that much.
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.#resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.#resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.#resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.#resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
    this.next = snapshotIndex + 1;
  }

  /** Records that an append carrying `entries` entries (`bytes` of data) was sent. */
  sentEntries(entries: number, bytes: number): void {
    if (this.state === 'replicate') {
      if (entries > 0) {
        this.next += entries;
        this.inflights.add(this.next - 1, bytes);
      }
      this.msgAppFlowPaused = this.inflights.full();
    } else if (this.state === 'probe') {
      this.msgAppFlowPaused = true;
    }
  }

  /**
   * An ack for `n`: returns false when it is stale (nothing new). Moves `next` past `n`
   * and never moves `match` backwards.
   */
  maybeUpdate(n: number): boolean {
    if (n <= this.match) {
      this.next = Math.max(this.next, n + 1);
      return false;
    }
    this.match = n;
    this.next = Math.max(this.next, n + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /**
   * A rejection of the append at `rejected`; `matchHint` is the highest index that may
   * still match (from the follower's hint). Returns false for stale rejections, which
   * must not move `next` (TestLogReplicationWithReorderedMessage).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /** Whether no append may be sent now. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.msgAppFlowPaused;
      case 'replicate':
        return this.msgAppFlowPaused;
      case 'snapshot':
        return true;
    }
  }
}
