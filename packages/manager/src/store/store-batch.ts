// Building a batch of store changes: a transaction reads the current tables (and its
// own pending writes) and records creates, updates and deletes to propose as one entry.
import { pb } from '@shoal/api';
import type { MemoryStore } from './memory-store.js';
import { entryToWire, type TableEntry, type TableName, type TableObjects } from './tables.js';
import { withTaskStatus } from './task-status.js';

/** A transaction over the store; its changes apply together or not at all. */
export class StoreTx {
  readonly #store: MemoryStore;
  readonly #actions: pb.StoreAction[] = [];
  readonly #pending = new Map<string, TableEntry['object'] | null>();

  constructor(store: MemoryStore) {
    this.#store = store;
  }

  /** The object as this transaction sees it: its own writes first, then the store. */
  get<T extends TableName>(table: T, id: string): TableObjects[T] | undefined {
    const key = `${table}/${id}`;
    if (this.#pending.has(key))
      return (this.#pending.get(key) ?? undefined) as TableObjects[T] | undefined;
    return this.#store.get(table, id);
  }

  list<T extends TableName>(
    table: T,
    filter?: (object: TableObjects[T]) => boolean,
  ): TableObjects[T][] {
    return this.#store.list(table, filter);
  }

  create<T extends TableName>(table: T, object: TableObjects[T]): void {
    this.#record(pb.StoreAction_Kind.KIND_CREATE, { table, object } as TableEntry);
  }

  /** Records an update; `object.meta.version` must be the version it was read at. */
  update<T extends TableName>(table: T, object: TableObjects[T]): void {
    this.#record(pb.StoreAction_Kind.KIND_UPDATE, { table, object } as TableEntry);
  }

  delete<T extends TableName>(table: T, object: TableObjects[T]): void {
    this.#record(pb.StoreAction_Kind.KIND_DELETE, { table, object } as TableEntry);
  }

  /**
   * Records an agent's report for a task of `nodeId`, merged into the task when applied
   * (forward only: see StoreAction.task_status). Reads in this transaction see it. A
   * report that changes nothing here (task gone or rebound, state going back, status
   * unchanged) is not recorded: false.
   */
  updateTaskStatus(taskId: string, nodeId: string, status: pb.TaskStatus): boolean {
    const task = this.get('tasks', taskId);
    const next = task && withTaskStatus(task, nodeId, status);
    if (!next) return false;
    this.#actions.push({
      kind: pb.StoreAction_Kind.KIND_TASK_STATUS,
      object: undefined,
      taskStatus: { taskId, nodeId, status },
    });
    this.#pending.set(`tasks/${taskId}`, next);
    return true;
  }

  /** Whether the transaction recorded anything. */
  get isEmpty(): boolean {
    return this.#actions.length === 0;
  }

  /** The batch to propose. */
  toBatch(proposalId: string): pb.StoreBatch {
    return { actions: [...this.#actions], proposalId };
  }

  #record(kind: pb.StoreAction_Kind, entry: TableEntry): void {
    this.#actions.push({ kind, object: entryToWire(entry) });
    this.#pending.set(
      `${entry.table}/${entry.object.id}`,
      kind === pb.StoreAction_Kind.KIND_DELETE ? null : entry.object,
    );
  }
}
