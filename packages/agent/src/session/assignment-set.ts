// The agent's copy of its assignment set (tasks, and the networks they attach to),
// rebuilt from the Assignments stream: a COMPLETE message replaces it, INCREMENTAL ones
// change it. Pure, so the session only
// feeds messages in and reopens the stream when told of a gap.
import { pb } from '@shoal/api';

/**
 * The tasks the manager assigned to this node and the networks those tasks are
 * attached to, as of the last message applied.
 *
 * @example
 * const set = new AssignmentSet();
 * if (set.apply(message) === 'gap') reopenStream();
 * for (const task of set.tasks.values()) reconcile(task);
 */
export class AssignmentSet {
  readonly #tasks = new Map<string, pb.Task>();
  readonly #networks = new Map<string, pb.Network>();
  /** `results_in` of the last message applied; '' before the first COMPLETE. */
  #version = '';

  get version(): string {
    return this.#version;
  }

  get tasks(): ReadonlyMap<string, pb.Task> {
    return this.#tasks;
  }

  get networks(): ReadonlyMap<string, pb.Network> {
    return this.#networks;
  }

  /**
   * Applies `message`. Returns `gap` (changing nothing) for an increment that does not
   * follow the last message applied: the stream lost something, reopen it for a new
   * COMPLETE set.
   */
  apply(message: pb.AssignmentsMessage): 'applied' | 'gap' {
    if (message.type === pb.AssignmentsMessage_Type.TYPE_COMPLETE) {
      this.#tasks.clear();
      this.#networks.clear();
    } else if (this.#version === '' || message.appliesTo !== this.#version) {
      return 'gap';
    }
    for (const change of message.changes) {
      const item = change.assignment?.item;
      if (!item) continue;
      const remove = change.action === pb.AssignmentChange_Action.ACTION_REMOVE;
      if (item.$case === 'task') {
        if (remove) this.#tasks.delete(item.task.id);
        else this.#tasks.set(item.task.id, item.task);
      } else if (remove) {
        this.#networks.delete(item.network.id);
      } else {
        this.#networks.set(item.network.id, item.network);
      }
    }
    this.#version = message.resultsIn;
    return 'applied';
  }
}
