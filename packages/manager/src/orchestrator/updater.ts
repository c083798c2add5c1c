// The rolling updater as a pure state machine (Swarm reference §5.3). Each step looks at
// the service's update status and its tasks and decides which slots to replace next:
// at most `parallelism` slots in flight, `delay` after the last slot finished before the
// next starts, stop-first (old task stopped, new one held in READY until it has) or
// start-first (new task started, old one stopped once the new one runs). New tasks that
// end within `monitor` of their start count as failures; above `max failure ratio`
// the failure action pauses, continues or rolls back. The update completes once every
// updated task has run for `monitor`. A rollback is the same machine over the previous
// spec, with the rollback config, after rollbackService swapped the specs.
import { durationToMs, pb, withUpdateDefaults } from '@shoal/api';
import { isNodeAcceptingTasks, isNodeShedding } from '../scheduler/node-availability.js';
import { newTask } from './new-task.js';
import { earliest, type OrchestratorAction } from './orchestrator-action.js';
import { shutdown } from './reconcile-slot.js';
import { heldUntilMs } from './restart-policy.js';
import { isSameTaskSpec } from './task-spec-equal.js';
import { createdMs, endedOnItsOwn, isTaskWanted, observedState, statusMs } from './task-state.js';

const U = pb.UpdateStatus_State;
const { TASK_STATE_READY, TASK_STATE_RUNNING, TASK_STATE_REJECTED } = pb.TaskState;

/** What the updater looks at. */
export interface PlanUpdateInput {
  readonly service: pb.Service;
  /** Every task of the service. */
  readonly tasks: readonly pb.Task[];
  readonly now: Date;
  /** When given, slots whose node is down or drained are left to the orchestrator. */
  readonly nodes?: readonly pb.Node[];
}

/** What the updater needs besides its input. */
export interface PlanUpdateOptions {
  readonly newTaskId: () => string;
}

/** The updater's decision. */
export interface UpdatePlan {
  readonly actions: OrchestratorAction[];
  /**
   * The service to write when its update status changed (for an automatic rollback
   * also its specs, swapped); undefined when it stays as it is.
   */
  readonly service?: pb.Service;
  /** When to run again although nothing changed (the update delay or monitor ends). */
  readonly wakeAt?: Date;
}

/** Update status messages, as Docker shows them in `service inspect`. */
export const UPDATE_MESSAGES = {
  started: 'update in progress',
  completed: 'update completed',
  rollbackCompleted: 'rollback completed',
  manualRollback: 'manually requested rollback',
} as const;

interface Slot {
  readonly key: string;
  readonly tasks: pb.Task[];
}

/**
 * One step of the rolling update of a service.
 *
 * @example
 * const plan = planUpdate({ service, tasks, now }, { newTaskId });
 * // apply plan.actions, write plan.service if set, run again at plan.wakeAt or on change
 */
export function planUpdate(input: PlanUpdateInput, options: PlanUpdateOptions): UpdatePlan {
  const { service, now } = input;
  const spec = service.spec;
  const state = service.updateStatus?.state ?? U.STATE_UNKNOWN;
  if (!spec || state === U.STATE_PAUSED || state === U.STATE_ROLLBACK_PAUSED)
    return { actions: [] };
  const rollingBack = state === U.STATE_ROLLBACK_STARTED;
  const config = withUpdateDefaults(rollingBack ? spec.rollback : spec.update);
  const monitorMs = durationToMs(config.monitor);
  const isGlobal = spec.mode?.$case === 'global';
  const target = spec.task;
  const nodes = input.nodes && new Map(input.nodes.map((n) => [n.id, n]));

  const slots = groupSlots(input.tasks, isGlobal);
  const actions: OrchestratorAction[] = [];
  const dirty: Slot[] = [];
  let inFlight = 0;
  let active = state === U.STATE_UPDATING || rollingBack;
  // The tasks of the last update: the target spec, created since it started (this one,
  // or the one that completed). Only an update under way has tasks of its own: one not
  // started yet has none, not even tasks the orchestrator created at this very `now`.
  const startedMs = service.updateStatus?.startedAt?.getTime() ?? 0;
  const ofLastUpdate = service.updateStatus
    ? input.tasks.filter((t) => isSameTaskSpec(t.spec, target) && createdMs(t) >= startedMs)
    : [];
  const lastIds = new Set(ofLastUpdate.map((t) => t.id));
  const updated = active ? ofLastUpdate : [];
  const updatedIds = new Set(updated.map((t) => t.id));
  for (const slot of slots) {
    const wanted = slot.tasks.filter(isTaskWanted);
    const fresh = wanted.filter((t) => isSameTaskSpec(t.spec, target));
    const stale = wanted.filter((t) => !isSameTaskSpec(t.spec, target));
    if (stale.length > 0 && fresh.some((t) => observedState(t) === TASK_STATE_RUNNING)) {
      // Start-first: the old task goes once the new one runs.
      for (const t of stale) actions.push(shutdown(t, 'updated'));
    } else if (slot.tasks.some((t) => lastIds.has(t.id) && endedOnItsOwn(t))) {
      // The slot is done for this update once one of the update's tasks there ended on
      // its own. Swarm's updater stops waiting for its task when it fails (updateTask),
      // leaves the failure action to decide what comes next and never makes another
      // task for the slot itself: trying the slot again is the restart policy's job, with
      // its delay (reconcileSlot), so `continue` neither loops on one slot nor waits for
      // ever on a task that keeps failing. A start-first old task stays, as in Swarm,
      // which stops it only once its replacement runs: the slot keeps its capacity. A
      // completed update does not start again for such a slot; the user's next update
      // (or its restart, once it runs) does.
    } else if (stale.length > 0 && fresh.length === 0) {
      // Slots the orchestrator is emptying are not updated; nor global slots on a paused
      // node, which may take no new task: it keeps the old one, and a later step
      // updates it once the node is active again.
      const node = nodes && isGlobal ? nodes.get(slot.key) : undefined;
      const skip =
        nodes &&
        (isGlobal
          ? !node || !isNodeAcceptingTasks(node)
          : stale.some((t) => t.nodeId && isNodeShedding(nodes.get(t.nodeId))));
      if (!skip) dirty.push(slot);
    } else if (fresh.some((t) => updatedIds.has(t.id) && observedState(t) < TASK_STATE_RUNNING)) {
      // In flight while a task of this update there is wanted and not running yet
      // (stop-first: old task gone; start-first: old task beside it).
      inFlight += 1;
    }
  }
  if (!active && dirty.length === 0 && inFlight === 0) return { actions };

  let status: pb.UpdateStatus | undefined;
  if (!active) {
    active = true;
    status = { state: U.STATE_UPDATING, startedAt: now, message: UPDATE_MESSAGES.started };
  }

  // Failures: tasks of this update that were rejected, or ended on their own within the
  // monitor period of their start. The store keeps no start time, so the earliest the
  // task could have started stands in: its creation, plus the restart delay when it was
  // a restart (held until then).
  const slotOf = new Map(slots.flatMap((s) => s.tasks.map((t) => [t.id, s.tasks] as const)));
  const policy = target?.restart;
  const failed = updated.filter(
    (t) =>
      endedOnItsOwn(t) &&
      (observedState(t) === TASK_STATE_REJECTED ||
        statusMs(t) - heldUntilMs(t, slotOf.get(t.id) ?? [t], policy) < monitorMs),
  );
  const slotCount = Math.max(1, slots.filter((s) => s.tasks.some(isTaskWanted)).length);
  if (
    failed.length > 0 &&
    failed.length / slotCount > config.maxFailureRatio &&
    config.failureAction !== pb.UpdateConfig_FailureAction.FAILURE_ACTION_CONTINUE
  ) {
    const taskId = [...failed].sort((a, b) => createdMs(a) - createdMs(b))[0]!.id;
    // Slots already in flight finish (a start-first old task still goes); no new ones start.
    return { actions, service: onFailure(service, config, rollingBack, taskId, now) };
  }

  let wakeAt: Date | undefined;
  if (dirty.length === 0 && inFlight === 0) {
    // Done replacing: complete once every updated task has run for the monitor period.
    const running = updated.filter(
      (t) => isTaskWanted(t) && observedState(t) === TASK_STATE_RUNNING,
    );
    for (const t of running) {
      if (statusMs(t) + monitorMs > now.getTime()) {
        wakeAt = earliest(wakeAt, new Date(statusMs(t) + monitorMs));
      }
    }
    if (!wakeAt) {
      status = {
        state: rollingBack ? U.STATE_ROLLBACK_COMPLETED : U.STATE_COMPLETED,
        startedAt: service.updateStatus?.startedAt ?? now,
        completedAt: now,
        message: rollingBack ? UPDATE_MESSAGES.rollbackCompleted : UPDATE_MESSAGES.completed,
      };
    }
    return withStatus({ actions, wakeAt }, service, status);
  }

  let capacity =
    config.parallelism === 0 ? Number.POSITIVE_INFINITY : config.parallelism - inFlight;
  const delayMs = durationToMs(config.delay);
  if (delayMs > 0 && capacity > 0) {
    // The delay runs from the last slot of this update that finished (its task running).
    const finished = updated
      .filter((t) => isTaskWanted(t) && observedState(t) === TASK_STATE_RUNNING)
      .map(statusMs);
    const next = finished.length > 0 ? Math.max(...finished) + delayMs : 0;
    if (next > now.getTime()) {
      capacity = 0;
      wakeAt = new Date(next);
    }
  }
  const startFirst = config.order === pb.UpdateConfig_Order.ORDER_START_FIRST;
  for (const slot of dirty.slice(0, Math.max(0, capacity))) {
    if (!startFirst) {
      for (const t of slot.tasks.filter(isTaskWanted)) actions.push(shutdown(t, 'updating'));
    }
    const task = newTask(service, {
      id: options.newTaskId(),
      slot: isGlobal ? 0 : Number(slot.key),
      nodeId: isGlobal ? slot.key : '',
      // Stop-first holds the new task until the old one has stopped (reconcileSlot
      // releases it); start-first runs both for a while, keeping capacity.
      desiredState: startFirst ? TASK_STATE_RUNNING : TASK_STATE_READY,
      now,
    });
    actions.push({ type: 'createTask', task });
  }
  return withStatus({ actions, wakeAt }, service, status);
}

/**
 * The service as a rollback starts: the previous spec becomes the spec (and the spec
 * the previous one), status ROLLBACK_STARTED. planUpdate then rolls the tasks back with
 * the rollback config. `docker service rollback` calls it with the default message.
 *
 * @throws Error when the service has no previous spec (the caller checks first)
 */
export function rollbackService(
  service: pb.Service,
  now: Date,
  message: string = UPDATE_MESSAGES.manualRollback,
): pb.Service {
  if (!service.previousSpec) throw new Error(`service ${service.id} has no previous spec`);
  return {
    ...service,
    spec: service.previousSpec,
    previousSpec: service.spec,
    updateStatus: { state: U.STATE_ROLLBACK_STARTED, startedAt: now, message },
  };
}

function onFailure(
  service: pb.Service,
  config: pb.UpdateConfig,
  rollingBack: boolean,
  taskId: string,
  now: Date,
): pb.Service {
  const cause = `due to failure or early termination of task ${taskId}`;
  const startedAt = service.updateStatus?.startedAt ?? now;
  if (rollingBack) {
    return {
      ...service,
      updateStatus: {
        state: U.STATE_ROLLBACK_PAUSED,
        startedAt,
        message: `rollback paused ${cause}`,
      },
    };
  }
  if (config.failureAction === pb.UpdateConfig_FailureAction.FAILURE_ACTION_ROLLBACK) {
    if (service.previousSpec) return rollbackService(service, now, `update rolled back ${cause}`);
    return {
      ...service,
      updateStatus: {
        state: U.STATE_PAUSED,
        startedAt,
        message: `update paused ${cause}: no previous spec to roll back to`,
      },
    };
  }
  return {
    ...service,
    updateStatus: { state: U.STATE_PAUSED, startedAt, message: `update paused ${cause}` },
  };
}

function withStatus(
  plan: { actions: OrchestratorAction[]; wakeAt?: Date },
  service: pb.Service,
  status: pb.UpdateStatus | undefined,
): UpdatePlan {
  return status ? { ...plan, service: { ...service, updateStatus: status } } : plan;
}

// Tasks by slot (replicated: slot number, ascending) or node (global: node ID).
function groupSlots(tasks: readonly pb.Task[], isGlobal: boolean): Slot[] {
  const byKey = new Map<string, pb.Task[]>();
  for (const task of tasks) {
    const key = isGlobal ? task.nodeId : String(task.slot);
    const list = byKey.get(key) ?? [];
    list.push(task);
    byKey.set(key, list);
  }
  const keys = [...byKey.keys()].sort((a, b) =>
    isGlobal ? (a < b ? -1 : a > b ? 1 : 0) : Number(a) - Number(b),
  );
  return keys.map((key) => ({ key, tasks: byKey.get(key)! }));
}
