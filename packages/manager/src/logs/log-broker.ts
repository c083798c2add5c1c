// The leader's log broker, in Swarm's shape (swarmkit manager/logbroker): a subscriber
// (the Control.ServiceLogs call) names tasks; the broker asks the nodes that run them
// over each node's open LogSubscriptions stream, and fans the lines those nodes publish
// (Dispatcher.PublishLogs) into the subscriber's bounded queue. Without follow the
// subscription ends once every node asked has said it is done; a node with no open
// stream counts as done at once (its tasks' logs are unreachable, as in Swarm).
import { randomUUID } from 'node:crypto';
import type { pb } from '@shoal/api';
import type { Logger } from 'pino';
import { BoundedQueue } from './bounded-queue.js';

/** How many log messages a subscriber may have queued before publishers wait. */
export const LOG_QUEUE_CAPACITY = 1024;

/** A task whose logs to read, and the node that runs it. */
export interface LogTarget {
  readonly taskId: string;
  readonly nodeId: string;
}

/** What {@link LogBroker.subscribe} reads. */
export interface LogSubscribeOptions {
  readonly targets: readonly LogTarget[];
  /** Keep reading new lines until `signal` aborts. @default false */
  readonly follow?: boolean;
  /** Lines from the end of each task's log; negative means all. @default -1 */
  readonly tail?: number;
  /** Ends the subscription (the CLI went away). */
  readonly signal?: AbortSignal;
}

/** One node's open LogSubscriptions stream, as the broker writes to it. */
export type LogSubscriptionSink = (subscription: pb.LogSubscription) => void;

interface Subscription {
  readonly id: string;
  readonly queue: BoundedQueue<pb.LogMessage>;
  readonly follow: boolean;
  readonly tail: number;
  /** Task IDs asked of each node. */
  readonly byNode: ReadonlyMap<string, readonly string[]>;
  /** Nodes that have not said they are done (meaningful without follow). */
  readonly pending: Set<string>;
}

/**
 * Routes log subscriptions to nodes and their lines back to subscribers.
 *
 * @example
 * const broker = new LogBroker({ log });
 * const detach = broker.attachNode('node-1', (s) => call.write(s));
 * for await (const line of broker.subscribe({ targets: [{ taskId, nodeId: 'node-1' }] })) …
 */
export class LogBroker {
  readonly #log: Logger;
  readonly #capacity: number;
  /** The open LogSubscriptions stream of each node. */
  readonly #nodes = new Map<string, LogSubscriptionSink>();
  readonly #subscriptions = new Map<string, Subscription>();

  constructor(options: { log: Logger; capacity?: number }) {
    this.#log = options.log.child({ component: 'logbroker' });
    this.#capacity = options.capacity ?? LOG_QUEUE_CAPACITY;
  }

  /** Open subscriptions, for tests and metrics. */
  get subscriptionCount(): number {
    return this.#subscriptions.size;
  }

  /**
   * Registers `nodeId`'s subscription stream (replacing an older one) and hands it the
   * open follow subscriptions that involve it, so a reconnecting agent resumes them.
   * Returns the function that detaches it.
   */
  attachNode(nodeId: string, sink: LogSubscriptionSink): () => void {
    this.#nodes.set(nodeId, sink);
    for (const sub of this.#subscriptions.values()) {
      const taskIds = sub.byNode.get(nodeId);
      if (sub.follow && taskIds) sink(toWire(sub, taskIds));
    }
    return () => {
      if (this.#nodes.get(nodeId) !== sink) return;
      this.#nodes.delete(nodeId);
      // Without follow, a node that went away will not finish: count it done.
      for (const sub of this.#subscriptions.values()) {
        if (!sub.follow && sub.pending.has(nodeId)) this.#nodeDone(sub, nodeId);
      }
    };
  }

  /** The lines of `options.targets`, until done (without follow) or aborted. */
  subscribe(options: LogSubscribeOptions): AsyncIterable<pb.LogMessage> {
    const byNode = new Map<string, string[]>();
    for (const { taskId, nodeId } of options.targets) {
      const list = byNode.get(nodeId) ?? [];
      list.push(taskId);
      byNode.set(nodeId, list);
    }
    const id = randomUUID();
    const signal = options.signal;
    const onAbort = () => queue.close();
    const queue = new BoundedQueue<pb.LogMessage>(this.#capacity, {
      onClose: () => {
        signal?.removeEventListener('abort', onAbort);
        this.#end(id);
      },
    });
    const sub: Subscription = {
      id,
      queue,
      follow: options.follow ?? false,
      tail: options.tail ?? -1,
      byNode,
      pending: new Set(byNode.keys()),
    };
    this.#subscriptions.set(id, sub);
    this.#log.debug({ subscriptionId: id, nodes: [...byNode.keys()] }, 'subscription opened');
    for (const [nodeId, taskIds] of byNode) {
      const sink = this.#nodes.get(nodeId);
      if (sink) sink(toWire(sub, taskIds));
      else if (!sub.follow) this.#nodeDone(sub, nodeId);
    }
    if (!sub.follow && sub.pending.size === 0) queue.end();
    if (signal?.aborted) queue.close();
    else signal?.addEventListener('abort', onAbort, { once: true });
    return queue;
  }

  /**
   * Takes what `nodeId` published; resolves once the lines are queued for the
   * subscriber (so the caller can hold its stream while the subscriber is slow).
   * Lines of an unknown subscription, or of tasks not asked of this node, are dropped.
   */
  async publish(nodeId: string, message: pb.PublishLogsMessage): Promise<void> {
    const sub = this.#subscriptions.get(message.subscriptionId);
    if (!sub) return;
    const asked = sub.byNode.get(nodeId);
    if (!asked) {
      this.#log.warn({ nodeId, subscriptionId: sub.id }, 'logs dropped: node was not asked');
      return;
    }
    for (const line of message.messages) {
      if (!asked.includes(line.taskId)) continue;
      if (!(await sub.queue.push({ ...line, nodeId }))) return;
    }
    if (message.error) {
      this.#log.warn(
        { nodeId, subscriptionId: sub.id, error: message.error },
        'node could not read logs',
      );
    }
    if (message.close) this.#nodeDone(sub, nodeId);
  }

  /** Ends every subscription (the leader steps down): subscribers see the end. */
  close(): void {
    for (const sub of [...this.#subscriptions.values()]) sub.queue.end();
  }

  #nodeDone(sub: Subscription, nodeId: string): void {
    if (!sub.pending.delete(nodeId)) return;
    if (!sub.follow && sub.pending.size === 0) sub.queue.end();
  }

  /** The subscriber left or finished: tell the nodes still reading to stop. */
  #end(id: string): void {
    const sub = this.#subscriptions.get(id);
    if (!sub) return;
    this.#subscriptions.delete(id);
    for (const nodeId of sub.byNode.keys()) {
      if (!sub.follow && !sub.pending.has(nodeId)) continue;
      this.#nodes.get(nodeId)?.({ id, taskIds: [], follow: false, tail: 0, close: true });
    }
    this.#log.debug({ subscriptionId: id }, 'subscription closed');
  }
}

function toWire(sub: Subscription, taskIds: readonly string[]): pb.LogSubscription {
  return { id: sub.id, taskIds: [...taskIds], follow: sub.follow, tail: sub.tail, close: false };
}
