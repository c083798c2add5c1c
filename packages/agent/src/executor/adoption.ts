// What a restarted agent does with the task containers it finds on its engine: keep
// those of tasks still assigned to it, without restarting them (a restart of shoald must
// not restart the workload), and remove the rest (tasks the manager removed or moved
// while the agent was away). Pure: the executor lists and inspects, this decides.
import { pb } from '@shoal/api';
import type { ContainerInfo } from './container-runtime.js';
import { TASK_LABELS } from './container-spec.js';
import { isTerminal, type Observation, observeContainer } from './task-state.js';

/** What to do with one container found at start. */
export type AdoptionDecision =
  | {
      readonly type: 'adopt';
      readonly taskId: string;
      readonly container: ContainerInfo;
      /** The task's state as the executor now records it. */
      readonly observation: Observation;
      /** Whether the manager's view differs and must hear `observation`. */
      readonly report: boolean;
    }
  | { readonly type: 'remove'; readonly container: ContainerInfo; readonly reason: string };

/** Ranks the containers of one task: the one most alive is kept. */
function liveness(info: ContainerInfo): number {
  if (info.status === 'running' || info.status === 'paused' || info.status === 'restarting') {
    return 2;
  }
  return info.status === 'created' ? 1 : 0;
}

/**
 * Decides, for each container of this node, whether it is adopted by an assigned task or
 * removed. A task has at most one container: should an engine hold two (a create that
 * timed out yet happened), the most alive one is kept.
 *
 * @example
 * planAdoption(await runtime.list({ [TASK_LABELS.NODE_ID]: nodeId }), assignments.tasks);
 */
export function planAdoption(
  containers: readonly ContainerInfo[],
  tasks: ReadonlyMap<string, pb.Task>,
): AdoptionDecision[] {
  const decisions: AdoptionDecision[] = [];
  const byTask = new Map<string, ContainerInfo[]>();
  for (const container of containers) {
    const taskId = container.labels[TASK_LABELS.TASK_ID];
    if (!taskId || !tasks.has(taskId)) {
      decisions.push({ type: 'remove', container, reason: 'task not assigned to this node' });
      continue;
    }
    byTask.set(taskId, [...(byTask.get(taskId) ?? []), container]);
  }
  for (const [taskId, found] of byTask) {
    const [kept, ...others] = [...found].sort((a, b) => liveness(b) - liveness(a));
    for (const container of others) {
      decisions.push({ type: 'remove', container, reason: 'another container runs the task' });
    }
    const task = tasks.get(taskId)!;
    const stopping = task.desiredState >= pb.TaskState.TASK_STATE_SHUTDOWN;
    const known = task.status?.state ?? pb.TaskState.TASK_STATE_NEW;
    const seen = observeContainer(kept!, { stopping });
    // The manager's word on a finished task stands: its container is only cleaned up.
    const observation: Observation = isTerminal(known)
      ? {
          state: known,
          message: task.status!.message,
          err: task.status!.err,
          container: seen.container,
        }
      : seen;
    decisions.push({
      type: 'adopt',
      taskId,
      container: kept!,
      observation,
      report: observation.state !== known,
    });
  }
  return decisions;
}
