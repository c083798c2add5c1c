// The global orchestrator's pure core: one task per eligible node (Swarm reference
// §5.1). It follows nodes as they join, leave, drain, go down, pause and change labels:
// a ready, active node that satisfies the constraints gets a task (with its node preset,
// the scheduler only checks it); a node that is down, drained, gone or no longer
// satisfies the constraints loses its task; a paused node keeps its task but gets no
// new one. Failed tasks restart on their node per the restart policy.
import { type Constraint, parseConstraint, pb } from '@shoal/api';
import { matchConstraints } from '../scheduler/constraint-match.js';
import { isNodeAcceptingTasks, isNodeShedding } from '../scheduler/node-availability.js';
import { earliest, type OrchestratorAction, type ReconcileResult } from './orchestrator-action.js';
import type { ReconcileInput, ReconcileOptions } from './reconcile-replicated.js';
import { create, nodeReason, reconcileSlot, type SlotContext, shutdown } from './reconcile-slot.js';
import { DEFAULT_TASK_HISTORY_LIMIT, trimSlotHistory } from './task-history.js';
import { isTaskFinished, isTaskWanted } from './task-state.js';

/**
 * One reconcile step of a global service.
 *
 * @example
 * const { actions, wakeAt } = reconcileGlobal({ service, tasks, nodes, now }, { newTaskId });
 */
export function reconcileGlobal(input: ReconcileInput, options: ReconcileOptions): ReconcileResult {
  const { service } = input;
  if (service.spec?.mode?.$case !== 'global') return { actions: [] };
  const nodes = new Map(input.nodes.map((n) => [n.id, n]));
  const ctx: SlotContext = { service, nodes, now: input.now, newTaskId: options.newTaskId };
  const constraints = parseConstraints(service);
  const fits = (node: pb.Node | undefined): node is pb.Node =>
    node !== undefined && constraints !== undefined && matchConstraints(node, constraints);

  const byNode = new Map<string, pb.Task[]>();
  for (const task of input.tasks) {
    if (!task.nodeId) continue;
    const list = byNode.get(task.nodeId) ?? [];
    list.push(task);
    byNode.set(task.nodeId, list);
  }
  const ids = [...new Set([...nodes.keys(), ...byNode.keys()])].sort();

  const actions: OrchestratorAction[] = [];
  let wakeAt: Date | undefined;
  const limit = Math.max(0, options.taskHistoryLimit ?? DEFAULT_TASK_HISTORY_LIMIT);
  const maxAttempts = service.spec?.task?.restart?.maxAttempts ?? 0;
  for (const id of ids) {
    const node = nodes.get(id);
    const tasks = byNode.get(id) ?? [];
    const mayCreate = fits(node) && isNodeAcceptingTasks(node);
    if (!fits(node) || isNodeShedding(node)) {
      const reason =
        node && !isNodeShedding(node)
          ? 'node no longer satisfies the constraints'
          : nodeReason(node);
      for (const task of tasks.filter(isTaskWanted)) actions.push(shutdown(task, reason));
      if (!node) {
        // The node left the swarm: its tasks are nobody's history once they have stopped.
        for (const task of tasks) {
          if (isTaskFinished(task) && !isTaskWanted(task))
            actions.push({ type: 'deleteTask', taskId: task.id });
        }
        continue;
      }
    } else {
      const place = { slot: 0, nodeId: id, mayCreate, moveOffShedding: false };
      const outcome = reconcileSlot(tasks, ctx, place);
      actions.push(...outcome.actions);
      wakeAt = earliest(wakeAt, outcome.wakeAt);
      if (outcome.status === 'free' && mayCreate) {
        actions.push(create(ctx, place, pb.TaskState.TASK_STATE_RUNNING));
      }
    }
    for (const taskId of trimSlotHistory(tasks, { limit, maxAttempts })) {
      actions.push({ type: 'deleteTask', taskId });
    }
  }
  return { actions, wakeAt };
}

// The service's constraints; undefined (no node fits) if one cannot be parsed, which
// validateServiceSpec prevents for specs that went through the control API.
function parseConstraints(service: pb.Service): Constraint[] | undefined {
  try {
    return (service.spec?.task?.placement?.constraints ?? []).map(parseConstraint);
  } catch {
    return undefined;
  }
}
