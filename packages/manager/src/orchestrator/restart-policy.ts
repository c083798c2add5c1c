// The restart policy (Swarm reference §5.2): condition any, on-failure or none; a delay
// before each restart; at most max-attempts restarts, counted per slot (per node for
// global services) among tasks of the current spec version, and only inside the
// window when one is set.
//
// Swarm keeps its restart counts in the leader's memory, so they reset on failover.
// These are read from the slot's task history instead, which survives failover: a task
// is a restart when the task before it in its slot ended on its own (complete, failed,
// rejected). The history keeps enough tasks for the count (task-history.ts).
import { durationToMs, pb, SERVICE_DEFAULTS } from '@shoal/api';
import { compareTaskAge, createdMs, endedOnItsOwn, observedState } from './task-state.js';

/**
 * The restart delay in milliseconds: the policy's, or Docker's 5 s when unset.
 *
 * @example
 * restartDelayMs(undefined); // 5000
 */
export function restartDelayMs(policy: pb.RestartPolicy | undefined): number {
  return policy?.delay ? durationToMs(policy.delay) : SERVICE_DEFAULTS.restartDelayMs;
}

/**
 * Whether `task` was created to restart its slot: the task before it ended on its own.
 *
 * @param slotTasks every task of the slot, in any order
 * @example
 * isRestart(task, slotTasks); // true when the task before it failed
 */
export function isRestart(task: pb.Task, slotTasks: readonly pb.Task[]): boolean {
  const before = [...slotTasks]
    .filter((t) => t.id !== task.id && compareTaskAge(t, task) < 0)
    .sort(compareTaskAge);
  const previous = before[before.length - 1];
  return previous !== undefined && endedOnItsOwn(previous);
}

/** What counting restarts needs besides the slot. */
export interface RestartCountOptions {
  /** The service's spec version: only its tasks count (a new spec resets the count). */
  readonly specVersion: number;
  readonly now: Date;
}

/**
 * How many restarts of the slot count against max-attempts now: restarts of the
 * current spec version, created inside the window when the policy has one.
 */
export function countRestarts(
  policy: pb.RestartPolicy | undefined,
  slotTasks: readonly pb.Task[],
  options: RestartCountOptions,
): number {
  const windowMs = durationToMs(policy?.window);
  const since = windowMs > 0 ? options.now.getTime() - windowMs : Number.NEGATIVE_INFINITY;
  return slotTasks.filter(
    (t) => t.specVersion === options.specVersion && createdMs(t) > since && isRestart(t, slotTasks),
  ).length;
}

/**
 * Whether a slot whose task `ended` on its own should get a new task now.
 *
 * @example
 * shouldRestart(spec.task.restart, failedTask, slotTasks, { specVersion: 3, now });
 */
export function shouldRestart(
  policy: pb.RestartPolicy | undefined,
  ended: pb.Task,
  slotTasks: readonly pb.Task[],
  options: RestartCountOptions,
): boolean {
  const condition = policy?.condition ?? pb.RestartPolicy_Condition.CONDITION_ANY;
  if (condition === pb.RestartPolicy_Condition.CONDITION_NONE) return false;
  if (
    condition === pb.RestartPolicy_Condition.CONDITION_ON_FAILURE &&
    observedState(ended) === pb.TaskState.TASK_STATE_COMPLETE
  ) {
    return false;
  }
  const max = policy?.maxAttempts ?? 0;
  return max === 0 || countRestarts(policy, slotTasks, options) < max;
}

/**
 * Until when (milliseconds) a held task waits before it may run: its creation plus the
 * restart delay when it is a restart, so a crashing task never restarts in a tight
 * loop; its creation otherwise.
 */
export function heldUntilMs(
  task: pb.Task,
  slotTasks: readonly pb.Task[],
  policy: pb.RestartPolicy | undefined,
): number {
  return createdMs(task) + (isRestart(task, slotTasks) ? restartDelayMs(policy) : 0);
}
