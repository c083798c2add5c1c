// Liveness of nodes as the leader's dispatcher sees it: a deadline per node, moved on
// by each heartbeat. Pure: the caller passes the time and sweeps; no timers here.
import type { Rng } from '@shoal/raft';

/**
 * Heartbeat deadlines of the nodes the dispatcher watches.
 *
 * A node is tracked from its session start (or from the dispatcher's start, with a
 * grace period) until it is found expired or forgotten. An expired node is removed by
 * {@link HeartbeatTracker.expired}, so it is reported once; a later heartbeat or
 * session tracks it again.
 *
 * @example
 * const tracker = new HeartbeatTracker({ periodMs: 1000, downTimeoutFactor: 2.5, rng });
 * const period = tracker.beat('n1', now); // hand `period` to the agent
 * tracker.expired(now + 2600); // ['n1']
 */
export class HeartbeatTracker {
  /** Node ID → time after which the node counts as down. */
  readonly #deadlines = new Map<string, number>();
  readonly #rng: Rng;
  #periodMs: number;
  #downTimeoutFactor: number;

  constructor(options: { periodMs: number; downTimeoutFactor: number; rng: Rng }) {
    this.#periodMs = options.periodMs;
    this.#downTimeoutFactor = options.downTimeoutFactor;
    this.#rng = options.rng;
  }

  /** The base period handed to agents (before jitter). */
  get periodMs(): number {
    return this.#periodMs;
  }

  /** How long after a heartbeat the node is declared down. */
  get downTimeoutMs(): number {
    return Math.round(this.#periodMs * this.#downTimeoutFactor);
  }

  /** Changes the period for the heartbeats that follow; deadlines already set stay. */
  setPeriod(periodMs: number): void {
    this.#periodMs = periodMs;
  }

  /**
   * Records a heartbeat (or a session start) of `nodeId` at `now` and returns the
   * period to hand to the agent: the base period minus up to 10 % jitter. Jitter only
   * shortens it, so the deadline (a full down timeout away) always has room for the
   * next beat; it spreads agents that connected together across the period, evening
   * the leader's load.
   */
  beat(nodeId: string, now: number): number {
    this.#deadlines.set(nodeId, now + this.downTimeoutMs);
    const spread = Math.floor(this.#periodMs / 10);
    return this.#periodMs - (spread > 0 ? this.#rng.int(spread) : 0);
  }

  /**
   * Expects a node to (re)connect by `deadline` without a heartbeat having been seen:
   * the grace a new leader gives every node. Keeps a later deadline already set.
   */
  expect(nodeId: string, deadline: number): void {
    const current = this.#deadlines.get(nodeId);
    if (current === undefined || current < deadline) this.#deadlines.set(nodeId, deadline);
  }

  /** Whether `nodeId` has a deadline that has not been reported expired. */
  has(nodeId: string): boolean {
    return this.#deadlines.has(nodeId);
  }

  /** Stops tracking `nodeId` (removed from the cluster, or replaced session bookkeeping). */
  forget(nodeId: string): void {
    this.#deadlines.delete(nodeId);
  }

  /** Stops tracking every node (the dispatcher lost leadership). */
  clear(): void {
    this.#deadlines.clear();
  }

  /** Removes and returns the nodes whose deadline is before `now`. */
  expired(now: number): string[] {
    const out: string[] = [];
    for (const [nodeId, deadline] of this.#deadlines) {
      if (deadline < now) out.push(nodeId);
    }
    for (const nodeId of out) this.#deadlines.delete(nodeId);
    return out;
  }

  /** How many nodes are tracked. */
  get size(): number {
    return this.#deadlines.size;
  }
}
