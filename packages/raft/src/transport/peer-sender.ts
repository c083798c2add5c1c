// One outbound stream to one peer: queues messages, writes everything queued as one
// RaftBatch, honours back-pressure and reconnects with a short backoff.
import type { ClientWritableStream } from '@grpc/grpc-js';
import type { pb } from '@shoal/api';
import type { Logger } from 'pino';
import type { Message, RaftId } from '../core/types.js';
import { messageToPb } from './message-codec.js';

/** Sender states: `idle` no stream yet, `open` stream up, `backoff` waiting to retry. */
export type PeerSenderState = 'idle' | 'open' | 'backoff' | 'closed';

/** First and largest wait before a broken stream is reopened. */
export const RECONNECT_BACKOFF_MIN_MS = 100;
export const RECONNECT_BACKOFF_MAX_MS = 1000;

/** What a PeerSender needs from its transport. */
export interface PeerSenderDeps {
  readonly peer: RaftId;
  readonly client: pb.RaftClient;
  readonly capacity: number;
  readonly logger: Logger | undefined;
  readonly onUnreachable: (peer: RaftId) => void;
}

/**
 * The outbound half of a peer link. `enqueue` is synchronous and bounded: past
 * `capacity` queued messages, new ones are dropped and the peer reported unreachable.
 */
export class PeerSender {
  readonly #d: PeerSenderDeps;
  #state: PeerSenderState = 'idle';
  #queue: Message[] = [];
  #stream: ClientWritableStream<pb.RaftBatch> | undefined;
  #waitingDrain = false;
  #flushScheduled = false;
  #backoffMs = RECONNECT_BACKOFF_MIN_MS;
  #backoffTimer: NodeJS.Timeout | undefined;
  #openedAt = 0;
  /** Whether the current run of drops was logged (one line per run, not per message). */
  #dropLogged = false;

  constructor(deps: PeerSenderDeps) {
    this.#d = deps;
  }

  get state(): PeerSenderState {
    return this.#state;
  }

  enqueue(msg: Message): void {
    if (this.#state === 'closed') return;
    if (this.#queue.length >= this.#d.capacity) {
      if (!this.#dropLogged) {
        this.#dropLogged = true;
        this.#d.logger?.warn(
          { peer: this.#d.peer, capacity: this.#d.capacity, state: this.#state },
          'raft send queue full: dropping messages for peer',
        );
      }
      this.#d.onUnreachable(this.#d.peer);
      return;
    }
    this.#queue.push(msg);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // Coalesce everything queued in this turn of the event loop into one batch.
      queueMicrotask(() => {
        this.#flushScheduled = false;
        this.#flush();
      });
    }
  }

  close(): void {
    if (this.#state === 'closed') return;
    this.#transition(['idle', 'open', 'backoff'], 'closed');
    clearTimeout(this.#backoffTimer);
    this.#queue = [];
    const s = this.#stream;
    this.#stream = undefined;
    s?.end();
  }

  #flush(): void {
    if (this.#state === 'closed' || this.#state === 'backoff' || this.#waitingDrain) return;
    if (this.#queue.length === 0) return;
    const stream = this.#stream ?? this.#open();
    const batch: pb.RaftBatch = { messages: this.#queue.map(messageToPb) };
    this.#queue = [];
    this.#dropLogged = false;
    let ok: boolean;
    try {
      ok = stream.write(batch);
    } catch (err) {
      this.#broken(stream, err as Error);
      return;
    }
    if (!ok) {
      this.#waitingDrain = true;
      stream.once('drain', () => {
        this.#waitingDrain = false;
        if (this.#stream === stream) this.#flush();
      });
    }
  }

  #open(): ClientWritableStream<pb.RaftBatch> {
    const stream = this.#d.client.stream((err) => {
      // The call ended: an error, or the server closed it. Either way it is unusable.
      this.#broken(stream, err ?? new Error('stream closed by peer'));
    });
    stream.on('error', () => {
      // Reported through the callback above; a listener keeps it from being unhandled.
    });
    this.#stream = stream;
    this.#openedAt = Date.now();
    this.#transition(['idle'], 'open');
    return stream;
  }

  #broken(stream: ClientWritableStream<pb.RaftBatch>, err: Error): void {
    if (this.#stream !== stream || this.#state === 'closed') return;
    this.#stream = undefined;
    this.#waitingDrain = false;
    const dropped = this.#queue.length;
    this.#queue = [];
    // A stream that lived a while was healthy: start the backoff over.
    if (Date.now() - this.#openedAt > RECONNECT_BACKOFF_MAX_MS)
      this.#backoffMs = RECONNECT_BACKOFF_MIN_MS;
    this.#d.logger?.debug(
      { peer: this.#d.peer, err: err.message, dropped, retryMs: this.#backoffMs },
      'raft stream to peer broke',
    );
    this.#d.onUnreachable(this.#d.peer);
    this.#transition(['open'], 'backoff');
    clearTimeout(this.#backoffTimer);
    this.#backoffTimer = setTimeout(() => {
      this.#transition(['backoff'], 'idle');
      this.#flush();
    }, this.#backoffMs);
    this.#backoffTimer.unref();
    this.#backoffMs = Math.min(this.#backoffMs * 2, RECONNECT_BACKOFF_MAX_MS);
  }

  #transition(from: readonly PeerSenderState[], to: PeerSenderState): void {
    if (!from.includes(this.#state)) return;
    this.#d.logger?.trace({ peer: this.#d.peer }, `peer sender ${this.#state} -> ${to}`);
    this.#state = to;
  }
}
