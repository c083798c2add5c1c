// Which tasks belong in a node's assignment set, and how a store change moves the set.
// Pure, so the stream that sends them (assignments-stream.ts) only batches and writes.
import { pb } from '@shoal/api';
import type { StoreEvent } from '../store/store-watch.js';

/**
 * Whether the agent of `nodeId` should hold `task`: bound to the node by the scheduler
 * (state ASSIGNED or later). Tasks stay in the set through their terminal states, so
 * the agent sees a desired state of SHUTDOWN or REMOVE and stops the container; they
 * leave it when the task object is deleted (the task reaper) or bound elsewhere. As in
 * Swarm, tasks below ASSIGNED are not sent: they may not fit the node yet.
 */
export function isAssignedTo(task: pb.Task, nodeId: string): boolean {
  return (
    task.nodeId === nodeId &&
    (task.status?.state ?? pb.TaskState.TASK_STATE_NEW) >= pb.TaskState.TASK_STATE_ASSIGNED
  );
}

/**
 * The change a store event makes to the assignment set of `nodeId`, given the task IDs
 * the agent already holds (`held`, updated in place), or undefined when the event does
 * not concern the node.
 */
export function assignmentChangeOf(
  event: StoreEvent,
  nodeId: string,
  held: Set<string>,
): pb.AssignmentChange | undefined {
  if (event.type === 'reset' || event.table !== 'tasks') return undefined;
  const task = event.object;
  if (event.type !== 'delete' && isAssignedTo(task, nodeId)) {
    held.add(task.id);
    return update(task);
  }
  if (!held.delete(task.id)) return undefined;
  return {
    assignment: { item: { $case: 'task', task } },
    action: pb.AssignmentChange_Action.ACTION_REMOVE,
  };
}

/** An UPDATE change carrying `task`. */
export function update(task: pb.Task): pb.AssignmentChange {
  return {
    assignment: { item: { $case: 'task', task } },
    action: pb.AssignmentChange_Action.ACTION_UPDATE,
  };
}
