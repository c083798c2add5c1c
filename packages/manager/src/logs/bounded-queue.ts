// A queue with a capacity between one producer side and one async-iterating consumer:
// `push` waits while the queue is full (STYLE 21), so a slow CLI slows the agents that
// publish to it instead of growing the leader's memory.

/**
 * `open`: pushes accepted. `ended`: no more pushes; the consumer drains what is queued,
 * then finishes (or throws `error`). `closed`: the consumer left; pushes are dropped.
 */
export type BoundedQueueState = 'open' | 'ended' | 'closed';

/**
 * A bounded FIFO consumed with `for await`.
 *
 * @example
 * const q = new BoundedQueue<string>(2);
 * void q.push('a'); q.end();
 * for await (const item of q) handle(item);
 */
export class BoundedQueue<T> implements AsyncIterable<T> {
  readonly capacity: number;
  #items: T[] = [];
  #state: BoundedQueueState = 'open';
  #error: unknown;
  /** Producers waiting for room, resolved one per item taken. */
  #waitingProducers: Array<() => void> = [];
  /** The consumer waiting for an item or the end. */
  #waitingConsumer: (() => void) | undefined;
  #onClose: (() => void) | undefined;

  constructor(capacity: number, options: { onClose?: () => void } = {}) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`Create queue: capacity must be a positive integer: got ${capacity}`);
    }
    this.capacity = capacity;
    this.#onClose = options.onClose;
  }

  get state(): BoundedQueueState {
    return this.#state;
  }

  get size(): number {
    return this.#items.length;
  }

  /**
   * Adds `item`; resolves once it is queued, waiting while the queue is full. Returns
   * false (the item dropped) when the queue no longer accepts items.
   */
  async push(item: T): Promise<boolean> {
    while (this.#state === 'open' && this.#items.length >= this.capacity) {
      await new Promise<void>((resolve) => this.#waitingProducers.push(resolve));
    }
    if (this.#state !== 'open') return false;
    this.#items.push(item);
    this.#wakeConsumer();
    return true;
  }

  /** No more items: the consumer finishes after the queued ones, or throws `error`. */
  end(error?: unknown): void {
    if (this.#state !== 'open') return;
    this.#state = 'ended';
    this.#error = error;
    this.#wakeProducers();
    this.#wakeConsumer();
  }

  /** The consumer is gone: drops what is queued and refuses pushes. Safe twice. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#items = [];
    this.#wakeProducers();
    this.#wakeConsumer();
    const onClose = this.#onClose;
    this.#onClose = undefined;
    onClose?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    try {
      for (;;) {
        const item = this.#items.shift();
        if (item !== undefined) {
          this.#waitingProducers.shift()?.();
          yield item;
          continue;
        }
        if (this.#state === 'closed') return;
        if (this.#state === 'ended') {
          if (this.#error !== undefined) throw this.#error;
          return;
        }
        await new Promise<void>((resolve) => {
          this.#waitingConsumer = resolve;
        });
      }
    } finally {
      this.close();
    }
  }

  #wakeConsumer(): void {
    const wake = this.#waitingConsumer;
    this.#waitingConsumer = undefined;
    wake?.();
  }

  #wakeProducers(): void {
    const waiting = this.#waitingProducers;
    this.#waitingProducers = [];
    for (const wake of waiting) wake();
  }
}
