// One node's Session stream on the leader: the messages it is owed and the streams
// (assignments, heartbeats) that live as long as it does.
import type * as grpc from '@grpc/grpc-js';
import type { pb } from '@shoal/api';
import { endStream } from './dispatcher-errors.js';

/** A stream that lives as long as its session (assignments, heartbeats). */
export interface SessionChild {
  close(error?: unknown): void;
}

/**
 * The leader's side of a session. Every SessionMessage carries the whole state (node
 * and managers), so while the stream is full only the latest message is kept: a slow
 * agent costs one message, and it gets the newest state when it drains.
 *
 * States: `open` → `closed` (stream ended, assignments streams closed).
 */
export class SessionStream {
  /** The session ID handed to the agent; heartbeats and other calls must name it. */
  readonly id: string;
  readonly nodeId: string;
  /** Store version of the node object last sent, so the watch does not send it again. */
  nodeVersion = 0;
  readonly #call: grpc.ServerWritableStream<pb.SessionRequest, pb.SessionMessage>;
  readonly #children = new Set<SessionChild>();
  /** The message owed once the stream drains. */
  #pending: pb.SessionMessage | undefined;
  #blocked = false;
  #state: 'open' | 'closed' = 'open';

  constructor(options: {
    id: string;
    nodeId: string;
    call: grpc.ServerWritableStream<pb.SessionRequest, pb.SessionMessage>;
  }) {
    this.id = options.id;
    this.nodeId = options.nodeId;
    this.#call = options.call;
    this.#call.on('drain', () => {
      this.#blocked = false;
      const pending = this.#pending;
      this.#pending = undefined;
      if (pending) this.send(pending);
    });
  }

  get isOpen(): boolean {
    return this.#state === 'open';
  }

  /** Sends `message`, or keeps it as the one owed while the stream is full. */
  send(message: pb.SessionMessage): void {
    if (this.#state !== 'open') return;
    if (this.#blocked) {
      this.#pending = message;
      return;
    }
    if (!this.#call.write(message)) this.#blocked = true;
  }

  /** Ties a stream to this session: it ends with it (and with the same status). */
  attach(child: SessionChild): void {
    if (this.#state !== 'open') {
      child.close();
      return;
    }
    this.#children.add(child);
  }

  detach(child: SessionChild): void {
    this.#children.delete(child);
  }

  /** Ends the session (with `error` as the status when given) and the streams tied to it. */
  close(error?: unknown): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#pending = undefined;
    for (const child of [...this.#children]) child.close(error);
    this.#children.clear();
    endStream(this.#call, error);
  }
}
