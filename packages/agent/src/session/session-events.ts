// What an AgentSession tells its owner, as a union on `type` (STYLE 22), and the
// bounded fan-out that delivers it to each reader as an async iterator.
import type { pb } from '@shoal/api';

/** An event of an {@link AgentSession}. */
export type AgentSessionEvent =
  /** A session is open on `manager`; heartbeats run. */
  | { readonly type: 'connected'; readonly manager: string; readonly sessionId: string }
  /** The session ended; the agent is already trying the next manager. */
  | { readonly type: 'disconnected'; readonly manager: string; readonly reason: string }
  /** The managers the agent knows changed. */
  | { readonly type: 'managers'; readonly list: readonly string[] }
  /** The manager sent this node's object (at session start and when it changes). */
  | { readonly type: 'node'; readonly node: pb.Node };

/**
 * Delivers events to every reader subscribed. A reader that falls `capacity` events
 * behind loses the oldest ones (counted in `dropped`): events describe current state,
 * so a late reader is better served by the newest than by blocking the session loop.
 */
export class EventFanout<E> {
  readonly #readers = new Set<Reader<E>>();
  readonly #capacity: number;
  #closed = false;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  publish(event: E): void {
    for (const reader of this.#readers) reader.push(event);
  }

  /** A reader of the events published from now on, until `close()` or its `return()`. */
  subscribe(): AsyncIterableIterator<E> & { readonly dropped: number } {
    const reader = new Reader<E>(this.#capacity, (r) => this.#readers.delete(r));
    if (this.#closed) reader.end();
    else this.#readers.add(reader);
    return reader;
  }

  /** Ends every reader after the events already queued. */
  close(): void {
    this.#closed = true;
    for (const reader of this.#readers) reader.end();
    this.#readers.clear();
  }
}

class Reader<E> implements AsyncIterableIterator<E> {
  readonly #queue: E[] = [];
  readonly #capacity: number;
  readonly #onReturn: (reader: Reader<E>) => void;
  #waiting: ((result: IteratorResult<E>) => void) | undefined;
  #ended = false;
  dropped = 0;

  constructor(capacity: number, onReturn: (reader: Reader<E>) => void) {
    this.#capacity = capacity;
    this.#onReturn = onReturn;
  }

  push(event: E): void {
    if (this.#ended) return;
    if (this.#waiting) {
      const resolve = this.#waiting;
      this.#waiting = undefined;
      resolve({ value: event, done: false });
      return;
    }
    if (this.#queue.length >= this.#capacity) {
      this.#queue.shift();
      this.dropped++;
    }
    this.#queue.push(event);
  }

  end(): void {
    this.#ended = true;
    const resolve = this.#waiting;
    this.#waiting = undefined;
    resolve?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<E>> {
    if (this.#queue.length > 0)
      return Promise.resolve({ value: this.#queue.shift()!, done: false });
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<E>> {
    this.#queue.length = 0;
    this.end();
    this.#onReturn(this);
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<E> {
    return this;
  }
}
