// One agent's Assignments stream: the full set of its tasks, then the changes, batched
// (a period from the first change, or a full batch) and coalesced per task while the
// stream is slow, so a burst of store writes costs one message and a slow agent costs
// bounded memory (at most one pending change per task). A store reset or a watch that fell behind starts
// over with a new COMPLETE message, which the agent handles as after a reconnect.
import type * as grpc from '@grpc/grpc-js';
import { pb } from '@shoal/api';
import type { Logger } from 'pino';
import type { ClusterStore } from '../store/cluster-store.js';
import type { StoreEvent } from '../store/store-watch.js';
import { NodeAssignments } from './assignment-set.js';
import type { DispatcherClock, TimerHandle } from './dispatcher-clock.js';
import { endStream } from './dispatcher-errors.js';
import type { TaskNodeRouter } from './task-node-router.js';

/** Options of {@link AssignmentsStream}. */
export interface AssignmentsStreamOptions {
  readonly call: grpc.ServerWritableStream<pb.AssignmentsRequest, pb.AssignmentsMessage>;
  readonly nodeId: string;
  readonly store: ClusterStore;
  /** Routes the store's task events to this stream's node; one per dispatcher. */
  readonly router: TaskNodeRouter;
  readonly clock: DispatcherClock;
  readonly log: Logger;
  readonly batchMs: number;
  readonly batchSize: number;
  /** Called once when the stream closes, whoever closed it. */
  readonly onClose?: () => void;
}

/**
 * Serves one Assignments call until {@link AssignmentsStream.close} or the caller goes.
 *
 * States: `open` (sending) → `closed` (stream ended, watch returned, timer cleared).
 */
export class AssignmentsStream {
  readonly #o: AssignmentsStreamOptions;
  /** What the agent holds after the messages sent (and those pending). */
  readonly #set: NodeAssignments;
  /** Changes not yet sent, by `task/<id>` or `network/<id>`. */
  readonly #pending = new Map<string, pb.AssignmentChange>();
  #watch: AsyncIterableIterator<StoreEvent> | undefined;
  /** `results_in` of the last message sent: the agent's version of its set. */
  #sentVersion = '';
  /** Store version of the newest pending change. */
  #pendingVersion = 0;
  #timer: TimerHandle | undefined;
  /** The stream's buffer is full: wait for 'drain' before writing again. */
  #blocked = false;
  #state: 'open' | 'closed' = 'open';

  constructor(options: AssignmentsStreamOptions) {
    this.#o = options;
    this.#set = new NodeAssignments(options.nodeId);
    options.call.on('cancelled', () => this.close());
    options.call.on('error', () => this.close());
    options.call.on('drain', () => {
      this.#blocked = false;
      if (this.#pending.size > 0) this.#send();
    });
  }

  /** Sends the complete set and follows the store until closed. */
  start(): void {
    void this.#run();
  }

  /** Ends the stream (with `error` as its status when given). Safe twice. */
  close(error?: unknown): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    void this.#watch?.return?.();
    this.#pending.clear();
    endStream(this.#o.call, error);
    this.#o.onClose?.();
  }

  async #run(): Promise<void> {
    while (this.#state === 'open') {
      const watch = this.#complete();
      try {
        for await (const event of watch) {
          if (this.#state !== 'open') return;
          if (event.type === 'reset') break;
          this.#onEvent(event);
        }
        // The watch ended: a reset (start over) or close() (the loop condition stops).
      } catch (error) {
        if (this.#state !== 'open') return;
        this.#o.log.info({ err: error }, 'assignments watch ended: sending the complete set again');
      }
    }
  }

  /** Sends the complete set as of now and opens the watch of what follows it. */
  #complete(): AsyncIterableIterator<StoreEvent> {
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
    const state = this.#o.store.state;
    const changes = this.#set.complete(state);
    const version = state.version;
    // Only this node's task events reach this stream; other agents' cost it nothing.
    this.#watch = this.#o.store.watch({ route: { router: this.#o.router, key: this.#o.nodeId } });
    this.#sentVersion = String(version);
    this.#write({
      type: pb.AssignmentsMessage_Type.TYPE_COMPLETE,
      appliesTo: '',
      resultsIn: this.#sentVersion,
      changes,
    });
    return this.#watch;
  }

  #onEvent(event: StoreEvent): void {
    const changes = this.#set.onEvent(event, this.#o.store.state);
    if (changes.length === 0) return;
    for (const { key, change } of changes) {
      // Re-inserted so the message lists changes in the order they last happened.
      this.#pending.delete(key);
      this.#pending.set(key, change);
    }
    this.#pendingVersion = event.version;
    if (this.#blocked) return;
    if (this.#pending.size >= this.#o.batchSize) {
      this.#send();
      return;
    }
    // Timed from the first change waiting, not the last: a steady trickle of changes
    // (tasks placed in several transactions) must not hold back the ones already due.
    this.#timer ??= this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#send();
    }, this.#o.batchMs);
  }

  #send(): void {
    if (this.#state !== 'open' || this.#blocked || this.#pending.size === 0) return;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const resultsIn = String(this.#pendingVersion);
    const message: pb.AssignmentsMessage = {
      type: pb.AssignmentsMessage_Type.TYPE_INCREMENTAL,
      appliesTo: this.#sentVersion,
      resultsIn,
      changes: [...this.#pending.values()],
    };
    this.#pending.clear();
    this.#sentVersion = resultsIn;
    this.#write(message);
  }

  #write(message: pb.AssignmentsMessage): void {
    if (!this.#o.call.write(message)) this.#blocked = true;
  }
}
