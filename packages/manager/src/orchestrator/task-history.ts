// Which finished tasks to delete: the task history limit per slot (per node for global
// services), Swarm's task reaper (`--task-history-limit`, default 5).
import type { pb } from '@shoal/api';
import { compareTaskAge, isTaskFinished, isTaskWanted } from './task-state.js';

/** Docker's default task history retention limit. */
export const DEFAULT_TASK_HISTORY_LIMIT = 5;

/**
 * IDs of the oldest finished tasks of one slot beyond `limit` tasks in all. When the
 * restart policy has max-attempts, at least max-attempts + 1 tasks stay, so that the
 * restart count, read from history, cannot forget restarts and loop forever.
 *
 * @example
 * trimSlotHistory(slotTasks, { limit: 5, maxAttempts: 0 }); // ['oldest-failed-task']
 */
export function trimSlotHistory(
  slotTasks: readonly pb.Task[],
  options: { readonly limit: number; readonly maxAttempts: number },
): string[] {
  const keep = Math.max(options.limit, options.maxAttempts > 0 ? options.maxAttempts + 1 : 0);
  let left = slotTasks.length;
  const deleted: string[] = [];
  for (const task of [...slotTasks].sort(compareTaskAge)) {
    if (left <= keep) break;
    // A task still wanted is never history, even if it just ended: this round shuts it
    // down first, and the next may delete it.
    if (isTaskFinished(task) && !isTaskWanted(task)) {
      deleted.push(task.id);
      left -= 1;
    }
  }
  return deleted;
}
