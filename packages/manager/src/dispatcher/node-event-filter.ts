// Which store events one node's assignments stream must see. Every agent has its own
// watch, so the filter runs once per event per agent inside the store's apply loop: it
// must be cheap, and it decides from the events alone, in order, because the stream
// handles the events it lets through later (asynchronously).
import type { MemoryStore } from '../store/memory-store.js';
import type { EventFilter, StoreEvent } from '../store/store-watch.js';

/**
 * A watch filter for the assignments of `nodeId`: task events of tasks bound to the
 * node, or bound to it in the last event let through (so the stream sees a task leave),
 * every network event (networks change rarely) and resets.
 *
 * @example
 * const filter = new NodeEventFilter('n1', store.state); // as of the version watched from
 * store.watch({ fromVersion: store.state.version, filter: filter.accept });
 */
export class NodeEventFilter {
  readonly #nodeId: string;
  /** Tasks bound to the node as of the last event this filter let through for them. */
  readonly #bound = new Set<string>();

  constructor(nodeId: string, state: MemoryStore) {
    this.#nodeId = nodeId;
    for (const task of state.list('tasks', (t) => t.nodeId === nodeId)) this.#bound.add(task.id);
  }

  /** The filter to pass to `watch`. */
  readonly accept: EventFilter = (event: StoreEvent) => {
    if (event.type === 'reset') return true;
    if (event.table === 'networks') return true;
    if (event.table !== 'tasks') return false;
    const id = event.object.id;
    const bound = event.type !== 'delete' && event.object.nodeId === this.#nodeId;
    const was = this.#bound.has(id);
    if (bound) this.#bound.add(id);
    else if (was) this.#bound.delete(id);
    return bound || was;
  };
}
