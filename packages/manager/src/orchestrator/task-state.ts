// Questions about a task's lifecycle that every orchestrator asks, on Swarm's states
// (numbers spaced by 64 so that order of value is order of lifecycle).
import { pb } from '@shoal/api';

const { TASK_STATE_ASSIGNED, TASK_STATE_RUNNING } = pb.TaskState;

/** The task's observed state (NEW when it has no status yet). */
export function observedState(task: pb.Task): pb.TaskState {
  return task.status?.state ?? pb.TaskState.TASK_STATE_NEW;
}

/**
 * Whether the orchestrator still wants the task to run (desired READY or RUNNING).
 *
 * @example
 * const current = slotTasks.filter(isTaskWanted);
 */
export function isTaskWanted(task: pb.Task): boolean {
  return task.desiredState <= TASK_STATE_RUNNING;
}

/**
 * Whether the task has stopped executing: observed past RUNNING.
 *
 * @example
 * hasTaskEnded(failedTask); // true
 */
export function hasTaskEnded(task: pb.Task): boolean {
  return observedState(task) > TASK_STATE_RUNNING;
}

/**
 * Whether the task is over for good: ended, or stopped before it ever reached a node
 * (still NEW or PENDING but no longer wanted). Only finished tasks are history.
 */
export function isTaskFinished(task: pb.Task): boolean {
  return hasTaskEnded(task) || (!isTaskWanted(task) && observedState(task) < TASK_STATE_ASSIGNED);
}

/** Whether the task ended on its own: complete, failed or rejected (not stopped by us). */
export function endedOnItsOwn(task: pb.Task): boolean {
  const state = observedState(task);
  return (
    state === pb.TaskState.TASK_STATE_COMPLETE ||
    state === pb.TaskState.TASK_STATE_FAILED ||
    state === pb.TaskState.TASK_STATE_REJECTED
  );
}

/** When the task was created (milliseconds); 0 when the store kept no time. */
export function createdMs(task: pb.Task): number {
  return task.meta?.createdAt?.getTime() ?? 0;
}

/** When the task's status last changed (milliseconds); 0 when unknown. */
export function statusMs(task: pb.Task): number {
  return task.status?.timestamp?.getTime() ?? 0;
}

/** Orders tasks oldest first: by creation time, then ID, so the order never depends on input order. */
export function compareTaskAge(a: pb.Task, b: pb.Task): number {
  return createdMs(a) - createdMs(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * The task's name as `docker service ps` shows it: `<service>.<slot>` for replicated
 * tasks, `<service>.<node ID>` for global ones (slot 0).
 *
 * @example
 * taskName({ ...task, serviceAnnotations: { name: 'web', labels: {} }, slot: 2 }); // "web.2"
 */
export function taskName(task: pb.Task): string {
  const service = task.serviceAnnotations?.name ?? task.serviceId;
  return task.slot > 0 ? `${service}.${task.slot}` : `${service}.${task.nodeId}`;
}
