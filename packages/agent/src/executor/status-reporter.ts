// Sends the executor's task status updates to the manager and retries until they go
// through: a report lost while the session moves to a new leader would leave `service
// ps` wrong until the task changes again. What is pushed together goes in one call (sent
// once the pushing code yields), and a second call may leave while the first waits for
// the manager (which answers once its batch is committed): a task's RUNNING does not
// wait behind another task's STARTING. The manager keeps each task's status forward
// only and drops a status that would move it back, so the order calls land in does not
// matter.
// The queue is bounded by construction: the executor reports each task's states forward
// only, so a task holds at most one update per TaskState.
import type { pb } from '@shoal/api';
import type { Logger } from 'pino';

/** Sends one batch of updates (the AgentSession's `reportTaskStatus`). */
export type ReportFn = (updates: pb.UpdateTaskStatusRequest_TaskStatusUpdate[]) => Promise<void>;

/** Timers of the retry; tests pass manual ones. */
export interface ReporterTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

/** Report calls in flight at once. */
const MAX_CALLS_IN_FLIGHT = 2;

/** @internal The executor's outbox of task status updates. */
export class StatusReporter {
  readonly #report: ReportFn;
  readonly #log: Logger;
  readonly #timers: ReporterTimers;
  readonly #retryMs: number;
  /** Updates not yet sent (or sent and failed), oldest first. */
  #pending: pb.UpdateTaskStatusRequest_TaskStatusUpdate[] = [];
  #inFlight = 0;
  /** A send is queued as a microtask. */
  #sendQueued = false;
  #retryTimer: unknown;
  #closed = false;

  constructor(options: {
    report: ReportFn;
    log: Logger;
    timers: ReporterTimers;
    retryMs: number;
  }) {
    this.#report = options.report;
    this.#log = options.log;
    this.#timers = options.timers;
    this.#retryMs = options.retryMs;
  }

  /** Queues `update`; it leaves once the pushing code yields, if a call slot is free. */
  push(update: pb.UpdateTaskStatusRequest_TaskStatusUpdate): void {
    if (this.#closed) return;
    this.#pending.push(update);
    if (this.#sendQueued) return;
    this.#sendQueued = true;
    queueMicrotask(() => {
      this.#sendQueued = false;
      this.#send();
    });
  }

  /** Stops retrying; what is still pending is dropped (logged). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#retryTimer !== undefined) this.#timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    if (this.#pending.length > 0) {
      this.#log.warn({ updates: this.#pending.length }, 'task status updates dropped at close');
    }
  }

  #send(): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    if (this.#inFlight >= MAX_CALLS_IN_FLIGHT || this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    this.#inFlight++;
    void this.#call(batch);
  }

  async #call(batch: pb.UpdateTaskStatusRequest_TaskStatusUpdate[]): Promise<void> {
    try {
      await this.#report(batch);
    } catch (error) {
      this.#pending = [...batch, ...this.#pending];
      this.#log.warn(
        { err: error, updates: this.#pending.length, retryMs: this.#retryMs },
        'task status report failed: retrying',
      );
      if (!this.#closed && this.#retryTimer === undefined) {
        this.#retryTimer = this.#timers.setTimeout(() => {
          this.#retryTimer = undefined;
          this.#send();
        }, this.#retryMs);
      }
      return;
    } finally {
      this.#inFlight--;
    }
    this.#send();
  }
}
