// The time seam of the dispatcher: reading the time and arming timers both go through
// it, so tests drive heartbeat deadlines, grace periods and batching with a manual clock.

/** An armed timer, as returned by {@link DispatcherClock.setTimeout}. */
export type TimerHandle = object;

/**
 * Where the dispatcher reads the time and arms its timers.
 *
 * @example
 * const clock: DispatcherClock = SYSTEM_DISPATCHER_CLOCK;
 * const timer = clock.setTimeout(() => sweep(), 200);
 * clock.clearTimeout(timer);
 */
export interface DispatcherClock {
  /** Milliseconds since an arbitrary fixed origin (monotonic is best). */
  now(): number;
  /** Runs `callback` once after `ms`; the timer never keeps the process alive. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(timer: TimerHandle): void;
}

/** Real time: `performance.now()` and unref'ed Node timers. */
export const SYSTEM_DISPATCHER_CLOCK: DispatcherClock = {
  now: () => performance.now(),
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, ms);
    // The dispatcher's timers serve live sessions; they must not hold a stopping daemon.
    timer.unref();
    return timer;
  },
  clearTimeout(timer) {
    clearTimeout(timer as NodeJS.Timeout);
  },
};
