// The seam between the log publisher and the container engine (STYLE 27): the lines
// of one task's container, found by its task label.
import type { LogLine } from './docker-log-frames.js';

/** What {@link TaskLogSource.read} reads. */
export interface TaskLogReadOptions {
  /** Keep reading new lines until `signal` aborts. */
  readonly follow: boolean;
  /** Lines from the end; negative means all. */
  readonly tail: number;
  readonly signal: AbortSignal;
}

/** Where a node reads its tasks' output. */
export interface TaskLogSource {
  /**
   * The lines of `taskId`'s container, in batches as they arrive (one engine read,
   * so a long tail costs few messages); ends at the end of the log (without follow),
   * when the container is gone, or when `signal` aborts. Rejects when the node has no
   * container for the task.
   */
  read(taskId: string, options: TaskLogReadOptions): AsyncIterable<readonly LogLine[]>;
}
