// The changes one orchestration pass (or one control call) makes to tasks and services,
// kept in memory until written. Each change is recorded as an edit that is applied
// again to the object read inside the store transaction, so a write retried after a
// StoreConflictError starts from fresh reads and never undoes an agent's report.
import { pb } from '@shoal/api';
import type { OrchestratorAction } from '../orchestrator/orchestrator-action.js';
import { observedState } from '../orchestrator/task-state.js';
import type { StoreTx } from '../store/store-batch.js';

const { TASK_STATE_NEW, TASK_STATE_PENDING, TASK_STATE_ASSIGNED, TASK_STATE_RUNNING } =
  pb.TaskState;

/** Status messages the manager writes while it owns a task's status (before ASSIGNED). */
export const TASK_MESSAGES = {
  pending: 'pending task scheduling',
  assigned: 'scheduler assigned task to node',
} as const;

/**
 * What a pass changes of an existing task. Each part re-checks its precondition on the
 * fresh object: desired states only move forward (READY < RUNNING < SHUTDOWN < REMOVE,
 * as the orchestrators use them), and the manager's status writes apply only while
 * the task has not reached a node.
 */
interface TaskEdit {
  desiredState?: pb.TaskState;
  /** Status message for a task the manager still owns, when its desired state changes. */
  reason?: string;
  /** Move NEW to PENDING (the allocator's step: tasks without networks need nothing). */
  pending?: boolean;
  /** Bind to this node and mark ASSIGNED (the scheduler's decision). */
  assign?: string;
  /** Stay PENDING with this explanation (the scheduler found no node). */
  unschedulable?: string;
}

/** One recorded change, in the order the pass made it. @internal */
export type TaskChange =
  | { readonly kind: 'create'; task: pb.Task }
  | { readonly kind: 'update'; readonly id: string; readonly edit: TaskEdit }
  | { readonly kind: 'delete'; readonly id: string }
  | { readonly kind: 'service'; readonly service: pb.Service };

/**
 * Tasks as a pass sees them (the store's plus its own changes), and the changes to
 * write. Apply the orchestrators' actions with {@link ChangeSet.apply}; write
 * {@link ChangeSet.chunks} with {@link writeChange}, one transaction each.
 *
 * @internal
 */
export class ChangeSet {
  readonly #now: Date;
  /** The working view: every task as it will be once the changes are written. */
  readonly #tasks: Map<string, pb.Task>;
  readonly #changes = new Map<string, TaskChange>();

  /** @param tasks the working view; the set updates it in place as changes are recorded */
  constructor(tasks: Map<string, pb.Task>, now: Date) {
    this.#tasks = tasks;
    this.#now = now;
  }

  /** Whether nothing was changed. */
  get isEmpty(): boolean {
    return this.#changes.size === 0;
  }

  /** Changes recorded, one per object. */
  get size(): number {
    return this.#changes.size;
  }

  /** Records the orchestrators' actions and applies them to the working view. */
  apply(actions: readonly OrchestratorAction[]): void {
    for (const action of actions) {
      switch (action.type) {
        case 'createTask':
          this.#tasks.set(action.task.id, action.task);
          this.#changes.set(action.task.id, { kind: 'create', task: action.task });
          break;
        case 'setDesiredState':
          this.#edit(action.taskId, { desiredState: action.desiredState, reason: action.reason });
          break;
        case 'deleteTask':
          this.#delete(action.taskId);
          break;
      }
    }
  }

  /** Moves a NEW task to PENDING. */
  markPending(taskId: string): void {
    this.#edit(taskId, { pending: true });
  }

  /** Records a placement. */
  assign(taskId: string, nodeId: string): void {
    this.#edit(taskId, { assign: nodeId });
  }

  /** Records why no node fits, when the task does not already say so. */
  unschedulable(taskId: string, reason: string): void {
    const task = this.#tasks.get(taskId);
    if (task?.status?.state === TASK_STATE_PENDING && task.status.err === reason) return;
    this.#edit(taskId, { unschedulable: reason });
  }

  /** Records a service to write; it is written only if still at the version it was read at. */
  setService(service: pb.Service): void {
    this.#changes.set(`service/${service.id}`, { kind: 'service', service });
  }

  /** The changes in groups of at most `size`, for transactions of bounded size. */
  chunks(size: number): TaskChange[][] {
    const all = [...this.#changes.values()];
    const chunks: TaskChange[][] = [];
    for (let i = 0; i < all.length; i += size) chunks.push(all.slice(i, i + size));
    return chunks;
  }

  #edit(taskId: string, edit: TaskEdit): void {
    const current = this.#tasks.get(taskId);
    if (!current) return;
    const next = applyEdit(current, edit, this.#now);
    if (!next) return;
    this.#tasks.set(taskId, next);
    const change = this.#changes.get(taskId);
    if (change?.kind === 'create') {
      change.task = next;
    } else if (change?.kind === 'update') {
      this.#changes.set(taskId, { kind: 'update', id: taskId, edit: { ...change.edit, ...edit } });
    } else {
      this.#changes.set(taskId, { kind: 'update', id: taskId, edit });
    }
  }

  #delete(taskId: string): void {
    if (!this.#tasks.delete(taskId)) return;
    // A task created and deleted in the same pass never reaches the store.
    if (this.#changes.get(taskId)?.kind === 'create') this.#changes.delete(taskId);
    else this.#changes.set(taskId, { kind: 'delete', id: taskId });
  }
}

/** Writes one change against the transaction's fresh reads; skips what no longer applies. @internal */
export function writeChange(tx: StoreTx, change: TaskChange, now: Date): void {
  switch (change.kind) {
    case 'create':
      tx.create('tasks', change.task);
      return;
    case 'update': {
      const fresh = tx.get('tasks', change.id);
      const next = fresh && applyEdit(fresh, change.edit, now);
      if (next) tx.update('tasks', next);
      return;
    }
    case 'delete': {
      const fresh = tx.get('tasks', change.id);
      if (fresh) tx.delete('tasks', fresh);
      return;
    }
    case 'service': {
      const fresh = tx.get('services', change.service.id);
      // Changed since it was read (the user updated it): the next pass decides again.
      if (fresh && fresh.meta?.version === change.service.meta?.version) {
        tx.update('services', change.service);
      }
      return;
    }
  }
}

// The task with `edit` applied, or undefined when nothing would change.
function applyEdit(task: pb.Task, edit: TaskEdit, now: Date): pb.Task | undefined {
  let next = task;
  const owned = () => observedState(next) < TASK_STATE_ASSIGNED;
  if (edit.desiredState !== undefined && edit.desiredState > next.desiredState) {
    next = { ...next, desiredState: edit.desiredState };
    if (edit.reason && owned()) next.status = status(next, observedState(next), edit.reason, now);
  }
  if (edit.pending && observedState(next) === TASK_STATE_NEW) {
    next = { ...next, status: status(next, TASK_STATE_PENDING, TASK_MESSAGES.pending, now) };
  }
  if (
    edit.assign &&
    owned() &&
    next.desiredState <= TASK_STATE_RUNNING &&
    (next.nodeId === '' || next.nodeId === edit.assign)
  ) {
    next = {
      ...next,
      nodeId: edit.assign,
      status: status(next, TASK_STATE_ASSIGNED, TASK_MESSAGES.assigned, now),
    };
  }
  if (edit.unschedulable !== undefined && owned() && next.status?.err !== edit.unschedulable) {
    // Docker shows the explanation in `service ps`'s ERROR column (status.err); the
    // message says the same, for readers of `inspect`.
    next = {
      ...next,
      status: {
        ...status(next, TASK_STATE_PENDING, edit.unschedulable, now),
        err: edit.unschedulable,
      },
    };
  }
  return next === task ? undefined : next;
}

function status(task: pb.Task, state: pb.TaskState, message: string, now: Date): pb.TaskStatus {
  return { ...task.status, timestamp: now, state, message, err: '' };
}
