// The simulator's network: messages are due at a virtual step; faults drop, duplicate,
// delay (hence reorder) and partition them. Decisions come from the seeded Rng only.

import type { SeededRng } from '../core/rng.js';
import type { Message, RaftId } from '../core/types.js';

/** Per-message fault probabilities (0 = never). */
export interface NetworkFaults {
  drop: number;
  duplicate: number;
  /** Probability a message is delayed by 1..maxDelay steps instead of arriving this step. */
  delay: number;
  maxDelay: number;
  /** Probability a message jumps ahead of others due at the same step. */
  reorder: number;
}

/** A perfect network: every message arrives, once, in order, in the step it was sent. */
export const NO_NETWORK_FAULTS: NetworkFaults = {
  drop: 0,
  duplicate: 0,
  delay: 0,
  maxDelay: 1,
  reorder: 0,
};

/** The simulated network between members. */
export class SimNetwork {
  faults: NetworkFaults = { ...NO_NETWORK_FAULTS };
  readonly #rng: SeededRng;
  readonly #due = new Map<number, Message[]>();
  readonly #blocked = new Set<string>();
  delivered = 0;
  dropped = 0;

  constructor(rng: SeededRng) {
    this.#rng = rng;
  }

  isBlocked(from: RaftId, to: RaftId): boolean {
    return this.#blocked.size > 0 && this.#blocked.has(`${from}>${to}`);
  }

  /** Cuts every link between `group` and `others` (both directions). */
  partition(group: readonly RaftId[], others: readonly RaftId[]): void {
    for (const a of group) {
      for (const b of others) {
        if (a === b) continue;
        this.#blocked.add(`${a}>${b}`);
        this.#blocked.add(`${b}>${a}`);
      }
    }
  }

  /** Cuts one direction only (asymmetric faults). */
  cutOneWay(from: RaftId, to: RaftId): void {
    this.#blocked.add(`${from}>${to}`);
  }

  heal(): void {
    this.#blocked.clear();
  }

  get partitioned(): boolean {
    return this.#blocked.size > 0;
  }

  /** Queues `m` sent at step `now`; returns false when it was dropped at once. */
  send(m: Message, now: number): boolean {
    if (this.isBlocked(m.from, m.to) || this.#rng.chance(this.faults.drop)) {
      this.dropped++;
      return false;
    }
    this.#enqueue(m, now);
    if (this.#rng.chance(this.faults.duplicate)) this.#enqueue(m, now);
    return true;
  }

  #enqueue(m: Message, now: number): void {
    const at = this.#rng.chance(this.faults.delay)
      ? now + 1 + this.#rng.int(this.faults.maxDelay)
      : now;
    const list = this.#due.get(at);
    if (list === undefined) {
      this.#due.set(at, [m]);
    } else if (this.#rng.chance(this.faults.reorder)) {
      list.splice(this.#rng.int(list.length + 1), 0, m);
    } else {
      list.push(m);
    }
  }

  /** Takes every message due at or before `now`. */
  takeDue(now: number): Message[] {
    const out: Message[] = [];
    for (const [at, list] of this.#due) {
      if (at <= now) {
        for (const m of list) out.push(m);
        this.#due.delete(at);
      }
    }
    return out;
  }

  /** Whether a message may still arrive (link open now). */
  canDeliver(m: Message): boolean {
    return !this.isBlocked(m.from, m.to);
  }

  get inFlight(): number {
    let n = 0;
    for (const list of this.#due.values()) n += list.length;
    return n;
  }
}
