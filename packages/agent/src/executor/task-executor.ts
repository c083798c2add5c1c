// Runs this node's assigned tasks on its container engine. Every change (a new
// assignment set, an engine event, an operation done) triggers one reconcile pass that
// compares each task's desired state with what the executor last saw and starts at most
// one operation per task: prepare (create; pull and create again if the image is
// missing), start, observe (inspect after an event), stop, or remove. Operations run
// through a bounded pool (DEFAULT_TASK_PARALLELISM at a time by default), and each
// reports its transitions forward only, with their time, through the StatusReporter.
// On its first assignment set the executor adopts the containers an earlier agent left
// (adoption.ts) instead of starting anything twice. When the node leaves the swarm,
// removeAll() stops and removes every container of the node's tasks.
import { pb, ShoalError } from '@shoal/api';
import type { Logger } from 'pino';
import { planAdoption } from './adoption.js';
import type {
  ContainerInfo,
  ContainerRuntime,
  RuntimeEvent,
  StopOptions,
} from './container-runtime.js';
import {
  containerName,
  type RenderContext,
  renderContainerSpec,
  stopGraceMs,
  TASK_LABELS,
} from './container-spec.js';
import { type ReporterTimers, type ReportFn, StatusReporter } from './status-reporter.js';
import {
  failedCall,
  isStateEvent,
  isTerminal,
  missingImage,
  type Observation,
  observeContainer,
} from './task-state.js';

const S = pb.TaskState;

/**
 * Container operations one executor runs at once by default: about what one dockerd
 * handles before its create/start latency grows.
 */
export const DEFAULT_TASK_PARALLELISM = 4;

/** Options of {@link TaskExecutor.start}. */
export interface TaskExecutorOptions {
  readonly runtime: ContainerRuntime;
  /** This node's ID: containers are labelled and listed by it. */
  readonly nodeId: string;
  /** Sends status updates to the manager (the AgentSession's `reportTaskStatus`). */
  readonly report: ReportFn;
  readonly log: Logger;
  /** Container operations in flight at once. @default DEFAULT_TASK_PARALLELISM (4) */
  readonly parallelism?: number;
  /** Pause before a failed report or a failed stop/remove is tried again. @default 1000 */
  readonly retryMs?: number;
  /** @default real timers, unref'ed */
  readonly timers?: ReporterTimers;
  /** The time stamped on reports. @default () => new Date() */
  readonly now?: () => Date;
}

/** {@link TaskExecutorOptions} with defaults filled in. */
export type CompiledTaskExecutorOptions = Required<TaskExecutorOptions>;

const SYSTEM_TIMERS: ReporterTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/**
 * Validates `options` once and fills in defaults (STYLE 24).
 *
 * @example
 * compileTaskExecutorOptions({ runtime, nodeId, report, log }).parallelism; // 4
 */
export function compileTaskExecutorOptions(
  options: TaskExecutorOptions,
): CompiledTaskExecutorOptions {
  const o: CompiledTaskExecutorOptions = {
    parallelism: DEFAULT_TASK_PARALLELISM,
    retryMs: 1000,
    timers: SYSTEM_TIMERS,
    now: () => new Date(),
    ...options,
  };
  for (const name of ['parallelism', 'retryMs'] as const) {
    if (!Number.isInteger(o[name]) || o[name] < 1) {
      throw new RangeError(
        `Start task executor: ${name} must be a whole number of at least 1: got ${o[name]}`,
      );
    }
  }
  return o;
}

/** What the executor knows of one task it runs or ran. */
interface TaskRecord {
  /** The newest assigned version; kept after unassignment until the container is gone. */
  task: pb.Task;
  assigned: boolean;
  /** Set once the container exists (created or adopted). */
  containerId: string | undefined;
  /** The last state reported (or adopted): the executor only moves it forward. */
  state: pb.TaskState;
  /** Whether the container may be running (started and not seen exited since). */
  running: boolean;
  /** Whether the executor stops it on purpose, so its exit is SHUTDOWN, not FAILED. */
  stopping: boolean;
  /** An event came in: inspect the container before anything else. */
  needsInspect: boolean;
  /** An operation for this task is queued or running. */
  busy: boolean;
  /** An operation failed: nothing more until the retry timer fires (no hot loop). */
  deferred: boolean;
}

/**
 * `starting`: adoption has not run yet (no assignment set so far); `running`;
 * `removing`: `removeAll()` was called: assignment sets are ignored and every container
 * goes; `closed`: `close()` was called (containers are left as they are, for the next
 * agent to adopt).
 */
export type TaskExecutorState = 'starting' | 'running' | 'removing' | 'closed';

/** A `removeAll()` under way. */
interface Removal {
  readonly done: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  /** What could not be removed (`"web.1.x"`, or `list containers`) and why. */
  readonly failures: Map<string, unknown>;
  settled: boolean;
}

/**
 * Runs the tasks assigned to this node.
 *
 * @example
 * const executor = await TaskExecutor.start({ runtime, nodeId, report: (u) => session.reportTaskStatus(u), log });
 * void executor.follow(session.assignments());
 * await executor.close();
 */
export class TaskExecutor {
  readonly #o: CompiledTaskExecutorOptions;
  readonly #log: Logger;
  readonly #runtime: ContainerRuntime;
  readonly #reporter: StatusReporter;
  readonly #records = new Map<string, TaskRecord>();
  /** Containers to remove that belong to no record (found at adoption), by ID. */
  readonly #orphans = new Map<string, ContainerInfo>();
  /** Orphans whose removal failed, tried again when the retry timer fires. */
  readonly #failedOrphans = new Map<string, ContainerInfo>();
  readonly #abort = new AbortController();
  #state: TaskExecutorState = 'starting';
  #assigned: ReadonlyMap<string, pb.Task> | undefined;
  #reconcileQueued = false;
  #adopting = false;
  /** Whether the engine's containers were listed and adopted (or marked for removal). */
  #adopted = false;
  #removal: Removal | undefined;
  /** Operations waiting for a slot of the pool. */
  readonly #queue: (() => void)[] = [];
  #inFlight = 0;
  #retryTimer: unknown;
  #events: Promise<void> | undefined;

  private constructor(options: TaskExecutorOptions) {
    this.#o = compileTaskExecutorOptions(options);
    this.#log = options.log.child({ component: 'task-executor', nodeId: options.nodeId });
    this.#runtime = options.runtime;
    this.#reporter = new StatusReporter({
      report: this.#o.report,
      log: this.#log,
      timers: this.#o.timers,
      retryMs: this.#o.retryMs,
    });
  }

  /**
   * Starts watching the engine's events for this node's containers; resolves at once.
   * Nothing runs until the first {@link update}, which adopts what the engine holds.
   */
  static async start(options: TaskExecutorOptions): Promise<TaskExecutor> {
    const executor = new TaskExecutor(options);
    executor.#events = executor.#watchEvents();
    return executor;
  }

  get state(): TaskExecutorState {
    return this.#state;
  }

  /** The labels every container of this node's tasks carries. */
  get #nodeLabels(): Record<string, string> {
    return { [TASK_LABELS.NODE_ID]: this.#o.nodeId };
  }

  /** Takes the newest assignment set: tasks missing from it are stopped and removed. */
  update(assignments: { readonly tasks: ReadonlyMap<string, pb.Task> }): void {
    if (this.#state === 'closed' || this.#state === 'removing') return;
    this.#assigned = assignments.tasks;
    this.#schedule();
  }

  /** Follows a stream of assignment sets until it ends, `removeAll()` or `close()`. */
  async follow(
    assignments: AsyncIterable<{ readonly tasks: ReadonlyMap<string, pb.Task> }>,
  ): Promise<void> {
    for await (const set of assignments) {
      if (this.#state === 'closed' || this.#state === 'removing') break;
      this.update(set);
    }
  }

  /**
   * Stops every task's container with the task's stop signal and grace period and
   * removes it, the containers of unassigned tasks an earlier agent left included; for
   * a node leaving the swarm. From the call on, assignment sets are ignored. The stops
   * run all at once, not `parallelism` at a time: a stop mostly waits out its grace
   * period, and leaving must not take the sum of them. Each container gets one attempt
   * (and one more if an earlier attempt had failed), no retry loop. Resolves once no
   * container is left; rejects with a ShoalError naming each container that is left,
   * with the engine's reason. Safe twice: the second call gets the same promise.
   *
   * @example
   * await executor.removeAll();
   * await executor.close();
   */
  removeAll(): Promise<void> {
    if (this.#removal) return this.#removal.done;
    if (this.#state === 'closed') {
      return Promise.reject(
        new ShoalError(
          'SHOAL_FAILED_PRECONDITION',
          'Remove task containers: the executor is closed',
        ),
      );
    }
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#removal = { done, resolve, reject, failures: new Map(), settled: false };
    this.#transition(['starting', 'running'], 'removing');
    this.#assigned = new Map();
    // What waits for the retry timer gets its attempt now; the timer is not needed again.
    if (this.#retryTimer !== undefined) this.#o.timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    for (const record of this.#records.values()) record.deferred = false;
    for (const [id, info] of this.#failedOrphans) this.#orphans.set(id, info);
    this.#failedOrphans.clear();
    // Queued operations start now: those that would create or start are skipped.
    for (const run of this.#queue.splice(0)) run();
    this.#schedule();
    return done;
  }

  /**
   * Stops watching and reconciling; operations in flight finish first. Containers keep
   * running: the next agent adopts them. A `removeAll()` still under way is rejected.
   * Safe twice.
   */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#transition(['starting', 'running', 'removing'], 'closed');
    this.#abort.abort(new Error('task executor closed'));
    if (this.#retryTimer !== undefined) this.#o.timers.clearTimeout(this.#retryTimer);
    for (const run of this.#queue.splice(0)) run();
    while (this.#inFlight > 0) await new Promise((resolve) => setImmediate(resolve));
    await this.#events;
    this.#reporter.close();
    const removal = this.#removal;
    if (removal && !removal.settled) {
      removal.settled = true;
      removal.reject(
        new ShoalError(
          'SHOAL_ABORTED',
          'Remove task containers: the executor was closed before every container was removed',
        ),
      );
    }
  }

  /** Moves to `to` from one of `from`; ignores any other move (STYLE 14). */
  #transition(from: readonly TaskExecutorState[], to: TaskExecutorState): void {
    if (!from.includes(this.#state)) return;
    this.#log.debug(`${this.#state} -> ${to}`);
    this.#state = to;
  }

  /** Settles a `removeAll()` once nothing is queued, running or about to be. */
  #settleRemoval(): void {
    const removal = this.#removal;
    if (
      !removal ||
      removal.settled ||
      this.#state !== 'removing' ||
      this.#reconcileQueued ||
      this.#adopting ||
      this.#inFlight > 0 ||
      this.#queue.length > 0
    ) {
      return;
    }
    removal.settled = true;
    if (removal.failures.size === 0) {
      this.#log.info('removed every task container');
      removal.resolve();
      return;
    }
    const detail = [...removal.failures]
      .map(([what, error]) => `${what}: ${error instanceof Error ? error.message : String(error)}`)
      .join('; ');
    removal.reject(
      new ShoalError('SHOAL_UNAVAILABLE', `Remove task containers: ${detail}`, {
        cause: new AggregateError([...removal.failures.values()]),
      }),
    );
  }

  #schedule(): void {
    if (this.#reconcileQueued || this.#state === 'closed') return;
    this.#reconcileQueued = true;
    queueMicrotask(() => {
      this.#reconcileQueued = false;
      this.#reconcile();
      this.#settleRemoval();
    });
  }

  #reconcile(): void {
    const assigned = this.#assigned;
    if (!assigned || this.#adopting || this.#state === 'closed') return;
    if (!this.#adopted) {
      void this.#adopt(assigned);
      return;
    }
    for (const task of assigned.values()) {
      let record = this.#records.get(task.id);
      if (!record) {
        record = this.#newRecord(task);
        this.#records.set(task.id, record);
      }
      record.task = task;
      record.assigned = true;
      if (!record.busy && !record.deferred) this.#step(record);
    }
    for (const record of this.#records.values()) {
      if (assigned.has(record.task.id)) continue;
      record.assigned = false;
      if (!record.busy && !record.deferred) this.#step(record);
    }
    for (const [id, info] of this.#orphans) {
      this.#orphans.delete(id);
      this.#operate(
        undefined,
        'remove orphan',
        () =>
          this.#removeOrphan(info).catch((error: unknown) => {
            this.#failedOrphans.set(id, info);
            throw error;
          }),
        { removes: info.name },
      );
    }
  }

  #newRecord(task: pb.Task): TaskRecord {
    const known = task.status?.state ?? S.TASK_STATE_NEW;
    const record: TaskRecord = {
      task,
      assigned: true,
      containerId: undefined,
      state: known,
      running: false,
      stopping: false,
      needsInspect: false,
      busy: false,
      deferred: false,
    };
    // The manager believes it started, yet this engine holds no container for it (found
    // none at adoption): never start a task twice; the orchestrator replaces it.
    if (known >= S.TASK_STATE_STARTING && !isTerminal(known)) {
      this.#push(record, {
        state: S.TASK_STATE_FAILED,
        message: 'started',
        err: 'task: container not found',
      });
    }
    return record;
  }

  /** Starts the one operation `record` needs now, if any. */
  #step(record: TaskRecord): void {
    const { task } = record;
    if (!record.assigned) {
      this.#operate(record, 'remove', () => this.#remove(record), {
        removes: this.#containerName(record.task),
      });
      return;
    }
    if (record.needsInspect && record.containerId) {
      this.#operate(record, 'inspect', () => this.#observe(record));
      return;
    }
    const desired = task.desiredState;
    if (desired >= S.TASK_STATE_SHUTDOWN) {
      if (!isTerminal(record.state) || record.running) {
        this.#operate(record, 'stop', () => this.#shutdown(record));
      }
      return;
    }
    if (isTerminal(record.state)) {
      // A failed task's container (unhealthy, say) must not go on running.
      if (record.running) this.#operate(record, 'stop', () => this.#shutdown(record));
      return;
    }
    if (!record.containerId) {
      this.#operate(record, 'prepare', () => this.#prepare(record));
      return;
    }
    if (desired >= S.TASK_STATE_RUNNING && record.state <= S.TASK_STATE_READY && !record.running) {
      this.#operate(record, 'start', () => this.#start(record));
    }
  }

  /**
   * Runs `work` in the pool; marks `record` busy meanwhile; reconciles after. `removes`
   * names the container an operation removes: while removing, such an operation runs
   * at once, outside the pool, and every other one is skipped (its task's removal
   * follows).
   */
  #operate(
    record: TaskRecord | undefined,
    what: string,
    work: () => Promise<void>,
    { removes }: { removes?: string } = {},
  ): void {
    if (record) record.busy = true;
    const run = () => {
      if (this.#state === 'closed' || (this.#state === 'removing' && removes === undefined)) {
        if (record) record.busy = false;
        this.#schedule();
        return;
      }
      this.#inFlight++;
      work()
        .catch((error: unknown) => {
          this.#log.warn(
            { err: error, taskId: record?.task.id, what },
            'container operation failed',
          );
          if (this.#state !== 'removing') {
            if (record) record.deferred = true;
            this.#retrySoon();
          } else if (removes !== undefined) {
            // One attempt: removeAll() names what is left rather than retry without end.
            if (record) record.deferred = true;
            this.#removal?.failures.set(`"${removes}"`, error);
          }
        })
        .finally(() => {
          this.#inFlight--;
          if (record) record.busy = false;
          this.#queue.shift()?.();
          this.#schedule();
        });
    };
    const now = this.#state === 'removing' && removes !== undefined;
    if (now || this.#inFlight < this.#o.parallelism) run();
    else this.#queue.push(run);
  }

  /** Reconciles again after a pause: an operation that failed is tried again. */
  #retrySoon(): void {
    if (this.#retryTimer !== undefined || this.#state === 'closed' || this.#state === 'removing') {
      return;
    }
    this.#retryTimer = this.#o.timers.setTimeout(() => {
      this.#retryTimer = undefined;
      for (const record of this.#records.values()) record.deferred = false;
      for (const [id, info] of this.#failedOrphans) this.#orphans.set(id, info);
      this.#failedOrphans.clear();
      this.#schedule();
    }, this.#o.retryMs);
  }

  #renderContext(task: pb.Task): RenderContext {
    return {
      nodeId: this.#o.nodeId,
      serviceName: task.serviceAnnotations?.name || task.serviceId,
    };
  }

  #containerName(task: pb.Task): string {
    return containerName(task, this.#renderContext(task));
  }

  /** Reports `observation` if it moves the task forward. */
  #push(record: TaskRecord, observation: Observation): void {
    if (observation.state <= record.state) return;
    record.state = observation.state;
    this.#log.debug(
      { taskId: record.task.id, state: S[observation.state], err: observation.err || undefined },
      'task state',
    );
    this.#reporter.push({
      taskId: record.task.id,
      status: {
        timestamp: this.#o.now(),
        state: observation.state,
        message: observation.message,
        err: observation.err,
        ...(observation.container ? { container: observation.container } : {}),
      },
    });
  }

  async #adopt(assigned: ReadonlyMap<string, pb.Task>): Promise<void> {
    this.#adopting = true;
    try {
      const containers = await this.#runtime.list(this.#nodeLabels);
      for (const decision of planAdoption(containers, assigned)) {
        if (decision.type === 'remove') {
          this.#log.info(
            { containerId: decision.container.id, name: decision.container.name },
            `removing container: ${decision.reason}`,
          );
          this.#orphans.set(decision.container.id, decision.container);
          continue;
        }
        const { observation } = decision;
        const task = assigned.get(decision.taskId)!;
        const known = task.status?.state ?? S.TASK_STATE_NEW;
        const record: TaskRecord = {
          task,
          assigned: true,
          containerId: decision.container.id,
          // The lower of the two: a container created just before the last agent died,
          // after it reported STARTING, is READY here and gets started.
          state: isTerminal(known) ? known : Math.min(known, observation.state),
          running: decision.container.status === 'running',
          stopping: task.desiredState >= S.TASK_STATE_SHUTDOWN,
          needsInspect: false,
          busy: false,
          deferred: false,
        };
        this.#records.set(task.id, record);
        this.#push(record, observation);
        this.#log.info(
          { taskId: task.id, containerId: decision.container.id, state: S[record.state] },
          'adopted task container',
        );
      }
      this.#adopted = true;
      this.#transition(['starting'], 'running');
      this.#schedule();
    } catch (error) {
      // No reconcile now: with the engine down it would list again at once, a hot loop;
      // the retry timer brings the next attempt.
      if (this.#state === 'removing') {
        this.#log.warn({ err: error }, 'listing task containers failed');
        this.#removal?.failures.set('list containers', error);
      } else {
        this.#log.warn({ err: error }, 'listing task containers failed: retrying');
        this.#retrySoon();
      }
    } finally {
      this.#adopting = false;
      this.#settleRemoval();
    }
  }

  async #prepare(record: TaskRecord): Promise<void> {
    const { task } = record;
    const image = task.spec?.container?.image ?? '';
    this.#push(record, { state: S.TASK_STATE_ACCEPTED, message: 'accepted', err: '' });
    this.#push(record, { state: S.TASK_STATE_PREPARING, message: 'preparing', err: '' });
    try {
      const options = renderContainerSpec(task, this.#renderContext(task));
      // Create first and look for the image only when that fails, as `docker run` does:
      // one engine call when the image is there, which is nearly always.
      try {
        record.containerId = await this.#runtime.create(options);
      } catch (error) {
        // Unknown whether the image is there: the create's own error says most.
        if (await this.#runtime.imageExists(image).catch(() => true)) throw error;
        try {
          await this.#runtime.pullImage(image, this.#abort.signal);
        } catch (pullError) {
          // Rejected once and for all: the orchestrator decides whether to try again
          // (on this node or another), not a loop here.
          this.#log.warn({ err: pullError, taskId: task.id, image }, 'image pull failed');
          this.#push(record, missingImage(image));
          return;
        }
        record.containerId = await this.#runtime.create(options);
      }
    } catch (error) {
      this.#push(record, failedCall('create container', error));
      return;
    }
    this.#push(record, {
      state: S.TASK_STATE_READY,
      message: 'created',
      err: '',
      container: { containerId: record.containerId, pid: 0, exitCode: 0 },
    });
  }

  async #start(record: TaskRecord): Promise<void> {
    const id = record.containerId!;
    this.#push(record, { state: S.TASK_STATE_STARTING, message: 'starting', err: '' });
    try {
      await this.#runtime.start(id);
      record.running = true;
    } catch (error) {
      this.#push(record, failedCall('start container', error));
      return;
    }
    await this.#observe(record);
  }

  async #observe(record: TaskRecord): Promise<void> {
    record.needsInspect = false;
    const info = await this.#runtime.inspect(record.containerId!);
    if (!info) {
      record.running = false;
      if (record.stopping) {
        this.#push(record, { state: S.TASK_STATE_SHUTDOWN, message: 'shutdown', err: '' });
      } else {
        this.#push(record, {
          state: S.TASK_STATE_FAILED,
          message: 'started',
          err: 'task: container removed',
        });
      }
      record.containerId = undefined;
      return;
    }
    record.running = info.status === 'running' || info.status === 'paused';
    this.#push(record, observeContainer(info, { stopping: record.stopping }));
  }

  async #shutdown(record: TaskRecord): Promise<void> {
    record.stopping = true;
    if (record.containerId) {
      await this.#runtime.stop(record.containerId, stopOptions(record.task));
      record.running = false;
    }
    if (record.task.desiredState >= S.TASK_STATE_SHUTDOWN) {
      this.#push(record, { state: S.TASK_STATE_SHUTDOWN, message: 'shutdown', err: '' });
    }
  }

  async #remove(record: TaskRecord): Promise<void> {
    if (record.containerId) {
      record.stopping = true;
      if (record.running) {
        await this.#runtime.stop(record.containerId, stopOptions(record.task));
        record.running = false;
      }
      await this.#runtime.remove(record.containerId);
    }
    // Reassigned meanwhile: keep the record, a new container will be made.
    if (this.#assigned?.has(record.task.id)) {
      record.containerId = undefined;
      return;
    }
    this.#records.delete(record.task.id);
  }

  /**
   * Stops an orphan with the signal and grace period its task had (the container
   * carries them since its create), then removes it.
   */
  async #removeOrphan(info: ContainerInfo): Promise<void> {
    if (info.status === 'running' || info.status === 'paused') {
      await this.#runtime.stop(info.id, {
        ...(info.stopSignal ? { signal: info.stopSignal } : {}),
        graceMs: info.stopGraceMs,
      });
    }
    await this.#runtime.remove(info.id);
  }

  async #watchEvents(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        for await (const event of this.#runtime.events(this.#nodeLabels, signal)) {
          this.#onEvent(event);
        }
      } catch (error) {
        if (signal.aborted) return;
        this.#log.warn({ err: error }, 'engine event stream broke: reopening');
      }
      if (signal.aborted) return;
      // Events may have been missed while the stream was down: inspect every container.
      for (const record of this.#records.values()) {
        if (record.containerId) record.needsInspect = true;
      }
      this.#schedule();
      await new Promise<void>((resolve) => {
        const timer = this.#o.timers.setTimeout(resolve, this.#o.retryMs);
        signal.addEventListener(
          'abort',
          () => {
            this.#o.timers.clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
    }
  }

  #onEvent(event: RuntimeEvent): void {
    if (!isStateEvent(event)) return;
    const taskId = event.labels[TASK_LABELS.TASK_ID];
    const record = taskId ? this.#records.get(taskId) : undefined;
    if (!record || record.containerId !== event.containerId) return;
    record.needsInspect = true;
    this.#schedule();
  }
}

/** How the spec asks the task's container to be stopped. */
function stopOptions(task: pb.Task): StopOptions {
  const signal = task.spec?.container?.stopSignal;
  return { ...(signal ? { signal } : {}), graceMs: stopGraceMs(task) };
}
