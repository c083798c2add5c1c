// What a container's state means for its task, as SwarmKit's agent words it: a created
// container is READY, a running one RUNNING (or still STARTING while its health check
// has not passed), an exit 0 COMPLETE and any other exit FAILED with
// "task: non-zero exit (N)". Docker's events only say that something changed; the
// executor inspects the container and maps what it reads here.
import { pb } from '@shoal/api';
import type { ContainerInfo, RuntimeEvent } from './container-runtime.js';

const S = pb.TaskState;

/** A task status as the executor reports it (without its timestamp). */
export interface Observation {
  readonly state: pb.TaskState;
  readonly message: string;
  /** The failure, '' unless FAILED or REJECTED. */
  readonly err: string;
  readonly container?: pb.ContainerStatus;
}

/** SwarmKit's word for a container whose health check failed. */
export const UNHEALTHY_ERR = 'unhealthy container';

/** Whether a task in `state` is done: its container will not run again. */
export function isTerminal(state: pb.TaskState): boolean {
  return state >= S.TASK_STATE_COMPLETE;
}

/**
 * The rejection of a task whose image the engine does not hold, in Docker's words.
 *
 * @example
 * missingImage('nginx:1'); // { state: REJECTED, err: 'No such image: nginx:1', … }
 */
export function missingImage(image: string): Observation {
  return { state: S.TASK_STATE_REJECTED, message: 'preparing', err: `No such image: ${image}` };
}

/** How a task failed when the engine refused one of the executor's calls. */
export function failedCall(action: string, error: unknown): Observation {
  const detail = error instanceof Error ? error.message : String(error);
  return { state: S.TASK_STATE_FAILED, message: action, err: `task: ${action}: ${detail}` };
}

function exitErr(info: ContainerInfo): string {
  const parts = [`task: non-zero exit (${info.exitCode})`];
  if (info.oomKilled) parts.push('OOM killed');
  if (info.error) parts.push(info.error);
  return parts.join(': ');
}

/**
 * The task state a container's inspect result shows. `stopping`: the executor stopped
 * the container on purpose (desired state SHUTDOWN or later), so an exit is SHUTDOWN
 * whatever its code.
 *
 * @example
 * observeContainer(info, { stopping: false }); // RUNNING for a running container without health check
 */
export function observeContainer(
  info: ContainerInfo,
  options: { readonly stopping: boolean },
): Observation {
  const container: pb.ContainerStatus = {
    containerId: info.id,
    pid: info.pid,
    exitCode: info.exitCode,
  };
  switch (info.status) {
    case 'created':
      return { state: S.TASK_STATE_READY, message: 'created', err: '', container };
    case 'running':
    case 'paused':
    case 'restarting':
      // A task counts as running only once its health check passes (if it has one).
      if (info.health === 'starting') {
        return { state: S.TASK_STATE_STARTING, message: 'starting', err: '', container };
      }
      if (info.health === 'unhealthy') {
        return { state: S.TASK_STATE_FAILED, message: 'started', err: UNHEALTHY_ERR, container };
      }
      return { state: S.TASK_STATE_RUNNING, message: 'started', err: '', container };
    default:
      if (options.stopping) {
        return { state: S.TASK_STATE_SHUTDOWN, message: 'shutdown', err: '', container };
      }
      if (info.health === 'unhealthy') {
        return { state: S.TASK_STATE_FAILED, message: 'started', err: UNHEALTHY_ERR, container };
      }
      if (info.exitCode === 0 && !info.oomKilled && !info.error) {
        return { state: S.TASK_STATE_COMPLETE, message: 'finished', err: '', container };
      }
      return { state: S.TASK_STATE_FAILED, message: 'started', err: exitErr(info), container };
  }
}

/**
 * Whether an event may change its task's state (and so is worth an inspect). `start` is
 * the executor's own doing and `destroy` follows a removal it made or a `docker rm -f`,
 * whose `die` came first.
 */
export function isStateEvent(event: RuntimeEvent): boolean {
  return event.type === 'die' || event.type === 'oom' || event.type === 'health';
}
