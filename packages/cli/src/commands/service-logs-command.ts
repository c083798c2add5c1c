// `shoal service logs [-f] [--tail N] [--timestamps] [--no-task-ids] [--no-trunc] SERVICE|TASK`:
// the tasks' output, streamed from the nodes through the leader's log broker (see
// packages/manager/README.md "Logs"), prefixed with the task's name as Docker does.
import { type pb, ShoalError } from '@shoal/api';
import { Command, InvalidArgumentError } from 'commander';
import { type CliIo, type LocalApiClient, withDaemon } from '../client/cli-context.js';
import { formatLogLine, type LogTaskContext, logContextName } from './service-logs-format.js';

interface LogsFlags {
  follow?: boolean;
  tail: number;
  timestamps?: boolean;
  taskIds: boolean;
  trunc: boolean;
}

/** `--tail`: a count of lines, or `all` (Docker's default). */
export function parseTail(value: string): number {
  if (value === 'all') return -1;
  if (!/^\d+$/.test(value)) {
    throw new InvalidArgumentError(
      `Read logs: --tail must be a number of lines or "all": got "${value}"`,
    );
  }
  return Number(value);
}

/** Names of tasks as the prefix shows them, read from the daemon once each. */
class LogContexts {
  readonly #client: LocalApiClient;
  readonly #tasks = new Map<string, Promise<LogTaskContext>>();
  readonly #nodes = new Map<string, Promise<string>>();
  readonly #services = new Map<string, string>();

  constructor(client: LocalApiClient) {
    this.#client = client;
  }

  /** Knows `tasks` already (a service's tasks, read up front to align the prefixes). */
  prime(tasks: readonly pb.Task[], serviceName: string): void {
    for (const task of tasks) {
      this.#services.set(task.serviceId, serviceName);
      this.#tasks.set(task.id, this.#fromTask(task));
    }
  }

  of(taskId: string, nodeId: string): Promise<LogTaskContext> {
    let found = this.#tasks.get(taskId);
    if (!found) {
      found = this.#client.control.getTask({ taskId }).then(
        ({ task }) => (task ? this.#fromTask(task) : this.#unknown(taskId, nodeId)),
        () => this.#unknown(taskId, nodeId),
      );
      this.#tasks.set(taskId, found);
    }
    return found;
  }

  async #fromTask(task: pb.Task): Promise<LogTaskContext> {
    const serviceName =
      task.serviceAnnotations?.name || this.#services.get(task.serviceId) || task.serviceId;
    return {
      serviceName,
      slot: task.slot,
      taskId: task.id,
      nodeId: task.nodeId,
      nodeName: await this.#nodeName(task.nodeId),
    };
  }

  async #unknown(taskId: string, nodeId: string): Promise<LogTaskContext> {
    return { serviceName: '?', slot: 0, taskId, nodeId, nodeName: await this.#nodeName(nodeId) };
  }

  #nodeName(nodeId: string): Promise<string> {
    let found = this.#nodes.get(nodeId);
    if (!found) {
      found = this.#client.control.getNode({ nodeId }).then(
        ({ node }) => node?.description?.hostname || nodeId,
        () => nodeId,
      );
      this.#nodes.set(nodeId, found);
    }
    return found;
  }
}

/** Which service or task `reference` names: a service first, as Docker tries. */
async function resolveTarget(
  client: LocalApiClient,
  reference: string,
): Promise<{
  request: Pick<pb.ServiceLogsRequest, 'service' | 'task'>;
  tasks: pb.Task[];
  name: string;
}> {
  try {
    const { service } = await client.control.getService({ serviceId: reference });
    if (service) {
      const { tasks } = await client.control.listTasks({
        filters: { serviceIds: [service.id], nodeIds: [], desiredStates: [], idPrefixes: [] },
      });
      const name = service.spec?.annotations?.name ?? service.id;
      return { request: { service: service.id, task: '' }, tasks, name };
    }
  } catch (error) {
    if (!(error instanceof ShoalError) || error.code !== 'SHOAL_NOT_FOUND') throw error;
  }
  const { task } = await client.control.getTask({ taskId: reference });
  if (!task) throw new ShoalError('SHOAL_NOT_FOUND', `No such service or task: "${reference}"`);
  return {
    request: { service: '', task: task.id },
    tasks: [task],
    name: task.serviceAnnotations?.name ?? '',
  };
}

/**
 * The `logs` subcommand of `shoal service`.
 *
 * @example
 * new Command('service').addCommand(serviceLogsCommand(io));
 */
export function serviceLogsCommand(io: CliIo, options: { signal?: AbortSignal } = {}): Command {
  return new Command('logs')
    .description('Fetch the logs of a service or task')
    .argument('<service|task>')
    .option('-f, --follow', 'Follow log output')
    .option('-n, --tail <lines>', 'Number of lines to show from the end of the logs', parseTail, -1)
    .option('-t, --timestamps', 'Show timestamps')
    .option('--no-task-ids', 'Do not include task IDs in output')
    .option('--no-trunc', 'Do not truncate output')
    .action(async (reference: string, flags: LogsFlags, command: Command) => {
      await withDaemon(command, io, async (client) => {
        const read = client.control.serviceLogs;
        if (!read) {
          throw new ShoalError(
            'SHOAL_NOT_IMPLEMENTED',
            'Read logs: this daemon does not serve logs',
          );
        }
        const target = await resolveTarget(client, reference);
        const contexts = new LogContexts(client);
        contexts.prime(target.tasks, target.name);
        const format = {
          noTaskIds: !flags.taskIds,
          noTrunc: !flags.trunc,
          timestamps: flags.timestamps,
        };
        let padTo = 0;
        for (const task of target.tasks) {
          padTo = Math.max(
            padTo,
            logContextName(await contexts.of(task.id, task.nodeId), format).length,
          );
        }
        const request: pb.ServiceLogsRequest = {
          ...target.request,
          follow: flags.follow === true,
          tail: flags.tail,
          timestamps: flags.timestamps === true,
        };
        for await (const message of read.call(client.control, request, {
          signal: options.signal,
        })) {
          const context = await contexts.of(message.taskId, message.nodeId);
          io.out(formatLogLine(message, context, { ...format, padTo }));
        }
      });
    });
}
