// Watches of the store: an async iterator per watcher over a bounded queue. A watcher
// that falls `capacity` events behind is closed with WatchOverflowError rather than
// letting the queue grow without bound; it resumes from the last version it saw.

import { WatchOverflowError } from './store-errors.js';
import type { TableEntry } from './tables.js';

/** One change of the store, as watchers see it. */
export type StoreEvent =
  | (TableEntry & {
      readonly type: 'create' | 'update' | 'delete';
      /** The store version (Raft index) the change was applied at. */
      readonly version: number;
    })
  /** The store was replaced by a snapshot: drop what you know and list again. */
  | { readonly type: 'reset'; readonly version: number };

/** Which events a watcher wants; all when omitted. */
export type EventFilter = (event: StoreEvent) => boolean;

/** The store side of one watcher. */
export class Watcher implements AsyncIterableIterator<StoreEvent> {
  readonly #queue: StoreEvent[] = [];
  readonly #capacity: number;
  readonly #filter: EventFilter;
  readonly #onClose: (watcher: Watcher) => void;
  #waiting: ((result: IteratorResult<StoreEvent>) => void) | undefined;
  #failWaiting: ((error: unknown) => void) | undefined;
  #error: unknown;
  #done = false;
  #lastVersion: number;

  constructor(options: {
    capacity: number;
    filter: EventFilter;
    fromVersion: number;
    onClose: (watcher: Watcher) => void;
  }) {
    this.#capacity = options.capacity;
    this.#filter = options.filter;
    this.#lastVersion = options.fromVersion;
    this.#onClose = options.onClose;
  }

  /** Queues `event` for the reader; closes the watcher when the reader is too slow. */
  push(event: StoreEvent): void {
    if (this.#done || !this.#filter(event)) return;
    if (this.#waiting) {
      const resolve = this.#waiting;
      this.#clearWaiting();
      this.#lastVersion = event.version;
      resolve({ value: event, done: false });
      return;
    }
    if (this.#queue.length >= this.#capacity) {
      this.fail(new WatchOverflowError(this.#capacity, this.#lastVersion));
      return;
    }
    this.#queue.push(event);
  }

  /** Ends the watch with `error`, delivered after the events already queued. */
  fail(error: unknown): void {
    if (this.#done) return;
    this.#error = error;
    this.#finish();
  }

  next(): Promise<IteratorResult<StoreEvent>> {
    const event = this.#queue.shift();
    if (event) {
      this.#lastVersion = event.version;
      return Promise.resolve({ value: event, done: false });
    }
    if (this.#error !== undefined) {
      const error = this.#error;
      this.#error = undefined;
      return Promise.reject(error);
    }
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#waiting = resolve;
      this.#failWaiting = reject;
    });
  }

  return(): Promise<IteratorResult<StoreEvent>> {
    this.#queue.length = 0;
    this.#error = undefined;
    this.#finish();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<StoreEvent> {
    return this;
  }

  #finish(): void {
    if (!this.#done) {
      this.#done = true;
      this.#onClose(this);
    }
    if (this.#waiting) {
      const resolve = this.#waiting;
      const reject = this.#failWaiting!;
      const error = this.#error;
      this.#clearWaiting();
      if (error !== undefined) {
        this.#error = undefined;
        reject(error);
      } else {
        resolve({ value: undefined, done: true });
      }
    }
  }

  #clearWaiting(): void {
    this.#waiting = undefined;
    this.#failWaiting = undefined;
  }
}
