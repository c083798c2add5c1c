// Sends the executor's task status updates to the manager, in order, one call at a time,
// and retries until they go through: a report lost while the session moves to a new
// leader would leave `service ps` wrong until the task changes again. The queue is
// bounded by construction: the executor reports each task's states forward only, so a
// task holds at most one update per TaskState.
import type { pb } from '@shoal/api';
import type { Logger } from 'pino';

/** Sends one batch of updates (the AgentSession's `reportTaskStatus`). */
export type ReportFn = (updates: pb.UpdateTaskStatusRequest_TaskStatusUpdate[]) => Promise<void>;

/** Timers of the retry; tests pass manual ones. */
export interface ReporterTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

/** @internal The executor's outbox of task status updates. */
export class StatusReporter {
  readonly #report: ReportFn;
  readonly #log: Logger;
  readonly #timers: ReporterTimers;
  readonly #retryMs: number;
  /** Updates not yet acknowledged, oldest first. */
  #pending: pb.UpdateTaskStatusRequest_TaskStatusUpdate[] = [];
  #sending = false;
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

  /** Queues `update` and sends it as soon as the call before it is done. */
  push(update: pb.UpdateTaskStatusRequest_TaskStatusUpdate): void {
    if (this.#closed) return;
    this.#pending.push(update);
    if (this.#retryTimer === undefined) void this.#send();
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

  async #send(): Promise<void> {
    if (this.#sending || this.#closed) return;
    this.#sending = true;
    try {
      while (this.#pending.length > 0 && !this.#closed) {
        const batch = this.#pending;
        this.#pending = [];
        try {
          await this.#report(batch);
        } catch (error) {
          // Put the batch back before anything queued meanwhile: order is the point.
          this.#pending = [...batch, ...this.#pending];
          this.#log.warn(
            { err: error, updates: this.#pending.length, retryMs: this.#retryMs },
            'task status report failed: retrying',
          );
          if (!this.#closed) {
            this.#retryTimer = this.#timers.setTimeout(() => {
              this.#retryTimer = undefined;
              void this.#send();
            }, this.#retryMs);
          }
          return;
        }
      }
    } finally {
      this.#sending = false;
    }
  }
}
