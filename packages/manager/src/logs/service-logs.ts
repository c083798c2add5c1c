// Control.ServiceLogs on any manager: the leader resolves the service or task to the
// tasks and nodes to ask and subscribes to its broker; a follower forwards the call to
// the leader (the dispatcher and so the broker only run there, as in Swarm).
import type * as grpc from '@grpc/grpc-js';
import { fromServiceError, pb, ShoalError } from '@shoal/api';
import { resolveObject } from '../control/resolve.js';
import type { ClusterStore } from '../store/cluster-store.js';
import type { LogBroker, LogTarget } from './log-broker.js';

/** Where a manager reads logs from. */
export interface ServiceLogsOptions {
  readonly store: ClusterStore;
  /** The broker while this manager leads, else undefined. */
  readonly broker: () => LogBroker | undefined;
  /**
   * Forwards the call to the leader when this manager does not lead; without it a
   * follower refuses with UNAVAILABLE.
   */
  readonly forward?: (
    request: pb.ServiceLogsRequest,
    signal: AbortSignal,
  ) => AsyncIterable<pb.LogMessage>;
}

/** Task states whose containers may exist on their node (assigned and after). */
function hasContainer(task: pb.Task): boolean {
  const state = task.status?.state ?? pb.TaskState.TASK_STATE_NEW;
  return task.nodeId !== '' && state >= pb.TaskState.TASK_STATE_ASSIGNED;
}

/**
 * The tasks `request` names and the nodes they are on: one task, or every task of a
 * service that has been given to a node.
 */
export function logTargets(store: ClusterStore, request: pb.ServiceLogsRequest): LogTarget[] {
  const action = 'Read logs';
  const state = store.state;
  if (request.task) {
    const task = resolveObject(state, 'tasks', request.task, action);
    return hasContainer(task) ? [{ taskId: task.id, nodeId: task.nodeId }] : [];
  }
  const service = resolveObject(state, 'services', request.service, action);
  return state
    .list('tasks', (task) => task.serviceId === service.id && hasContainer(task))
    .sort((a, b) => a.slot - b.slot || a.id.localeCompare(b.id))
    .map((task) => ({ taskId: task.id, nodeId: task.nodeId }));
}

/**
 * Reads logs for Control.ServiceLogs.
 *
 * @example
 * const logs = new ServiceLogs({ store, broker: () => (isLeader ? dispatcher.logs : undefined) });
 * for await (const line of logs.read({ service: 'web', follow: false, tail: -1, task: '', timestamps: false }, signal)) …
 */
export class ServiceLogs {
  readonly #o: ServiceLogsOptions;

  constructor(options: ServiceLogsOptions) {
    this.#o = options;
  }

  async *read(request: pb.ServiceLogsRequest, signal: AbortSignal): AsyncIterable<pb.LogMessage> {
    if (!request.service && !request.task) {
      throw new ShoalError(
        'SHOAL_INVALID_ARGUMENT',
        'Read logs: no service or task named: give one',
      );
    }
    const broker = this.#o.broker();
    if (!broker) {
      if (!this.#o.forward) {
        throw new ShoalError(
          'SHOAL_UNAVAILABLE',
          'Read logs: this manager is not the leader: ask the leader',
        );
      }
      yield* this.#o.forward(request, signal);
      return;
    }
    await this.#o.store.barrier();
    const targets = logTargets(this.#o.store, request);
    yield* broker.subscribe({
      targets,
      follow: request.follow,
      tail: request.tail,
      signal,
    });
  }
}

/**
 * A ServiceLogs call on `client` (the leader's Control service) as an async iterable;
 * `signal` cancels the call, and so does leaving the loop.
 */
export async function* forwardServiceLogs(
  client: pb.ControlClient,
  request: pb.ServiceLogsRequest,
  signal: AbortSignal,
): AsyncIterable<pb.LogMessage> {
  const call = client.serviceLogs(request);
  const onAbort = () => call.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const message of call as AsyncIterable<pb.LogMessage>) yield message;
  } catch (error) {
    if (signal.aborted) return;
    throw isServiceError(error) ? fromServiceError(error) : error;
  } finally {
    signal.removeEventListener('abort', onAbort);
    call.cancel();
  }
}

function isServiceError(error: unknown): error is grpc.ServiceError {
  return error instanceof Error && typeof (error as Partial<grpc.ServiceError>).code === 'number';
}
