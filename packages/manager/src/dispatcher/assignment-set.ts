// Which tasks and networks belong in a node's assignment set, and how a store change
// moves the set. Pure, so the stream that sends them (assignments-stream.ts) only
// batches and writes.
import { pb } from '@shoal/api';
import type { MemoryStore } from '../store/memory-store.js';
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

/** A change to send, keyed so that later changes of the same object replace it. */
export interface KeyedChange {
  /** `task/<id>` or `network/<id>`. */
  readonly key: string;
  readonly change: pb.AssignmentChange;
}

/**
 * What one agent holds: its tasks, and the networks those tasks are attached to (the
 * agent needs their VNI and subnets to wire the overlay). A network is sent when the
 * first held task references it and removed when the last one goes.
 *
 * @example
 * const set = new NodeAssignments('n1');
 * const first = set.complete(store.state); // COMPLETE message changes
 * const next = set.onEvent(event);           // INCREMENTAL changes, maybe none
 */
export class NodeAssignments {
  readonly #nodeId: string;
  /** Held task ID → the network IDs it is attached to. */
  readonly #tasks = new Map<string, readonly string[]>();
  /** Held network ID → how many held tasks reference it. */
  readonly #networks = new Map<string, number>();

  constructor(nodeId: string) {
    this.#nodeId = nodeId;
  }

  /** Forgets what was held and returns the whole set as of `state`, as UPDATE changes. */
  complete(state: MemoryStore): pb.AssignmentChange[] {
    this.#tasks.clear();
    this.#networks.clear();
    const tasks = state.list('tasks', (task) => isAssignedTo(task, this.#nodeId));
    const changes: pb.AssignmentChange[] = [];
    for (const task of tasks) {
      changes.push(taskChange(task, pb.AssignmentChange_Action.ACTION_UPDATE));
      for (const networkId of this.#hold(task)) {
        const network = state.get('networks', networkId);
        if (network) changes.push(networkChange(network, pb.AssignmentChange_Action.ACTION_UPDATE));
      }
    }
    return changes;
  }

  /**
   * The changes a store event makes to the set. `state` is read for networks a task
   * starts to reference (the event carries only the task).
   */
  onEvent(event: StoreEvent, state: MemoryStore): KeyedChange[] {
    if (event.type === 'reset') return [];
    if (event.table === 'networks') {
      if (!this.#networks.has(event.object.id)) return [];
      // A held network deleted while tasks still reference it: the agent drops it.
      const action =
        event.type === 'delete'
          ? pb.AssignmentChange_Action.ACTION_REMOVE
          : pb.AssignmentChange_Action.ACTION_UPDATE;
      if (event.type === 'delete') this.#networks.delete(event.object.id);
      return [{ key: `network/${event.object.id}`, change: networkChange(event.object, action) }];
    }
    if (event.table !== 'tasks') return [];
    const task = event.object;
    const out: KeyedChange[] = [];
    const released = this.#release(task.id);
    /** Networks the held version referenced that the new version may no longer. */
    const before = new Set(released ?? []);
    if (event.type !== 'delete' && isAssignedTo(task, this.#nodeId)) {
      out.push({
        key: `task/${task.id}`,
        change: taskChange(task, pb.AssignmentChange_Action.ACTION_UPDATE),
      });
      for (const networkId of this.#hold(task)) {
        // Already sent: this task referenced it before, or another held task does.
        if (before.delete(networkId) || (this.#networks.get(networkId) ?? 0) > 1) continue;
        const network = state.get('networks', networkId);
        if (network) {
          out.push({
            key: `network/${networkId}`,
            change: networkChange(network, pb.AssignmentChange_Action.ACTION_UPDATE),
          });
        }
      }
    } else if (released) {
      out.push({
        key: `task/${task.id}`,
        change: taskChange(task, pb.AssignmentChange_Action.ACTION_REMOVE),
      });
    }
    for (const networkId of before) {
      if (this.#networks.has(networkId)) continue;
      out.push({
        key: `network/${networkId}`,
        change: networkChange(
          pb.Network.fromPartial({ id: networkId }),
          pb.AssignmentChange_Action.ACTION_REMOVE,
        ),
      });
    }
    return out;
  }

  /** Records `task` as held; returns its network IDs. */
  #hold(task: pb.Task): string[] {
    const networks = [...new Set(task.networks.map((n) => n.networkId).filter(Boolean))];
    this.#tasks.set(task.id, networks);
    for (const id of networks) this.#networks.set(id, (this.#networks.get(id) ?? 0) + 1);
    return networks;
  }

  /** Forgets `taskId` and its network references; returns its networks if it was held. */
  #release(taskId: string): readonly string[] | undefined {
    const networks = this.#tasks.get(taskId);
    if (!networks) return undefined;
    this.#tasks.delete(taskId);
    for (const id of networks) {
      const count = (this.#networks.get(id) ?? 0) - 1;
      if (count > 0) this.#networks.set(id, count);
      else this.#networks.delete(id);
    }
    return networks;
  }
}

function taskChange(task: pb.Task, action: pb.AssignmentChange_Action): pb.AssignmentChange {
  return { assignment: { item: { $case: 'task', task } }, action };
}

function networkChange(
  network: pb.Network,
  action: pb.AssignmentChange_Action,
): pb.AssignmentChange {
  return { assignment: { item: { $case: 'network', network } }, action };
}
