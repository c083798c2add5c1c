// The node's side of the log broker: while the agent has a session, it keeps the
// leader's LogSubscriptions stream open; for each subscription it reads the named
// tasks' logs from the engine and sends them on one PublishLogs stream, then a message
// with `close` (without follow, or when the broker says the subscriber left).
import { once } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { pb } from '@shoal/api';
import type { Logger } from 'pino';
import type { AgentSessionEvent } from '../session/session-events.js';
import type { LogLine } from './docker-log-frames.js';
import type { TaskLogSource } from './task-log-source.js';

/** Most lines in one PublishLogs message (a message stays well under gRPC's 4 MiB). */
export const PUBLISH_BATCH_LINES = 256;

/** Most subscriptions a node serves at once; more are refused with an error. */
export const MAX_LOG_SUBSCRIPTIONS = 64;

/** What the publisher needs of the agent's session (an AgentSession fits). */
export interface LogPublisherSession {
  readonly sessionId: string | undefined;
  readonly manager: string | undefined;
  events(): AsyncIterableIterator<AgentSessionEvent>;
}

/** Options of {@link LogPublisher.start}. */
export interface LogPublisherOptions {
  readonly session: LogPublisherSession;
  /** The node's mTLS credentials (the same as the session's). */
  readonly credentials: grpc.ChannelCredentials;
  readonly channelOptions?: grpc.ChannelOptions;
  readonly source: TaskLogSource;
  readonly log: Logger;
  /** @default MAX_LOG_SUBSCRIPTIONS */
  readonly maxSubscriptions?: number;
}

/** The LogSubscriptions stream of one session, and the subscriptions served on it. */
interface Link {
  readonly client: pb.DispatcherClient;
  readonly call: grpc.ClientReadableStream<pb.LogSubscription>;
  readonly sessionId: string;
  readonly active: Map<string, AbortController>;
}

/**
 * Publishes this node's task logs to the leader's broker.
 *
 * @example
 * const publisher = LogPublisher.start({ session, credentials, source, log });
 * await publisher.close();
 */
export class LogPublisher {
  readonly #o: LogPublisherOptions;
  readonly #log: Logger;
  readonly #events: AsyncIterableIterator<AgentSessionEvent>;
  #link: Link | undefined;
  #isClosed = false;

  private constructor(options: LogPublisherOptions) {
    this.#o = options;
    this.#log = options.log.child({ component: 'logs' });
    this.#events = options.session.events();
  }

  /** Starts following the session; opens the stream at once if a session is open. */
  static start(options: LogPublisherOptions): LogPublisher {
    const publisher = new LogPublisher(options);
    const { sessionId, manager } = options.session;
    if (sessionId && manager) publisher.#open(manager, sessionId);
    void publisher.#follow();
    return publisher;
  }

  /** Subscriptions being served now. */
  get activeCount(): number {
    return this.#link?.active.size ?? 0;
  }

  /** Stops every read and closes the streams. Safe twice. */
  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#drop();
    await this.#events.return?.();
  }

  async #follow(): Promise<void> {
    try {
      for await (const event of this.#events) {
        if (this.#isClosed) return;
        if (event.type === 'connected') this.#open(event.manager, event.sessionId);
        else if (event.type === 'disconnected') this.#drop();
      }
    } catch (error) {
      this.#log.warn({ err: error }, 'session events ended');
    }
  }

  #open(manager: string, sessionId: string): void {
    if (this.#link?.sessionId === sessionId) return;
    this.#drop();
    const client = new pb.DispatcherClient(
      manager,
      this.#o.credentials,
      this.#o.channelOptions ?? {},
    );
    const call = client.logSubscriptions({ sessionId });
    const link: Link = { client, call, sessionId, active: new Map() };
    this.#link = link;
    call.on('data', (subscription: pb.LogSubscription) => this.#onSubscription(link, subscription));
    call.on('error', (error: grpc.ServiceError) => {
      // The session's own stream notices too; its next 'connected' opens a new link.
      if (this.#link === link) this.#log.debug({ err: error, manager }, 'log subscriptions ended');
    });
    this.#log.debug({ manager, sessionId }, 'log subscriptions open');
  }

  #drop(): void {
    const link = this.#link;
    this.#link = undefined;
    if (!link) return;
    for (const controller of link.active.values()) controller.abort();
    link.active.clear();
    link.call.cancel();
    link.client.close();
  }

  #onSubscription(link: Link, subscription: pb.LogSubscription): void {
    if (subscription.close) {
      link.active.get(subscription.id)?.abort();
      return;
    }
    if (link.active.has(subscription.id)) return;
    const max = this.#o.maxSubscriptions ?? MAX_LOG_SUBSCRIPTIONS;
    const controller = new AbortController();
    link.active.set(subscription.id, controller);
    const refusal =
      link.active.size > max
        ? `this node serves ${max} log subscriptions already: try again later`
        : undefined;
    this.#serve(link, subscription, controller.signal, refusal)
      .catch((error: unknown) =>
        this.#log.warn({ err: error, subscriptionId: subscription.id }, 'log publication failed'),
      )
      .finally(() => {
        if (link.active.get(subscription.id) === controller) link.active.delete(subscription.id);
      });
  }

  async #serve(
    link: Link,
    subscription: pb.LogSubscription,
    signal: AbortSignal,
    refusal: string | undefined,
  ): Promise<void> {
    const call = link.client.publishLogs((error) => {
      if (error && !signal.aborted) {
        this.#log.debug({ err: error, subscriptionId: subscription.id }, 'publish logs refused');
      }
    });
    const base = { sessionId: link.sessionId, subscriptionId: subscription.id };
    const write = async (message: pb.PublishLogsMessage): Promise<void> => {
      if (signal.aborted) return;
      if (!call.write(message)) await waitDrain(call, signal);
    };
    const errors: string[] = refusal ? [refusal] : [];
    if (!refusal) {
      await Promise.all(
        subscription.taskIds.map(async (taskId) => {
          try {
            const lines = this.#o.source.read(taskId, {
              follow: subscription.follow,
              tail: Number(subscription.tail),
              signal,
            });
            for await (const batch of lines) {
              for (let i = 0; i < batch.length && !signal.aborted; i += PUBLISH_BATCH_LINES) {
                const messages = batch
                  .slice(i, i + PUBLISH_BATCH_LINES)
                  .map((line) => toMessage(taskId, line));
                await write({ ...base, messages, close: false, error: '' });
              }
              if (signal.aborted) break;
            }
          } catch (error) {
            if (!signal.aborted)
              errors.push(error instanceof Error ? error.message : String(error));
          }
        }),
      );
    }
    if (!signal.aborted) {
      await write({ ...base, messages: [], close: true, error: errors.join('; ') });
      call.end();
    } else {
      call.cancel();
    }
  }
}

function toMessage(taskId: string, line: LogLine): pb.LogMessage {
  return {
    taskId,
    nodeId: '',
    serviceId: '',
    timestamp: line.timestamp,
    stream:
      line.stream === 'stderr'
        ? pb.LogMessage_Stream.STREAM_STDERR
        : pb.LogMessage_Stream.STREAM_STDOUT,
    data: line.data,
  };
}

/** Resolves on 'drain' or when `signal` aborts, and removes both listeners. */
async function waitDrain(call: NodeJS.EventEmitter, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await once(call, 'drain', { signal: controller.signal });
  } catch {
    // Aborted: the caller checks `signal`.
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
