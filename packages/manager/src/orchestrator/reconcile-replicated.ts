// The replicated orchestrator's pure core: keep `replicas` slots, each with one wanted
// task (Swarm reference §5.1). Scale-up fills the lowest free slot numbers, scale-down
// removes the highest slots, failed tasks restart per the restart policy, tasks leave
// down or drained nodes, and each slot's history stays within the limit.
import { pb } from '@shoal/api';
import type { OrchestratorAction, ReconcileResult } from './orchestrator-action.js';
import { earliest } from './orchestrator-action.js';
import { create, reconcileSlot, type SlotContext, type SlotOutcome } from './reconcile-slot.js';
import { removeTasks } from './remove-tasks.js';
import { DEFAULT_TASK_HISTORY_LIMIT, trimSlotHistory } from './task-history.js';
import { isTaskFinished } from './task-state.js';

/** The observed world of one service. */
export interface ReconcileInput {
  readonly service: pb.Service;
  /** Every task of the service, history included. */
  readonly tasks: readonly pb.Task[];
  readonly nodes: readonly pb.Node[];
  readonly now: Date;
}

/** What a reconcile step needs besides its input. */
export interface ReconcileOptions {
  /** A fresh task ID (the caller's random ID generator). */
  readonly newTaskId: () => string;
  /**
   * Finished tasks kept per slot (the cluster's `--task-history-limit`).
   * @default 5
   */
  readonly taskHistoryLimit?: number;
}

/**
 * One reconcile step of a replicated service.
 *
 * @example
 * const { actions, wakeAt } = reconcileReplicated(
 *   { service, tasks, nodes, now: new Date() },
 *   { newTaskId: () => generateRandomId() },
 * );
 */
export function reconcileReplicated(
  input: ReconcileInput,
  options: ReconcileOptions,
): ReconcileResult {
  const { service } = input;
  const mode = service.spec?.mode;
  // A global service here is a wiring mistake; reading it as 0 replicas would remove all.
  if (mode?.$case !== 'replicated') return { actions: [] };
  const replicas = mode.replicated.replicas;
  const ctx: SlotContext = {
    service,
    nodes: new Map(input.nodes.map((n) => [n.id, n])),
    now: input.now,
    newTaskId: options.newTaskId,
  };

  const slots = new Map<number, pb.Task[]>();
  for (const task of input.tasks) {
    const list = slots.get(task.slot) ?? [];
    list.push(task);
    slots.set(task.slot, list);
  }
  const numbers = [...slots.keys()].sort((a, b) => a - b);
  const outcomes = new Map<number, SlotOutcome>();
  for (const slot of numbers) {
    const place = { slot, nodeId: '', mayCreate: true, moveOffShedding: true };
    outcomes.set(slot, reconcileSlot(slots.get(slot)!, ctx, place));
  }

  const live = numbers.filter((n) => outcomes.get(n)!.status !== 'free');
  // Scale-down removes the highest slots, so that the remaining ones stay numbered 1..N.
  const removed = new Set(
    live.length > replicas ? [...live].sort((a, b) => b - a).slice(0, live.length - replicas) : [],
  );

  const actions: OrchestratorAction[] = [];
  let wakeAt: Date | undefined;
  const limit = Math.max(0, options.taskHistoryLimit ?? DEFAULT_TASK_HISTORY_LIMIT);
  const maxAttempts = service.spec?.task?.restart?.maxAttempts ?? 0;
  for (const slot of numbers) {
    const tasks = slots.get(slot)!;
    if (removed.has(slot)) {
      actions.push(...removeTasks(tasks, 'scaled down'));
      continue;
    }
    const outcome = outcomes.get(slot)!;
    actions.push(...outcome.actions);
    wakeAt = earliest(wakeAt, outcome.wakeAt);
    if (outcome.status === 'free' && isRemovedSlot(tasks)) {
      // A slot removed earlier: its tasks are not history, delete them once finished.
      for (const task of tasks.filter(isTaskFinished))
        actions.push({ type: 'deleteTask', taskId: task.id });
      continue;
    }
    for (const taskId of trimSlotHistory(tasks, { limit, maxAttempts })) {
      actions.push({ type: 'deleteTask', taskId });
    }
  }

  const taken = new Set(live);
  for (let missing = replicas - live.length, next = 1; missing > 0; next += 1) {
    if (taken.has(next)) continue;
    const place = { slot: next, nodeId: '', mayCreate: true, moveOffShedding: true };
    actions.push(create(ctx, place, pb.TaskState.TASK_STATE_RUNNING));
    missing -= 1;
  }
  return { actions, wakeAt };
}

function isRemovedSlot(tasks: readonly pb.Task[]): boolean {
  return tasks.some((t) => t.desiredState === pb.TaskState.TASK_STATE_REMOVE);
}
