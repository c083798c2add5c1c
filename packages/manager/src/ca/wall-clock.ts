/**
 * Where the CA reads the time from; tests pass a fixed clock.
 *
 * @example
 * const clock: Clock = { now: () => Date.parse('2026-01-01T00:00:00Z') };
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The system clock (`Date.now()`). */
export const SYSTEM_CLOCK: Clock = { now: () => Date.now() };
