// Task status reports, queued and written in batches: one store update per flush
// instead of one per report, which is what keeps a thousand agents reporting cheap for
// the leader (Swarm flushes every 100 ms too). A report's RPC answers only once its
// batch is committed, so an acknowledged status is durable and an agent resends the rest.

import type { pb } from '@shoal/api';
import { ShoalError } from '@shoal/api';
import type { Logger } from 'pino';
import type { ClusterStore } from '../store/cluster-store.js';
import type { DispatcherClock, TimerHandle } from './dispatcher-clock.js';
import { updateWithRetry } from './update-with-retry.js';

/** One submission waiting for its entries to be written. */
interface Ticket {
  remaining: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** The latest report for one task, and the submissions waiting on it. */
interface Pending {
  readonly nodeId: string;
  /** When the first report of this task in the queue came (clock time). */
  readonly since: number;
  status: pb.TaskStatus;
  readonly tickets: Ticket[];
}

/** Options of {@link TaskStatusBatcher}. */
export interface TaskStatusBatcherOptions {
  readonly store: ClusterStore;
  readonly clock: DispatcherClock;
  readonly log: Logger;
  readonly flushMs: number;
  readonly batchSize: number;
  /**
   * Store updates in flight at once: while one waits for its Raft commit the next is
   * proposed, and Raft carries those of one cycle in one entry.
   */
  readonly concurrency: number;
  readonly capacity: number;
  readonly storeAttempts: number;
}

/**
 * Queues task status reports and writes them, forward only, in batched store updates.
 *
 * Reports for the same task coalesce: the later one wins unless its state is older.
 *
 * @example
 * await batcher.submit('n1', [{ taskId: 't1', status }]); // resolves once committed
 */
export class TaskStatusBatcher {
  readonly #o: TaskStatusBatcherOptions;
  readonly #pending = new Map<string, Pending>();
  /** The flush timer; armed while reports wait and no flush runs. */
  #timer: TimerHandle | undefined;
  /** Store updates in flight. */
  #flushes = 0;
  #closed = false;

  constructor(options: TaskStatusBatcherOptions) {
    this.#o = options;
  }

  /** Reports waiting for a flush. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Queues `updates` of tasks the caller has checked belong to `nodeId`; resolves once
   * written (or found stale), rejects when the store refuses or the batcher closes.
   */
  submit(
    nodeId: string,
    updates: readonly { taskId: string; status: pb.TaskStatus }[],
  ): Promise<void> {
    if (this.#closed) {
      return Promise.reject(
        new ShoalError('SHOAL_UNAVAILABLE', 'Update task status: the dispatcher stopped: retry'),
      );
    }
    if (updates.length === 0) return Promise.resolve();
    if (this.#pending.size + updates.length > this.#o.capacity) {
      return Promise.reject(
        new ShoalError(
          'SHOAL_UNAVAILABLE',
          `Update task status: ${this.#pending.size} reports already wait for the store (capacity ${this.#o.capacity}): retry later`,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const ticket: Ticket = { remaining: updates.length, resolve, reject };
      for (const { taskId, status } of updates) {
        const pending = this.#pending.get(taskId);
        if (pending === undefined) {
          this.#pending.set(taskId, {
            nodeId,
            since: this.#o.clock.now(),
            status,
            tickets: [ticket],
          });
          continue;
        }
        if (status.state >= pending.status.state) pending.status = status;
        pending.tickets.push(ticket);
      }
      this.#schedule();
    });
  }

  /** Refuses new reports and fails those still queued; a flush in flight completes. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const error = new ShoalError(
      'SHOAL_UNAVAILABLE',
      'Update task status: the dispatcher stopped before the report was written: retry',
    );
    for (const pending of this.#pending.values()) {
      for (const ticket of pending.tickets) ticket.reject(error);
    }
    this.#pending.clear();
  }

  // Flushes when a batch is full or the oldest report has waited `flushMs`, with up to
  // `concurrency` flushes in flight. Reports that came while every flush was busy may
  // have waited that long already: they go as soon as one ends.
  #schedule(): void {
    while (this.#flushes < this.#o.concurrency && !this.#closed && this.#pending.size > 0) {
      // The map keeps insertion order, and a report joining a queued one keeps its place.
      const oldest = this.#pending.values().next().value as Pending;
      const waited = this.#o.clock.now() - oldest.since;
      if (this.#pending.size < this.#o.batchSize && waited < this.#o.flushMs) {
        this.#timer ??= this.#o.clock.setTimeout(() => {
          this.#timer = undefined;
          this.#schedule();
        }, this.#o.flushMs - waited);
        return;
      }
      if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
      this.#timer = undefined;
      void this.#flush();
    }
  }

  async #flush(): Promise<void> {
    this.#flushes += 1;
    const batch = new Map<string, Pending>();
    for (const [taskId, pending] of this.#pending) {
      if (batch.size >= this.#o.batchSize) break;
      batch.set(taskId, pending);
    }
    for (const taskId of batch.keys()) this.#pending.delete(taskId);
    let written = 0;
    try {
      await updateWithRetry(
        this.#o.store,
        (tx) => {
          written = 0;
          for (const [taskId, { nodeId, status }] of batch) {
            // Only the report goes into the log; every member merges it the same way. One
            // for a task deleted, rebound or already further on is stale, not an error.
            if (tx.updateTaskStatus(taskId, nodeId, status)) written++;
          }
        },
        { attempts: this.#o.storeAttempts },
      );
      for (const pending of batch.values()) settle(pending.tickets);
      this.#o.log.debug({ reports: batch.size, written }, 'task status batch written');
    } catch (error) {
      this.#o.log.warn({ err: error, reports: batch.size }, 'task status batch not written');
      const failure = new ShoalError(
        'SHOAL_UNAVAILABLE',
        'Update task status: the store refused the batch: retry',
        { cause: error },
      );
      for (const pending of batch.values()) {
        for (const ticket of pending.tickets) ticket.reject(failure);
      }
    } finally {
      this.#flushes -= 1;
      this.#schedule();
    }
  }
}

function settle(tickets: readonly Ticket[]): void {
  for (const ticket of tickets) {
    ticket.remaining--;
    if (ticket.remaining === 0) ticket.resolve();
  }
}
