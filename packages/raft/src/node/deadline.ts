// Waiting with a deadline and an optional AbortSignal (STYLE 18/19), shared by every
// call of RaftNode that waits for the cluster.
import { RaftTimeoutError } from '../errors.js';

/** Something that settles a waiting caller. */
export interface Waiter<T> {
  resolve(v: T): void;
  reject(e: unknown): void;
}

/**
 * Arms a timer of `ms` and the caller's `signal`; `fail` runs at most once, on either
 * (with RaftTimeoutError or the signal's reason). Returns the disarm function, which the
 * success path must call; it also removes the abort listener.
 */
export function armDeadline(
  signal: AbortSignal | undefined,
  ms: number,
  fail: (e: unknown) => void,
): () => void {
  let armed = true;
  const onAbort = () => {
    disarm();
    fail(signal!.reason);
  };
  const timer = setTimeout(() => {
    disarm();
    fail(new RaftTimeoutError(ms));
  }, ms);
  timer.unref();
  signal?.addEventListener('abort', onAbort, { once: true });
  const disarm = () => {
    if (!armed) return;
    armed = false;
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
  return disarm;
}

/**
 * A waiter whose settling disarms its deadline; on timeout or abort, `forget` removes it
 * from wherever it is registered, then the promise rejects.
 */
export function guardedWaiter<T>(
  deadline: { signal: AbortSignal | undefined; ms: number },
  settle: Waiter<T>,
  forget: () => void,
): Waiter<T> {
  const done = armDeadline(deadline.signal, deadline.ms, (e) => {
    forget();
    settle.reject(e);
  });
  return {
    resolve: (v) => {
      done();
      settle.resolve(v);
    },
    reject: (e) => {
      done();
      settle.reject(e);
    },
  };
}
