import type { Rng } from './types.js';

/**
 * A small seeded PRNG (mulberry32): deterministic, fast, good enough for election
 * jitter and fault schedules. Not for anything security related.
 *
 * @example
 * const rng = new SeededRng(42);
 * rng.int(10); // same value on every run
 */
export class SeededRng implements Rng {
  #state: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(`Create rng failed: seed must be a safe integer: got ${seed}`);
    }
    // Mix the seed so that nearby seeds give unrelated streams.
    this.#state = (seed ^ 0x9e3779b9) >>> 0;
    this.next();
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    if (!(n > 0)) return 0;
    return Math.floor(this.next() * n);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }
}
