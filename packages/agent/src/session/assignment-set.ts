// The agent's copy of its assignment set, rebuilt from the Assignments stream: a
// COMPLETE message replaces it, INCREMENTAL ones change it. Pure, so the session only
// feeds messages in and reopens the stream when told of a gap.
import { pb } from '@shoal/api';

/**
 * The tasks the manager assigned to this node, as of the last message applied.
 *
 * @example
 * const set = new AssignmentSet();
 * if (set.apply(message) === 'gap') reopenStream();
 * for (const task of set.tasks.values()) reconcile(task);
 */
export class AssignmentSet {
  readonly #tasks = new Map<string, pb.Task>();
  /** `results_in` of the last message applied; '' before the first COMPLETE. */
  #version = '';

  get version(): string {
    return this.#version;
  }

  get tasks(): ReadonlyMap<string, pb.Task> {
    return this.#tasks;
  }

  /**
   * Applies `message`. Returns `gap` (changing nothing) for an increment that does not
   * follow the last message applied: the stream lost something, reopen it for a new
   * COMPLETE set.
   */
  apply(message: pb.AssignmentsMessage): 'applied' | 'gap' {
    if (message.type === pb.AssignmentsMessage_Type.TYPE_COMPLETE) {
      this.#tasks.clear();
    } else if (this.#version === '' || message.appliesTo !== this.#version) {
      return 'gap';
    }
    for (const change of message.changes) {
      const item = change.assignment?.item;
      // Networks are not sent yet (see the manager README, "Not done yet"): tasks only.
      if (item?.$case !== 'task') continue;
      if (change.action === pb.AssignmentChange_Action.ACTION_REMOVE) {
        this.#tasks.delete(item.task.id);
      } else {
        this.#tasks.set(item.task.id, item.task);
      }
    }
    this.#version = message.resultsIn;
    return 'applied';
  }
}
