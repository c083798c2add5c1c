// ReadIndex bookkeeping (thesis §6.4, etcd-io/raft read_only.go). The leader records its
// commit index for each read request, keyed by the request's context, and broadcasts a
// heartbeat carrying that context. Once a majority of voters echoed the context, the
// leader knows it was still leader when the read arrived, so every request queued up to
// and including that one may be served at its recorded index.

import type { RaftId } from './types.js';

/** A read waiting for its quorum of heartbeat acks. */
export interface ReadIndexRequest {
  /** The commit index when the read arrived: serve once applied ≥ index. */
  readonly index: number;
  /** Who asked: this member (local read) or a follower that forwarded it. */
  readonly from: RaftId;
  readonly context: Uint8Array;
  readonly acks: Set<RaftId>;
}

/** Maps a context to a string key (contexts are small request ids). */
export function contextKey(context: Uint8Array): string {
  let s = '';
  for (const b of context) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Pending ReadIndex requests of a leader, in arrival order. @internal */
export class ReadOnly {
  #pending = new Map<string, ReadIndexRequest>();
  #queue: string[] = [];

  get size(): number {
    return this.#queue.length;
  }

  /** Queues a read; a duplicate context is ignored (the first one stays in force). */
  addRequest(index: number, from: RaftId, context: Uint8Array): void {
    const key = contextKey(context);
    if (this.#pending.has(key)) return;
    this.#pending.set(key, { index, from, context, acks: new Set() });
    this.#queue.push(key);
  }

  /** Records a heartbeat ack for `context`; returns the acks so far, or undefined if unknown. */
  recvAck(id: RaftId, context: Uint8Array): ReadonlySet<RaftId> | undefined {
    const req = this.#pending.get(contextKey(context));
    if (req === undefined) return undefined;
    req.acks.add(id);
    return req.acks;
  }

  /** Removes and returns every request queued up to and including `context`. */
  advance(context: Uint8Array): ReadIndexRequest[] {
    const key = contextKey(context);
    const at = this.#queue.indexOf(key);
    if (at < 0) return [];
    const keys = this.#queue.splice(0, at + 1);
    const out: ReadIndexRequest[] = [];
    for (const k of keys) {
      const req = this.#pending.get(k);
      if (req !== undefined) out.push(req);
      this.#pending.delete(k);
    }
    return out;
  }

  /** Context of the newest pending read, to piggyback on heartbeats; undefined if none. */
  lastPendingContext(): Uint8Array | undefined {
    const key = this.#queue[this.#queue.length - 1];
    return key === undefined ? undefined : this.#pending.get(key)?.context;
  }
}
