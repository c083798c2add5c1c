// Routes store events to the assignments streams of the nodes they concern: a task event
// goes to the node the task is bound to and to the node it was bound to before (so that
// stream sees the task leave); network events and resets go to every stream. One call
// per event whatever the number of agents, inside the store's apply loop.
import type { MemoryStore, WatchRouter } from '../store/memory-store.js';
import type { StoreEvent } from '../store/store-watch.js';

/**
 * The router of the dispatcher's assignments watches, keyed by node ID.
 *
 * @example
 * const router = new TaskNodeRouter();
 * store.watch({ route: { router, key: nodeId } });
 */
export class TaskNodeRouter implements WatchRouter {
  /** The node each task is bound to, as of the last event routed. */
  readonly #nodeOf = new Map<string, string>();

  reset(state: MemoryStore): void {
    this.#nodeOf.clear();
    for (const task of state.list('tasks', (t) => t.nodeId !== '')) {
      this.#nodeOf.set(task.id, task.nodeId);
    }
  }

  keysOf(event: StoreEvent): readonly string[] | 'all' {
    if (event.type === 'reset' || event.table === 'networks') return 'all';
    if (event.table !== 'tasks') return [];
    const id = event.object.id;
    const before = this.#nodeOf.get(id);
    const after = event.type === 'delete' ? '' : event.object.nodeId;
    if (after) this.#nodeOf.set(id, after);
    else this.#nodeOf.delete(id);
    if (before && before !== after) return after ? [before, after] : [before];
    return after ? [after] : [];
  }
}
