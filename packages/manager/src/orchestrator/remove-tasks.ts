// Taking tasks away for good: a scaled-down slot, or every task of a deleted service.
import { pb } from '@shoal/api';
import type { OrchestratorAction } from './orchestrator-action.js';
import { isTaskFinished } from './task-state.js';

/**
 * Actions that take `tasks` away: those still executing or wanted get desired state
 * REMOVE (Swarm's marker that nothing replaces them; the agent stops them), those
 * already finished are deleted. Run again as they stop, it deletes them too.
 *
 * @example
 * // `service rm`: after deleting the service object
 * apply(removeTasks(tasksOfService, 'service removed'));
 */
export function removeTasks(tasks: readonly pb.Task[], reason: string): OrchestratorAction[] {
  const actions: OrchestratorAction[] = [];
  for (const task of tasks) {
    if (isTaskFinished(task) && task.desiredState > pb.TaskState.TASK_STATE_RUNNING) {
      actions.push({ type: 'deleteTask', taskId: task.id });
    } else if (task.desiredState < pb.TaskState.TASK_STATE_REMOVE) {
      actions.push({
        type: 'setDesiredState',
        taskId: task.id,
        desiredState: pb.TaskState.TASK_STATE_REMOVE,
        reason,
      });
    }
  }
  return actions;
}
