// A task as the orchestrators create it: the service's current task spec and version,
// state NEW (the allocator moves it to PENDING, the scheduler to ASSIGNED).
import { pb } from '@shoal/api';

/** Where and how the new task starts. */
export interface NewTaskOptions {
  readonly id: string;
  /** Slot number of a replicated task; 0 for a global one. */
  readonly slot: number;
  /** The node of a global task; '' for the scheduler to choose. */
  readonly nodeId: string;
  /** RUNNING, or READY to hold the task back until a delay ends or its slot is free. */
  readonly desiredState: pb.TaskState;
  readonly now: Date;
}

/**
 * A new task of `service`.
 *
 * @example
 * newTask(service, { id, slot: 3, nodeId: '', desiredState: pb.TaskState.TASK_STATE_RUNNING, now });
 */
export function newTask(service: pb.Service, options: NewTaskOptions): pb.Task {
  const task: pb.Task = {
    id: options.id,
    meta: { version: 0, createdAt: options.now, updatedAt: options.now },
    spec: service.spec?.task,
    specVersion: service.specVersion,
    serviceId: service.id,
    slot: options.slot,
    nodeId: options.nodeId,
    serviceAnnotations: service.spec?.annotations,
    status: {
      timestamp: options.now,
      state: pb.TaskState.TASK_STATE_NEW,
      message: 'created',
      err: '',
    },
    desiredState: options.desiredState,
    networks: [],
  };
  // Ports travel with the task: the scheduler's host-port filter reads them.
  if (service.endpoint) task.endpoint = service.endpoint;
  return task;
}
