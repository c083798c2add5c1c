// A value that readers follow as it changes, each seeing the newest one: a slow reader
// skips intermediate values instead of queueing them, which suits state (an assignment
// set) where only the latest matters, and keeps memory bounded whatever the reader does.

/**
 * The latest of a changing value, readable by any number of async iterators.
 *
 * @example
 * const latest = new LatestValue<number>();
 * latest.set(1); latest.set(2);
 * for await (const value of latest.subscribe()) show(value); // 2, then later ones
 */
export class LatestValue<T> {
  #value: T | undefined;
  /** Grows with every `set`; 0 while no value was set. */
  #seq = 0;
  readonly #waiters = new Set<() => void>();
  #closed = false;

  set(value: T): void {
    if (this.#closed) return;
    this.#value = value;
    this.#seq++;
    this.#wakeAll();
  }

  /** Ends every reader (after it has seen the last value). */
  close(): void {
    this.#closed = true;
    this.#wakeAll();
  }

  /** Yields the current value (if any) and then each newer one, until closed or returned. */
  subscribe(): AsyncIterableIterator<T> {
    let seen = 0;
    let done = false;
    let wake: (() => void) | undefined;
    const iterator: AsyncIterableIterator<T> = {
      next: async () => {
        while (!done) {
          if (this.#seq > seen) {
            seen = this.#seq;
            return { value: this.#value as T, done: false };
          }
          if (this.#closed) break;
          await new Promise<void>((resolve) => {
            wake = resolve;
            this.#waiters.add(resolve);
          });
        }
        done = true;
        return { value: undefined, done: true };
      },
      return: async () => {
        done = true;
        if (wake) {
          this.#waiters.delete(wake);
          wake();
        }
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  #wakeAll(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }
}
