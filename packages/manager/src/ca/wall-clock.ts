/**
 * Wall-clock time for certificate validity, which other nodes compare with their own
 * clocks (unlike a monotonic clock, whose origin is arbitrary). Tests pass a fixed one.
 *
 * @example
 * const clock: WallClock = { now: () => Date.parse('2026-01-01T00:00:00Z') };
 */
export interface WallClock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The system's wall clock (`Date.now()`). */
export const SYSTEM_WALL_CLOCK: WallClock = { now: () => Date.now() };
