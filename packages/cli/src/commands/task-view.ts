// How tasks look to users in `service ps` and `node ps`: Docker's columns, state words,
// task names and the "Running 5 minutes ago" age.
import { pb } from '@shoal/api';

/** Docker's state word for a task state: the enum name, capitalised ("Running"). */
export function taskStateWord(state: pb.TaskState | undefined): string {
  const name = pb.taskStateToJSON(state ?? pb.TaskState.TASK_STATE_NEW);
  const word = name.replace(/^TASK_STATE_/, '').toLowerCase();
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/**
 * How long ago, in the words of Docker's units.HumanDuration ("Less than a second",
 * "About a minute", "5 minutes", "3 days").
 */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  // Go rounds hours to the nearest here, and only here.
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

/** An image reference without its `@sha256:` digest, as Docker's tables show it. */
export function shortImage(image: string): string {
  const at = image.indexOf('@');
  return at < 0 ? image : image.slice(0, at);
}

/** The short form of an ID that Docker's tables show. */
export function truncateId(id: string): string {
  return id.slice(0, 12);
}

/**
 * A task's name without its ID: `<service>.<slot>` for replicated services and
 * `<service>.<node ID>` for global ones (whose tasks have no slot).
 */
export function taskName(task: pb.Task, serviceName?: string): string {
  const service = serviceName ?? task.serviceAnnotations?.name ?? task.serviceId;
  return task.slot > 0 ? `${service}.${task.slot}` : `${service}.${task.nodeId}`;
}

/**
 * Why a task failed or cannot be placed: its error, or the scheduler's "no suitable
 * node" explanation when that was reported as the status message.
 */
export function taskError(task: pb.Task): string {
  const status = task.status;
  if (!status) return '';
  if (status.err !== '') return status.err;
  return status.message.startsWith('no suitable node') ? status.message : '';
}

// Docker cuts errors to 30 characters in tables unless --no-trunc.
const MAX_ERROR_LENGTH = 30;

/** One `service ps`/`node ps` row; also the `--format json` document's element. */
export interface TaskRow {
  ID: string;
  Name: string;
  Image: string;
  Node: string;
  DesiredState: string;
  CurrentState: string;
  Error: string;
  Ports: string;
}

/** The table columns of `service ps` and `node ps`, as Docker prints them. */
export const TASK_PS_HEADERS = [
  'ID',
  'NAME',
  'IMAGE',
  'NODE',
  'DESIRED STATE',
  'CURRENT STATE',
  'ERROR',
  'PORTS',
] as const;

/** Options of taskRows. */
export interface TaskRowsOptions {
  /** Milliseconds since the epoch, for the ages. */
  readonly now: number;
  /** Node ID to hostname. */
  readonly hostnames: ReadonlyMap<string, string>;
  /** Service ID to name, when tasks lack their service's annotations. */
  readonly serviceNames?: ReadonlyMap<string, string>;
  /** Full IDs, images and errors. */
  readonly noTrunc?: boolean;
}

function timestampMs(task: pb.Task): number {
  return (task.status?.timestamp ?? task.meta?.updatedAt ?? task.meta?.createdAt)?.getTime() ?? 0;
}

/**
 * The rows of `service ps`, in Docker's order: by service, then slot (or node), newest
 * first; older tasks of a slot are history and named with Docker's `\_ ` prefix.
 */
export function taskRows(tasks: readonly pb.Task[], options: TaskRowsOptions): TaskRow[] {
  const named = tasks.map((task) => ({
    task,
    name: taskName(task, options.serviceNames?.get(task.serviceId)),
  }));
  named.sort(
    (a, b) =>
      a.name.localeCompare(b.name, 'en', { numeric: true }) ||
      timestampMs(b.task) - timestampMs(a.task),
  );
  let previous = '';
  return named.map(({ task, name }) => {
    const shown = name === previous ? ` \\_ ${name}` : name;
    previous = name;
    const state = task.status?.state ?? pb.TaskState.TASK_STATE_NEW;
    const age = humanDuration(Math.max(0, options.now - timestampMs(task))).toLowerCase();
    let error = taskError(task);
    if (!options.noTrunc && error.length > MAX_ERROR_LENGTH) {
      error = `${error.slice(0, MAX_ERROR_LENGTH - 1)}…`;
    }
    const image = task.spec?.container?.image ?? '';
    return {
      ID: options.noTrunc ? task.id : truncateId(task.id),
      Name: shown,
      Image: options.noTrunc ? image : shortImage(image),
      Node: options.hostnames.get(task.nodeId) ?? task.nodeId,
      DesiredState: taskStateWord(task.desiredState),
      CurrentState: `${taskStateWord(state)} ${age} ago`,
      Error: error === '' ? '' : `"${error}"`,
      Ports: '',
    };
  });
}

/** The table cells of one task row. */
export function taskRowCells(row: TaskRow): string[] {
  return [
    row.ID,
    row.Name,
    row.Image,
    row.Node,
    row.DesiredState,
    row.CurrentState,
    row.Error,
    row.Ports,
  ];
}

const DESIRED_STATES: Readonly<Record<string, pb.TaskState>> = {
  running: pb.TaskState.TASK_STATE_RUNNING,
  shutdown: pb.TaskState.TASK_STATE_SHUTDOWN,
  accepted: pb.TaskState.TASK_STATE_ACCEPTED,
  ready: pb.TaskState.TASK_STATE_READY,
};

/** The filters `ps -f` takes: Docker's `desired-state`, `node`, `id` and `name`. */
export interface TaskFilter {
  readonly desiredStates: readonly pb.TaskState[];
  readonly nodes: readonly string[];
  readonly ids: readonly string[];
  readonly names: readonly string[];
}

/**
 * Reads `-f key=value` filters of `service ps`/`node ps`.
 *
 * @example parseTaskFilter(['desired-state=running']).desiredStates // [512]
 */
export function parseTaskFilter(texts: readonly string[]): TaskFilter {
  const filter = {
    desiredStates: [] as pb.TaskState[],
    nodes: [] as string[],
    ids: [] as string[],
    names: [] as string[],
  };
  for (const text of texts) {
    const eq = text.indexOf('=');
    const key = eq < 0 ? text : text.slice(0, eq);
    const value = eq < 0 ? '' : text.slice(eq + 1);
    if (eq < 0 || value === '') {
      throw new TypeError(`Invalid --filter "${text}": want key=value`);
    }
    switch (key) {
      case 'desired-state': {
        const state = DESIRED_STATES[value.toLowerCase()];
        if (state === undefined) {
          throw new TypeError(
            `Invalid --filter "${text}": desired-state must be running, shutdown, accepted or ready`,
          );
        }
        filter.desiredStates.push(state);
        break;
      }
      case 'node':
        filter.nodes.push(value);
        break;
      case 'id':
        filter.ids.push(value);
        break;
      case 'name':
        filter.names.push(value);
        break;
      default:
        throw new TypeError(
          `Invalid --filter "${text}": key "${key}" is not supported: want desired-state, node, id or name`,
        );
    }
  }
  return filter;
}

/** Whether `task` passes `filter`; `hostnames` lets `node=` name a node by hostname. */
export function matchesTaskFilter(
  task: pb.Task,
  filter: TaskFilter,
  hostnames: ReadonlyMap<string, string>,
): boolean {
  if (filter.desiredStates.length > 0 && !filter.desiredStates.includes(task.desiredState)) {
    return false;
  }
  if (
    filter.nodes.length > 0 &&
    !filter.nodes.some((n) => n === task.nodeId || n === hostnames.get(task.nodeId))
  ) {
    return false;
  }
  if (filter.ids.length > 0 && !filter.ids.some((id) => task.id.startsWith(id))) return false;
  if (filter.names.length > 0 && !filter.names.some((n) => taskName(task).startsWith(n))) {
    return false;
  }
  return true;
}
