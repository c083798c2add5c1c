// Builders of nodes and tasks for the scheduler's and orchestrators' table tests.
import { pb } from '@shoal/api';

/** What a test node may set; everything else is a ready, active worker. */
export interface TestNode {
  readonly id: string;
  readonly hostname?: string;
  readonly role?: 'manager' | 'worker';
  readonly state?: pb.NodeStatus_State;
  readonly availability?: pb.NodeAvailability;
  readonly labels?: Record<string, string>;
  readonly engineLabels?: Record<string, string>;
  /** Capacity; absent means plenty (64 CPUs, 256 GiB). */
  readonly nanoCpus?: number;
  readonly memoryBytes?: number;
}

/** A node for tests. @internal */
export function testNode(n: TestNode): pb.Node {
  return {
    id: n.id,
    role: n.role === 'manager' ? pb.NodeRole.NODE_ROLE_MANAGER : pb.NodeRole.NODE_ROLE_WORKER,
    spec: {
      annotations: { name: '', labels: { ...n.labels } },
      desiredRole: pb.NodeRole.NODE_ROLE_WORKER,
      availability: n.availability ?? pb.NodeAvailability.NODE_AVAILABILITY_ACTIVE,
    },
    description: {
      hostname: n.hostname ?? n.id,
      os: 'linux',
      arch: 'x86_64',
      resources: { nanoCpus: n.nanoCpus ?? 64e9, memoryBytes: n.memoryBytes ?? 256 * 2 ** 30 },
      engine: { engineVersion: '', labels: { ...n.engineLabels } },
    },
    status: { state: n.state ?? pb.NodeStatus_State.STATE_READY, message: '', addr: '' },
  };
}

/** What a test task may set. */
export interface TestTask {
  readonly id: string;
  readonly serviceId?: string;
  readonly slot?: number;
  readonly nodeId?: string;
  readonly state?: pb.TaskState;
  readonly desired?: pb.TaskState;
  readonly spec?: pb.TaskSpec;
  readonly specVersion?: number;
  /** Creation time, milliseconds since the epoch. */
  readonly createdMs?: number;
  /** Time of the last status change, milliseconds since the epoch. */
  readonly statusMs?: number;
}

/** A task for tests. @internal */
export function testTask(t: TestTask): pb.Task {
  return {
    id: t.id,
    meta: { version: 1, createdAt: new Date(t.createdMs ?? 0) },
    spec: t.spec ?? { networks: [], forceUpdate: 0 },
    specVersion: t.specVersion ?? 1,
    serviceId: t.serviceId ?? 'svc',
    slot: t.slot ?? 0,
    nodeId: t.nodeId ?? '',
    status: {
      state: t.state ?? pb.TaskState.TASK_STATE_RUNNING,
      message: '',
      err: '',
      timestamp: new Date(t.statusMs ?? t.createdMs ?? 0),
    },
    desiredState: t.desired ?? pb.TaskState.TASK_STATE_RUNNING,
    networks: [],
  };
}
