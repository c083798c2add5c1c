// How `shoal service logs` prints a line, as Docker's CLI does (docker/cli
// cli/command/service/logs.go): `[TIMESTAMP ]SERVICE.SLOT.TASKID@NODE | LINE`, the
// context padded so the bars line up; a global service's tasks carry the node ID for
// the slot; task IDs are cut to 12 characters unless --no-trunc.
import type { pb } from '@shoal/api';

/** What names a task in the prefix. */
export interface LogTaskContext {
  readonly serviceName: string;
  /** 0 for a global service's task. */
  readonly slot: number;
  readonly taskId: string;
  readonly nodeId: string;
  /** The node's hostname, or its ID when unknown. */
  readonly nodeName: string;
}

/** Options of {@link logContextName} and {@link formatLogLine}. */
export interface LogFormatOptions {
  /** Leave the task ID out of the prefix (`--no-task-ids`). @default false */
  readonly noTaskIds?: boolean;
  /** Full task IDs (`--no-trunc`). @default false */
  readonly noTrunc?: boolean;
  /** Print Docker's timestamp first (`--timestamps`). @default false */
  readonly timestamps?: boolean;
  /** Width to pad the prefix to. @default 0 */
  readonly padTo?: number;
}

/**
 * The prefix naming a task.
 *
 * @example
 * logContextName({ serviceName: 'web', slot: 1, taskId: 'abcdef1234567890', nodeId: 'n1', nodeName: 'lab-w1' });
 * // 'web.1.abcdef123456@lab-w1'
 */
export function logContextName(context: LogTaskContext, options: LogFormatOptions = {}): string {
  const slot = context.slot > 0 ? String(context.slot) : context.nodeId;
  let name = `${context.serviceName}.${slot}`;
  if (!options.noTaskIds) {
    name += `.${options.noTrunc ? context.taskId : context.taskId.slice(0, 12)}`;
  }
  return `${name}@${context.nodeName}`;
}

/**
 * One printed line, with its newline.
 *
 * @example
 * formatLogLine(message, context, { padTo: 30 }); // 'web.1.abcdef123456@lab-w1     | hello\n'
 */
export function formatLogLine(
  message: pb.LogMessage,
  context: LogTaskContext,
  options: LogFormatOptions = {},
): string {
  const name = logContextName(context, options).padEnd(options.padTo ?? 0);
  const data = Buffer.from(message.data).toString('utf8');
  const time = options.timestamps ? `${(message.timestamp ?? new Date(0)).toISOString()} ` : '';
  return `${time}${name} | ${data}\n`;
}
