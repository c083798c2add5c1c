// What the orchestrators and the updater ask the store to do. They never write
// themselves: the driver turns actions into one store transaction, so a decision and
// the state it was made on stay together.
import type { pb } from '@shoal/api';

/** One change to the tasks table. */
export type OrchestratorAction =
  /** Create a task (state NEW; desired RUNNING, or READY to hold it back). */
  | { readonly type: 'createTask'; readonly task: pb.Task }
  /**
   * Change a task's desired state: RUNNING releases a held task, SHUTDOWN stops one,
   * REMOVE stops one whose slot is gone (scale-down). `reason` suits the task's status
   * message.
   */
  | {
      readonly type: 'setDesiredState';
      readonly taskId: string;
      readonly desiredState: pb.TaskState;
      readonly reason: string;
    }
  /** Delete a finished task beyond the history limit, or of a removed slot. */
  | { readonly type: 'deleteTask'; readonly taskId: string };

/** The outcome of one reconcile step. */
export interface ReconcileResult {
  readonly actions: OrchestratorAction[];
  /**
   * When to run again although nothing changed, e.g. when a restart delay ends;
   * undefined when only a change of state can make a difference.
   */
  readonly wakeAt?: Date;
}

/** The earlier of two optional times. @internal */
export function earliest(a: Date | undefined, b: Date | undefined): Date | undefined {
  if (!a) return b;
  if (!b) return a;
  return a.getTime() <= b.getTime() ? a : b;
}
