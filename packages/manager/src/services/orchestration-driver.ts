// The leader's orchestration loop: the I/O edge around the pure cores. It watches the
// store, and for the services a change touched (or whose wake-up time came) runs the
// orchestrator of the service's mode, then the updater, then the scheduler over every
// pending task, and writes what they decided in batched store transactions. Store
// events are gathered for a short window first, so 10,000 replicas cost a handful of
// passes and transactions rather than one per task. Everything is derived again from
// the store on each pass, so a new leader simply continues where the old one stopped.
import { pb } from '@shoal/api';
import type { Logger } from 'pino';
import { generateRandomId } from '../ca/random-id.js';
import { CRYPTO_RNG, type SecureRng } from '../ca/secure-rng.js';
import { updateWithRetry } from '../dispatcher/update-with-retry.js';
import { earliest, type OrchestratorAction } from '../orchestrator/orchestrator-action.js';
import { reconcileGlobal } from '../orchestrator/reconcile-global.js';
import { reconcileReplicated } from '../orchestrator/reconcile-replicated.js';
import { removeTasks } from '../orchestrator/remove-tasks.js';
import { DEFAULT_TASK_HISTORY_LIMIT } from '../orchestrator/task-history.js';
import { isSameTaskSpec } from '../orchestrator/task-spec-equal.js';
import { hasTaskEnded, isTaskWanted, observedState } from '../orchestrator/task-state.js';
import { planUpdate } from '../orchestrator/updater.js';
import { schedule } from '../scheduler/schedule.js';
import type { ClusterStore } from '../store/cluster-store.js';
import type { MemoryStore } from '../store/memory-store.js';
import type { StoreEvent } from '../store/store-watch.js';
import { ChangeSet, writeChange } from './task-changes.js';

const { TASK_STATE_NEW, TASK_STATE_ASSIGNED, TASK_STATE_RUNNING } = pb.TaskState;

/** How long store events are gathered before a pass. */
export const ORCHESTRATION_DEBOUNCE_MS = 30;
/** Most objects written in one store transaction. */
export const ORCHESTRATION_BATCH_SIZE = 2_000;
/** Most tasks placed by one scheduler call before the event loop gets a turn. */
export const ORCHESTRATION_SCHEDULE_BATCH = 500;
/** Wait before a pass that failed (store unavailable, say) is tried again. */
export const ORCHESTRATION_RETRY_MS = 1_000;
// setTimeout's largest delay; later wake-ups are re-armed when it fires.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Options of {@link OrchestrationDriver}; all but `store` and `log` are optional. */
export interface OrchestrationDriverOptions {
  readonly store: ClusterStore;
  readonly log: Logger;
  /**
   * Wall clock for task timestamps, restart delays and update monitors.
   * @default () => new Date()
   */
  readonly now?: () => Date;
  /**
   * Randomness for task IDs.
   * @default CRYPTO_RNG
   */
  readonly rng?: SecureRng;
  /** @default ORCHESTRATION_DEBOUNCE_MS */
  readonly debounceMs?: number;
  /** @default ORCHESTRATION_BATCH_SIZE */
  readonly batchSize?: number;
  /** @default ORCHESTRATION_SCHEDULE_BATCH */
  readonly scheduleBatchSize?: number;
  /**
   * Attempts of one transaction that meets StoreConflictErrors, each from fresh reads.
   * @default 5
   */
  readonly storeAttempts?: number;
}

/** `running` between start() and stop(). */
export type OrchestrationDriverState = 'stopped' | 'running';

/**
 * Runs the orchestrators, the updater and the scheduler on the Raft leader.
 *
 * @example
 * const driver = new OrchestrationDriver({ store, log });
 * // on becoming leader: driver.start();   on losing leadership: driver.stop();
 */
export class OrchestrationDriver {
  readonly #store: ClusterStore;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #newTaskId: () => string;
  readonly #debounceMs: number;
  readonly #batchSize: number;
  readonly #scheduleBatchSize: number;
  readonly #storeAttempts: number;
  #state: OrchestrationDriverState = 'stopped';
  /** Bumped by start() and stop(), so work of an older run stops at its next step. */
  #generation = 0;
  #watch: AsyncIterableIterator<StoreEvent> | undefined;
  /** Services to reconcile on the next pass; `#everything` stands for all of them. */
  #dirty = new Set<string>();
  #everything = false;
  /** When each service asked to be looked at again (ms since the epoch). */
  readonly #wakeAt = new Map<string, number>();
  /** The gathering window before the next pass; one owner: #arm. */
  #passTimer: NodeJS.Timeout | undefined;
  /** The earliest wake-up; one owner: #armWake. */
  #wakeTimer: NodeJS.Timeout | undefined;
  #passing = false;
  /** Per service: its stored version, and tasks known to run that version's task spec. */
  readonly #currentTasks = new Map<string, { version: number; ids: Set<string> }>();
  /**
   * Tasks no node fit on the last try. They are tried again only once room may have
   * appeared (`#roomChanged`: a node or the cluster changed, a task ended or went),
   * not on every pass: placing costs tasks × nodes, and a service of 1,000 replicas
   * with an impossible constraint must not cost that on each of its status reports.
   */
  #unschedulable = new Set<string>();
  #roomChanged = true;
  /** Whether a barrier is due before the next pass (set on start). */
  #needsBarrier = false;

  constructor(options: OrchestrationDriverOptions) {
    this.#store = options.store;
    this.#log = options.log;
    this.#now = options.now ?? (() => new Date());
    const rng = options.rng ?? CRYPTO_RNG;
    this.#newTaskId = () => generateRandomId(rng);
    this.#debounceMs = options.debounceMs ?? ORCHESTRATION_DEBOUNCE_MS;
    this.#batchSize = options.batchSize ?? ORCHESTRATION_BATCH_SIZE;
    this.#scheduleBatchSize = options.scheduleBatchSize ?? ORCHESTRATION_SCHEDULE_BATCH;
    this.#storeAttempts = options.storeAttempts ?? 5;
    for (const [name, value] of [
      ['batchSize', this.#batchSize],
      ['scheduleBatchSize', this.#scheduleBatchSize],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(`Invalid ${name} ${value}: must be a whole number of at least 1`);
      }
    }
  }

  get state(): OrchestrationDriverState {
    return this.#state;
  }

  /** Starts watching the store; the first pass looks at every service. */
  start(): void {
    this.stop();
    this.#state = 'running';
    const generation = ++this.#generation;
    this.#needsBarrier = true;
    this.#everything = true;
    this.#roomChanged = true;
    this.#watchStore(generation);
    this.#arm();
  }

  /** Stops watching and drops pending work; a pass in flight writes nothing more. Safe twice. */
  stop(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#generation += 1;
    void this.#watch?.return?.();
    this.#watch = undefined;
    clearTimeout(this.#passTimer);
    clearTimeout(this.#wakeTimer);
    this.#passTimer = undefined;
    this.#wakeTimer = undefined;
    this.#dirty.clear();
    this.#everything = false;
    this.#wakeAt.clear();
    this.#currentTasks.clear();
    this.#unschedulable.clear();
  }

  /**
   * Whether a wanted task runs another spec than the service's, the only thing that
   * starts an update. planUpdate answers the same, but compares every task's spec on
   * every pass (a canonical JSON of each); this remembers the tasks found current for
   * the service's stored version, so a pass over 10,000 settled tasks compares none.
   */
  #hasStaleTasks(service: pb.Service, tasks: readonly pb.Task[]): boolean {
    const version = service.meta?.version ?? 0;
    let known = this.#currentTasks.get(service.id);
    if (known?.version !== version) {
      known = { version, ids: new Set() };
      this.#currentTasks.set(service.id, known);
    }
    // Rebuilt from the tasks at hand, so deleted tasks leave the set.
    const current = new Set<string>();
    for (const task of tasks) {
      if (!isTaskWanted(task)) continue;
      if (!known.ids.has(task.id) && !isSameTaskSpec(task.spec, service.spec?.task)) return true;
      current.add(task.id);
    }
    known.ids = current;
    return false;
  }

  #watchStore(generation: number): void {
    const watch = this.#store.watch();
    this.#watch = watch;
    void (async () => {
      try {
        for await (const event of watch) {
          if (generation !== this.#generation) return;
          this.#onEvent(event);
        }
      } catch (error) {
        if (generation !== this.#generation) return;
        // A watch that fell behind missed events: look at everything again.
        this.#log.warn({ err: error }, 'orchestration watch ended; watching again');
        this.#everything = true;
        this.#roomChanged = true;
        this.#watchStore(generation);
        this.#arm();
      }
    })();
  }

  #onEvent(event: StoreEvent): void {
    if (event.type === 'reset') {
      this.#everything = true;
      this.#roomChanged = true;
    } else if (event.table === 'services') {
      this.#dirty.add(event.object.id);
    } else if (event.table === 'tasks') {
      if (event.type === 'delete' || hasTaskEnded(event.object)) this.#roomChanged = true;
      if (mattersToOrchestration(event, this.#store.state)) this.#dirty.add(event.object.serviceId);
    } else if (event.table === 'nodes' || event.table === 'clusters') {
      // Nodes decide placement and global tasks; the cluster holds the history limit.
      this.#everything = true;
      this.#roomChanged = true;
    } else {
      return;
    }
    this.#arm();
  }

  /** Arms the gathering window unless one is open or a pass runs (it re-arms after). */
  #arm(delayMs = this.#debounceMs): void {
    if (this.#state !== 'running' || this.#passing || this.#passTimer) return;
    if (!this.#everything && this.#dirty.size === 0) return;
    const generation = this.#generation;
    this.#passTimer = setTimeout(() => {
      this.#passTimer = undefined;
      void this.#runPass(generation);
    }, delayMs);
    this.#passTimer.unref?.();
  }

  #armWake(): void {
    clearTimeout(this.#wakeTimer);
    this.#wakeTimer = undefined;
    if (this.#state !== 'running' || this.#wakeAt.size === 0) return;
    const at = Math.min(...this.#wakeAt.values());
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at - this.#now().getTime()));
    this.#wakeTimer = setTimeout(() => {
      this.#wakeTimer = undefined;
      const now = this.#now().getTime();
      for (const [serviceId, wakeAt] of this.#wakeAt) {
        if (wakeAt <= now) this.#dirty.add(serviceId);
      }
      this.#arm(0);
      this.#armWake();
    }, delay);
    this.#wakeTimer.unref?.();
  }

  async #runPass(generation: number): Promise<void> {
    if (generation !== this.#generation) return;
    const everything = this.#everything;
    const dirty = this.#dirty;
    const roomChanged = this.#roomChanged;
    this.#everything = false;
    this.#roomChanged = false;
    this.#dirty = new Set();
    this.#passing = true;
    let retry = false;
    try {
      await this.#pass(generation, { everything, dirty, roomChanged });
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#log.warn(
        { err: error, services: everything ? 'all' : dirty.size },
        'orchestration pass failed; trying again',
      );
      this.#everything ||= everything;
      // Placements and explanations of the failed pass may be unwritten: try them all.
      this.#roomChanged = true;
      for (const id of dirty) this.#dirty.add(id);
      retry = true;
    } finally {
      this.#passing = false;
      // A pass of an older run (stopped, maybe started again meanwhile) only hands over.
      if (generation === this.#generation) {
        this.#arm(retry ? ORCHESTRATION_RETRY_MS : this.#debounceMs);
        this.#armWake();
      } else {
        this.#arm();
      }
    }
  }

  async #pass(
    generation: number,
    {
      everything,
      dirty,
      roomChanged,
    }: { everything: boolean; dirty: Set<string>; roomChanged: boolean },
  ): Promise<void> {
    if (this.#needsBarrier) {
      // A new leader first applies everything committed before it took over.
      await this.#store.barrier();
      this.#needsBarrier = false;
      if (generation !== this.#generation) return;
    }
    const state = this.#store.state;
    const now = this.#now();
    const nodes = state.list('nodes');
    const nodeIds = new Set(nodes.map((n) => n.id));
    const services = new Map(state.list('services').map((s) => [s.id, s] as const));
    const taskHistoryLimit = historyLimit(state.list('clusters')[0]);
    const working = new Map<string, pb.Task>();
    const idsByService = new Map<string, string[]>();
    for (const task of state.list('tasks')) {
      working.set(task.id, task);
      const ids = idsByService.get(task.serviceId);
      if (ids) ids.push(task.id);
      else idsByService.set(task.serviceId, [task.id]);
    }

    const targets = everything ? new Set([...services.keys(), ...idsByService.keys()]) : dirty;
    for (const [serviceId, wakeAt] of this.#wakeAt) {
      if (wakeAt <= now.getTime()) targets.add(serviceId);
    }
    const changes = new ChangeSet(working, now);
    const options = { newTaskId: this.#newTaskId, taskHistoryLimit };
    for (const serviceId of targets) {
      this.#wakeAt.delete(serviceId);
      let ids = idsByService.get(serviceId) ?? [];
      const tasks = () => ids.map((id) => working.get(id)).filter((t) => t !== undefined);
      const service = services.get(serviceId);
      if (!service) {
        this.#currentTasks.delete(serviceId);
        // Removed (`service rm`): its tasks stop, then go.
        changes.apply(removeTasks(tasks(), 'service removed'));
        changes.apply(reapOrphans(tasks(), nodeIds));
        continue;
      }
      const reconcile =
        service.spec?.mode?.$case === 'global' ? reconcileGlobal : reconcileReplicated;
      const step = reconcile({ service, tasks: tasks(), nodes, now }, options);
      changes.apply(step.actions);
      ids = [...ids, ...createdIds(step.actions)];
      const plan =
        isUpdating(service) || this.#hasStaleTasks(service, tasks())
          ? planUpdate({ service, tasks: tasks(), nodes, now }, options)
          : { actions: [] };
      changes.apply(plan.actions);
      if (plan.service) changes.setService(plan.service);
      changes.apply(reapOrphans(tasks(), nodeIds));
      const wakeAt = earliest(step.wakeAt, plan.wakeAt);
      if (wakeAt) this.#wakeAt.set(serviceId, wakeAt.getTime());
    }

    // The allocator's step, then the scheduler's, over every task waiting for a node.
    // TODO(#5): hand NEW tasks with networks to the allocator once it exists; until then
    // services with networks are refused, so no task needs anything allocated.
    const pending: string[] = [];
    const unschedulable = new Set<string>();
    for (const task of working.values()) {
      const observed = observedState(task);
      if (observed >= TASK_STATE_ASSIGNED || task.desiredState > TASK_STATE_RUNNING) continue;
      if (!roomChanged && this.#unschedulable.has(task.id)) unschedulable.add(task.id);
      else pending.push(task.id);
    }
    for (const id of pending) {
      if (observedState(working.get(id)!) === TASK_STATE_NEW) changes.markPending(id);
    }
    // Tasks with spread preferences (or on a node already) cost nodes each to place: in
    // slices with the event loop let in between, so a service of 10,000 of them does not
    // hold up the dispatcher's heartbeats. Each slice sees the placements of the ones
    // before (they are in the working view).
    for (let from = 0; from < pending.length; from += this.#scheduleBatchSize) {
      if (from > 0) {
        await new Promise((resolve) => setImmediate(resolve));
        if (generation !== this.#generation) return;
      }
      const decided = schedule({
        tasks: pending.slice(from, from + this.#scheduleBatchSize).map((id) => working.get(id)!),
        nodes,
        allTasks: [...working.values()],
        now,
      });
      for (const { taskId, nodeId } of decided.assignments) changes.assign(taskId, nodeId);
      for (const { taskId, reason } of decided.unschedulable) {
        changes.unschedulable(taskId, reason);
        unschedulable.add(taskId);
      }
    }
    this.#unschedulable = unschedulable;

    if (changes.isEmpty) return;
    this.#log.debug(
      { services: targets.size, changes: changes.size, pending: pending.length },
      'orchestration pass',
    );
    for (const chunk of changes.chunks(this.#batchSize)) {
      if (generation !== this.#generation) return;
      await updateWithRetry(
        this.#store,
        (tx) => {
          for (const change of chunk) writeChange(tx, change, now);
        },
        { attempts: this.#storeAttempts },
      );
    }
  }
}

/**
 * Whether a task event can change an orchestration decision. Agents' progress from
 * ASSIGNED up to STARTING cannot (the cores act on tasks ending, on new, deleted and
 * pending ones), and reaching RUNNING only moves a rolling update on: skipping the rest
 * saves a pass over the whole service per status batch (10,000 tasks starting made
 * passes a quarter of what the leader allocated).
 */
function mattersToOrchestration(
  event: StoreEvent & { table: 'tasks' },
  state: MemoryStore,
): boolean {
  if (event.type !== 'update') return true;
  const observed = observedState(event.object);
  if (observed < TASK_STATE_ASSIGNED || observed > TASK_STATE_RUNNING) return true;
  if (observed < TASK_STATE_RUNNING) return false;
  const service = state.get('services', event.object.serviceId);
  return service !== undefined && isUpdating(service);
}

/**
 * Deletes tasks of nodes removed from the swarm once they are not wanted (`node rm`
 * marks them ORPHANED, the orchestrator replaces them): a removed node never reports
 * them stopping, so they would never count as finished history. Swarm's task reaper
 * deletes orphaned tasks too.
 */
function reapOrphans(
  tasks: readonly pb.Task[],
  nodeIds: ReadonlySet<string>,
): OrchestratorAction[] {
  return tasks
    .filter((t) => t.nodeId !== '' && !nodeIds.has(t.nodeId) && !isTaskWanted(t))
    .map((t) => ({ type: 'deleteTask', taskId: t.id }));
}

/** The cluster's `--task-history-limit`; Docker's 5 when the cluster does not say. */
function historyLimit(cluster: pb.Cluster | undefined): number {
  const limit = cluster?.spec?.orchestration?.taskHistoryRetentionLimit;
  return limit === undefined || limit < 0 ? DEFAULT_TASK_HISTORY_LIMIT : limit;
}

function isUpdating(service: pb.Service): boolean {
  const state = service.updateStatus?.state;
  return (
    state === pb.UpdateStatus_State.STATE_UPDATING ||
    state === pb.UpdateStatus_State.STATE_ROLLBACK_STARTED
  );
}

function createdIds(actions: readonly { type: string; task?: pb.Task }[]): string[] {
  return actions.flatMap((a) => (a.type === 'createTask' && a.task ? [a.task.id] : []));
}
