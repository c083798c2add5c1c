// One slot's reconcile step, shared by the replicated orchestrator (slots 1..N) and the
// global one (a slot per node): shut down tasks that ended or whose node is going,
// restart per the restart policy, and release held tasks when their slot is free and
// their restart delay is over (Swarm holds them in READY; reference §5.2).
import { pb } from '@shoal/api';
import { isNodeShedding } from '../scheduler/node-availability.js';
import { newTask } from './new-task.js';
import { earliest, type OrchestratorAction } from './orchestrator-action.js';
import { heldUntilMs, restartDelayMs, shouldRestart } from './restart-policy.js';
import {
  compareTaskAge,
  endedOnItsOwn,
  hasTaskEnded,
  isTaskWanted,
  observedState,
} from './task-state.js';

const { TASK_STATE_ASSIGNED, TASK_STATE_READY, TASK_STATE_RUNNING, TASK_STATE_SHUTDOWN } =
  pb.TaskState;

/** What every slot of a service is reconciled against. */
export interface SlotContext {
  readonly service: pb.Service;
  readonly nodes: ReadonlyMap<string, pb.Node>;
  readonly now: Date;
  readonly newTaskId: () => string;
}

/** Where the slot is and what it may do. */
export interface SlotPlace {
  /** Slot number (replicated) or 0 (global). */
  readonly slot: number;
  /** Node for new tasks: a global slot's node, or '' for the scheduler to choose. */
  readonly nodeId: string;
  /** Whether new tasks may be created (false on a paused node of a global service). */
  readonly mayCreate: boolean;
  /** Whether tasks on a down or drained node are moved (replicated); global drops them instead. */
  readonly moveOffShedding: boolean;
}

/**
 * How a slot stands after the step: `running` when a task is wanted in it, `occupied`
 * when its last task ended and the restart policy says it stays ended (it still counts
 * as a replica, as in Swarm), `free` when it is empty and its number may be reused.
 */
export type SlotStatus = 'running' | 'occupied' | 'free';

/** The outcome of one slot's step. */
export interface SlotOutcome {
  readonly actions: OrchestratorAction[];
  readonly status: SlotStatus;
  readonly wakeAt?: Date;
}

/**
 * Reconciles one slot.
 *
 * @param tasks every task of the slot, history included, in any order
 * @example
 * const { actions, status } = reconcileSlot(slotTasks, { service, nodes, now, newTaskId }, {
 *   slot: 2, nodeId: '', mayCreate: true, moveOffShedding: true,
 * });
 */
export function reconcileSlot(
  tasks: readonly pb.Task[],
  ctx: SlotContext,
  place: SlotPlace,
): SlotOutcome {
  const sorted = [...tasks].sort(compareTaskAge);
  const policy = ctx.service.spec?.task?.restart;
  const actions: OrchestratorAction[] = [];
  const stillWanted: pb.Task[] = [];
  let endedNow: pb.Task | undefined;
  let lostNow = false;
  for (const task of sorted.filter(isTaskWanted)) {
    if (hasTaskEnded(task)) {
      actions.push(shutdown(task, `task ${stateWord(observedState(task))}`));
      if (endedOnItsOwn(task)) endedNow = task;
      else lostNow = true;
    } else if (place.moveOffShedding && task.nodeId && isShedding(ctx, task.nodeId)) {
      actions.push(shutdown(task, nodeReason(ctx.nodes.get(task.nodeId))));
      lostNow = true;
    } else {
      stillWanted.push(task);
    }
  }

  const newest = sorted[sorted.length - 1];
  const ended =
    endedNow ??
    (newest && newest.desiredState === TASK_STATE_SHUTDOWN && endedOnItsOwn(newest)
      ? newest
      : undefined);
  // The slot's newest task ended on its own: restart it per the policy. A task still
  // wanted beside it is older: the old task of a start-first update whose new task
  // failed. It keeps running (the updater stops it once a new task runs) and the slot
  // is restarted beside it, as Swarm's restart supervisor restarts every failed task,
  // held for the delay like any restart; otherwise the updater would be left to make
  // new tasks there with no delay at all.
  if (ended && stillWanted.every((t) => compareTaskAge(t, ended) < 0)) {
    const restart = shouldRestart(policy, ended, sorted, {
      specVersion: ctx.service.specVersion,
      now: ctx.now,
    });
    if (restart && place.mayCreate) {
      const delay = restartDelayMs(policy);
      actions.push(create(ctx, place, delay > 0 ? TASK_STATE_READY : TASK_STATE_RUNNING));
      const wakeAt = delay > 0 ? new Date(ctx.now.getTime() + delay) : undefined;
      return { actions, status: 'running', wakeAt };
    }
    if (stillWanted.length === 0) return { actions, status: restart ? 'free' : 'occupied' };
  }

  if (stillWanted.length > 0) {
    let wakeAt: Date | undefined;
    const blocked = sorted.some((o) => isStopping(o, ctx));
    const held = blocked ? [] : stillWanted.filter((t) => t.desiredState === TASK_STATE_READY);
    for (const task of held) {
      const until = heldUntilMs(task, sorted, policy);
      if (ctx.now.getTime() >= until) {
        actions.push({
          type: 'setDesiredState',
          taskId: task.id,
          desiredState: TASK_STATE_RUNNING,
          reason: 'starting',
        });
      } else {
        wakeAt = earliest(wakeAt, new Date(until));
      }
    }
    return { actions, status: 'running', wakeAt };
  }

  if (lostNow && place.mayCreate) {
    // The task did not fail, its node went away: replace it at once, no attempt counted.
    actions.push(create(ctx, place, TASK_STATE_RUNNING));
    return { actions, status: 'running' };
  }
  return { actions, status: 'free' };
}

/** A new task for the slot. @internal */
export function create(
  ctx: SlotContext,
  place: SlotPlace,
  desiredState: pb.TaskState,
): OrchestratorAction {
  const task = newTask(ctx.service, {
    id: ctx.newTaskId(),
    slot: place.slot,
    nodeId: place.nodeId,
    desiredState,
    now: ctx.now,
  });
  return { type: 'createTask', task };
}

/** Sets a task's desired state to SHUTDOWN. @internal */
export function shutdown(task: pb.Task, reason: string): OrchestratorAction {
  return { type: 'setDesiredState', taskId: task.id, desiredState: TASK_STATE_SHUTDOWN, reason };
}

/** Why tasks leave `node` (undefined: the node left the swarm). @internal */
export function nodeReason(node: pb.Node | undefined): string {
  if (!node) return 'node left the swarm';
  if (node.status?.state === pb.NodeStatus_State.STATE_DOWN) return 'node is down';
  return 'node is drained';
}

function isShedding(ctx: SlotContext, nodeId: string): boolean {
  return isNodeShedding(ctx.nodes.get(nodeId));
}

// Whether a task being stopped may still be executing on a live node, so that a held
// task of the same slot must wait for it (stop-first; no two tasks of a slot run at
// once). A task still wanted does not hold it up: that is a start-first old task,
// meant to run beside its replacement.
function isStopping(task: pb.Task, ctx: SlotContext): boolean {
  const state = observedState(task);
  return (
    !isTaskWanted(task) &&
    state >= TASK_STATE_ASSIGNED &&
    state <= TASK_STATE_RUNNING &&
    !isShedding(ctx, task.nodeId)
  );
}

function stateWord(state: pb.TaskState): string {
  switch (state) {
    case pb.TaskState.TASK_STATE_COMPLETE:
      return 'completed';
    case pb.TaskState.TASK_STATE_FAILED:
      return 'failed';
    case pb.TaskState.TASK_STATE_REJECTED:
      return 'rejected';
    case pb.TaskState.TASK_STATE_ORPHANED:
      return 'orphaned';
    default:
      return 'shut down';
  }
}
