// The progress display of `service create|update|scale|rollback` without --detach:
// polls the service and its tasks, shows one line per slot as Docker does, and ends
// when the service converged, or with the reason it cannot.
import { durationToMs, formatDuration, pb, ShoalError } from '@shoal/api';
import type { CliClock, LocalApiClient } from '../client/cli-context.js';
import { taskError, taskName, truncateId } from './task-view.js';

/** How often the display asks for the service's tasks. */
export const PROGRESS_POLL_MS = 500;
/** How long the display waits at most; Docker waits forever, scripts should not. */
export const PROGRESS_TIMEOUT_MS = 5 * 60_000;
/** How long every task may stay unschedulable before the display gives up. */
export const UNSCHEDULABLE_GRACE_MS = 30_000;
/** Failed tasks of one slot, seen while waiting, that mean "this keeps failing". */
export const MAX_FAILURES_PER_SLOT = 3;
/** Docker's default verify period (the update monitor) when the spec has none. */
const DEFAULT_VERIFY_MS = 5_000;

/** Options of watchServiceProgress. */
export interface ServiceProgressOptions {
  readonly out: (text: string) => void;
  readonly clock: CliClock;
  /**
   * Redraw in place with bars; plain lines, each printed when it changes, otherwise.
   * @default false
   */
  readonly isTty?: boolean;
  /**
   * `rollback` words the overall line as Docker does; `update` fails when the updater
   * rolls the update back.
   * @default 'create'
   */
  readonly kind?: 'create' | 'update' | 'rollback';
  /** The update status read before the change, so a stale "paused" is not taken as new. */
  readonly before?: pb.UpdateStatus;
  /** @default PROGRESS_POLL_MS */
  readonly pollMs?: number;
  /** @default PROGRESS_TIMEOUT_MS */
  readonly timeoutMs?: number;
  /** @default UNSCHEDULABLE_GRACE_MS */
  readonly unschedulableMs?: number;
}

/** The task a slot (or, for a global service, a node) shows, and how to label it. */
interface SlotView {
  readonly key: string;
  readonly label: string;
  readonly task: pb.Task | undefined;
  readonly done: boolean;
}

// Docker's numbered states for the bars (cli/command/service/progress): how far along.
const BAR_STATES: readonly pb.TaskState[] = [
  pb.TaskState.TASK_STATE_NEW,
  pb.TaskState.TASK_STATE_PENDING,
  pb.TaskState.TASK_STATE_ASSIGNED,
  pb.TaskState.TASK_STATE_ACCEPTED,
  pb.TaskState.TASK_STATE_PREPARING,
  pb.TaskState.TASK_STATE_READY,
  pb.TaskState.TASK_STATE_STARTING,
  pb.TaskState.TASK_STATE_RUNNING,
];
const BAR_WIDTH = 50;

function createdMs(task: pb.Task): number {
  return (task.meta?.createdAt ?? task.status?.timestamp)?.getTime() ?? 0;
}

function newest(tasks: readonly pb.Task[]): pb.Task | undefined {
  return tasks.reduce<pb.Task | undefined>(
    (best, t) => (!best || createdMs(t) >= createdMs(best) ? t : best),
    undefined,
  );
}

function isMeantToRun(task: pb.Task): boolean {
  return task.desiredState <= pb.TaskState.TASK_STATE_RUNNING;
}

function isCurrent(task: pb.Task, service: pb.Service): boolean {
  // A task of an older spec is still running the old version during an update.
  return (
    service.specVersion === 0 || task.specVersion === 0 || task.specVersion >= service.specVersion
  );
}

function isDone(task: pb.Task | undefined, service: pb.Service): boolean {
  return (
    task !== undefined &&
    task.desiredState === pb.TaskState.TASK_STATE_RUNNING &&
    task.status?.state === pb.TaskState.TASK_STATE_RUNNING &&
    isCurrent(task, service)
  );
}

function slotKey(task: pb.Task): string {
  return task.slot > 0 ? String(task.slot) : task.nodeId;
}

function slotViews(service: pb.Service, tasks: readonly pb.Task[]): SlotView[] {
  const mode = service.spec?.mode;
  if (mode?.$case === 'replicated') {
    const total = mode.replicated.replicas;
    return Array.from({ length: total }, (_, i) => {
      const slot = tasks.filter((t) => t.slot === i + 1);
      const task = newest(slot.filter(isMeantToRun)) ?? newest(slot);
      return { key: String(i + 1), label: `${i + 1}/${total}`, task, done: isDone(task, service) };
    });
  }
  const nodes = [...new Set(tasks.filter(isMeantToRun).map((t) => t.nodeId))].sort();
  return nodes.map((nodeId) => {
    const task = newest(tasks.filter((t) => t.nodeId === nodeId && isMeantToRun(t)));
    return { key: nodeId, label: truncateId(nodeId), task, done: isDone(task, service) };
  });
}

function stateWord(task: pb.Task | undefined): string {
  if (!task) return 'new';
  const error = taskError(task);
  if (error !== '') return error;
  return pb
    .taskStateToJSON(task.status?.state ?? pb.TaskState.TASK_STATE_NEW)
    .replace(/^TASK_STATE_/, '')
    .toLowerCase();
}

function bar(task: pb.Task | undefined): string {
  const state = task?.status?.state ?? pb.TaskState.TASK_STATE_NEW;
  const reached = BAR_STATES.filter((s) => s <= state).length;
  const filled = Math.round((reached / BAR_STATES.length) * BAR_WIDTH);
  if (filled >= BAR_WIDTH) return `[${'='.repeat(BAR_WIDTH)}>]`;
  return `[${'='.repeat(Math.max(0, filled - 1))}>${' '.repeat(BAR_WIDTH - Math.max(1, filled))} ]`;
}

function sameStatus(a: pb.UpdateStatus | undefined, b: pb.UpdateStatus | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.state === b.state &&
    a.startedAt?.getTime() === b.startedAt?.getTime() &&
    a.message === b.message
  );
}

/** Writes the progress block: in place on a terminal, changed lines only elsewhere. */
class ProgressWriter {
  readonly #out: (text: string) => void;
  readonly #isTty: boolean;
  #shown = new Map<string, string>();
  #drawn = 0;

  constructor(out: (text: string) => void, isTty: boolean) {
    this.#out = out;
    this.#isTty = isTty;
  }

  /** `lines` are [key, plain text, terminal text]. */
  draw(lines: readonly (readonly [string, string, string])[]): void {
    if (this.#isTty) {
      const up = this.#drawn > 0 ? `\x1b[${this.#drawn}A` : '';
      // Erase below the block too: a scale-down leaves fewer slot lines than last time.
      this.#out(`${up}${lines.map(([, , tty]) => `\x1b[2K${tty}\n`).join('')}\x1b[J`);
      this.#drawn = lines.length;
      return;
    }
    for (const [key, text] of lines) {
      if (this.#shown.get(key) === text) continue;
      this.#shown.set(key, text);
      this.#out(`${text}\n`);
    }
  }
}

/**
 * Shows the progress of `serviceId` until every slot runs a task of the current spec
 * and stays so for the verify period (the update monitor). Throws, with the reason, when
 * the service cannot converge: every task unschedulable for UNSCHEDULABLE_GRACE_MS, a
 * slot failing MAX_FAILURES_PER_SLOT times, the update paused or rolled back, or no
 * convergence within the timeout.
 *
 * @throws ShoalError `SHOAL_FAILED_PRECONDITION` or `SHOAL_DEADLINE_EXCEEDED`
 * @example
 * await watchServiceProgress(client, service.id, { out, clock: SYSTEM_CLOCK });
 */
export async function watchServiceProgress(
  client: LocalApiClient,
  serviceId: string,
  options: ServiceProgressOptions,
): Promise<void> {
  const { clock } = options;
  const kind = options.kind ?? 'create';
  const pollMs = options.pollMs ?? PROGRESS_POLL_MS;
  const timeoutMs = options.timeoutMs ?? PROGRESS_TIMEOUT_MS;
  const unschedulableMs = options.unschedulableMs ?? UNSCHEDULABLE_GRACE_MS;
  const writer = new ProgressWriter(options.out, options.isTty ?? false);
  const start = clock.now();
  // Failures already there when we started are not this change's.
  let oldFailures: Set<string> | undefined;
  const failures = new Map<string, pb.Task[]>();
  let unschedulableSince: number | undefined;
  let convergedSince: number | undefined;
  let rollbackLine: string | undefined;

  for (;;) {
    const { service } = await client.control.getService({ serviceId });
    if (!service)
      throw new ShoalError('SHOAL_NOT_FOUND', `Watch service: no such service: "${serviceId}"`);
    const listed = await client.control.listTasks({
      filters: { serviceIds: [service.id], nodeIds: [], desiredStates: [], idPrefixes: [] },
    });
    const tasks = listed.tasks.filter((t) => t.serviceId === service.id);
    const name = service.spec?.annotations?.name ?? serviceId;
    const now = clock.now();
    const fail = (reason: string): never => {
      throw new ShoalError(
        'SHOAL_FAILED_PRECONDITION',
        `Service "${name}" cannot converge: ${reason}`,
      );
    };

    const failed = tasks.filter(
      (t) =>
        t.status?.state === pb.TaskState.TASK_STATE_FAILED ||
        t.status?.state === pb.TaskState.TASK_STATE_REJECTED,
    );
    if (!oldFailures) oldFailures = new Set(failed.map((t) => t.id));
    for (const task of failed) {
      if (oldFailures.has(task.id)) continue;
      const seen = failures.get(slotKey(task)) ?? [];
      if (!seen.some((t) => t.id === task.id)) failures.set(slotKey(task), [...seen, task]);
    }

    const slots = slotViews(service, tasks);
    const done = slots.filter((s) => s.done).length;
    const status = service.updateStatus;
    const statusIsNew = status !== undefined && !sameStatus(status, options.before);
    const updating =
      status?.state === pb.UpdateStatus_State.STATE_UPDATING ||
      status?.state === pb.UpdateStatus_State.STATE_ROLLBACK_STARTED;
    const extra = tasks.filter(
      (t) =>
        service.spec?.mode?.$case === 'replicated' &&
        t.slot > service.spec.mode.replicated.replicas &&
        t.desiredState === pb.TaskState.TASK_STATE_RUNNING,
    );
    const converged = done === slots.length && !updating && extra.length === 0;

    const overall =
      kind === 'rollback'
        ? `overall progress: rolling back update: ${done} out of ${slots.length} tasks`
        : `overall progress: ${done} out of ${slots.length} tasks`;
    if (statusIsNew && status.state === pb.UpdateStatus_State.STATE_ROLLBACK_STARTED) {
      // The updater gave up on the update (failure action rollback): say so above the
      // overall line, as Docker does, and keep watching the rollback converge.
      if (kind === 'update') rollbackLine ??= `rollback: ${status.message || 'update rolled back'}`;
    }
    const lines: [string, string, string][] = [
      ...(rollbackLine
        ? [['rollback', rollbackLine, rollbackLine] as [string, string, string]]
        : []),
      ['overall', overall, overall],
    ];
    for (const slot of slots) {
      const word = stateWord(slot.task);
      const error = slot.task ? taskError(slot.task) : '';
      lines.push([
        `slot ${slot.key}`,
        `${slot.label}: ${word}`,
        `${slot.label}: ${word.padEnd(10)}${error ? '' : ` ${bar(slot.task)}`}`,
      ]);
    }

    const verifyMs =
      durationToMs(
        (kind === 'rollback' ? service.spec?.rollback : service.spec?.update)?.monitor,
      ) || DEFAULT_VERIFY_MS;
    if (converged) {
      convergedSince ??= now;
      const left = Math.ceil((convergedSince + verifyMs - now) / 1000);
      if (now - convergedSince >= verifyMs) {
        lines.push(['verify', 'verify: Service converged', 'verify: Service converged']);
        writer.draw(lines);
        return;
      }
      const waiting = `verify: Waiting ${left} seconds to verify that tasks are stable...`;
      lines.push([
        'verify',
        `verify: Waiting ${Math.round(verifyMs / 1000)} seconds to verify that tasks are stable...`,
        waiting,
      ]);
    } else {
      convergedSince = undefined;
    }
    writer.draw(lines);

    if (statusIsNew) {
      if (status.state === pb.UpdateStatus_State.STATE_PAUSED) {
        fail(`update paused: ${status.message || 'the update failed'}`);
      }
      if (status.state === pb.UpdateStatus_State.STATE_ROLLBACK_PAUSED) {
        fail(`rollback paused: ${status.message || 'the rollback failed'}`);
      }
      if (status.state === pb.UpdateStatus_State.STATE_ROLLBACK_COMPLETED && kind === 'update') {
        fail(`update rolled back: ${status.message || 'the update failed'}`);
      }
    }
    for (const [, slotFailures] of failures) {
      if (slotFailures.length >= MAX_FAILURES_PER_SLOT) {
        const last = newest(slotFailures)!;
        fail(`task ${taskName(last, name)} keeps failing: ${taskError(last) || 'it exited'}`);
      }
    }
    const pending = slots.filter(
      (s) =>
        s.task !== undefined &&
        (s.task.status?.state ?? 0) < pb.TaskState.TASK_STATE_ASSIGNED &&
        taskError(s.task) !== '',
    );
    if (slots.length > 0 && pending.length === slots.length) {
      unschedulableSince ??= now;
      if (now - unschedulableSince >= unschedulableMs) fail(taskError(pending[0]!.task!));
    } else {
      unschedulableSince = undefined;
    }
    if (now - start >= timeoutMs) {
      throw new ShoalError(
        'SHOAL_DEADLINE_EXCEEDED',
        `Service "${name}" did not converge within ${formatDuration(timeoutMs)}: ${done} out of ${slots.length} tasks running`,
      );
    }
    await clock.sleep(pollMs);
  }
}
