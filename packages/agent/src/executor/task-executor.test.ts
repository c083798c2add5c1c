import { pb, ShoalError } from '@shoal/api';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeContainerRuntime } from './fake-container-runtime.js';
import type { ReporterTimers } from './status-reporter.js';
import { TaskExecutor, type TaskExecutorOptions } from './task-executor.js';

const S = pb.TaskState;
const IMAGE = 'busybox';
const NODE = 'n1';

/** Timers that fire only when the test says so. */
class ManualTimers implements ReporterTimers {
  readonly pending = new Map<number, () => void>();
  #next = 1;
  setTimeout(callback: () => void): unknown {
    const id = this.#next++;
    this.pending.set(id, callback);
    return id;
  }
  clearTimeout(timer: unknown): void {
    this.pending.delete(timer as number);
  }
  fireAll(): void {
    const callbacks = [...this.pending.values()];
    this.pending.clear();
    for (const callback of callbacks) callback();
  }
}

function task(
  id: string,
  partial: pb.DeepPartial<pb.Task> = {},
  container: pb.DeepPartial<pb.ContainerSpec> = {},
): pb.Task {
  return pb.Task.fromPartial({
    id,
    serviceId: 'svc',
    slot: Number(id.replace(/\D/g, '')) || 1,
    nodeId: NODE,
    serviceAnnotations: { name: 'web' },
    desiredState: S.TASK_STATE_RUNNING,
    status: { state: S.TASK_STATE_ASSIGNED },
    spec: { container: { image: IMAGE, ...container } },
    ...partial,
  });
}

function assignments(...tasks: pb.Task[]) {
  return { tasks: new Map(tasks.map((t) => [t.id, t])) };
}

/**
 * Resolves once the executor has nothing left to do for now: no new engine call and no
 * new report for a few turns of the event loop. The fake engine answers at once and the
 * timers are manual, so whatever else is to come waits for the test (a timer, an event).
 */
async function quiet(runtime: FakeContainerRuntime, reports: readonly unknown[]): Promise<void> {
  let seen = -1;
  let quietTurns = 0;
  for (let turn = 0; quietTurns < 3; turn++) {
    if (turn === 1000)
      throw new Error('Wait for the executor to go quiet: still busy after 1000 turns');
    await new Promise((resolve) => setImmediate(resolve));
    const now = runtime.calls.length + reports.length;
    quietTurns = now === seen ? quietTurns + 1 : 0;
    seen = now;
  }
}

const open: TaskExecutor[] = [];

async function setup(
  options: { runtime?: FakeContainerRuntime } & Partial<TaskExecutorOptions> = {},
) {
  const runtime = options.runtime ?? new FakeContainerRuntime({ images: [IMAGE] });
  const timers = new ManualTimers();
  const reports: pb.UpdateTaskStatusRequest_TaskStatusUpdate[] = [];
  let failReports = 0;
  let tick = 0;
  const executor = await TaskExecutor.start({
    runtime,
    nodeId: NODE,
    log: pino({ level: 'silent' }),
    timers,
    now: () => new Date(Date.UTC(2026, 0, 1) + ++tick * 1000),
    report: async (updates) => {
      if (failReports > 0) {
        failReports--;
        throw new Error('no session is open');
      }
      reports.push(...updates);
    },
    ...options,
  });
  open.push(executor);
  /** The states reported for `taskId`, in order, with errors. */
  const states = (taskId: string) =>
    reports
      .filter((r) => r.taskId === taskId)
      .map(
        (r) =>
          S[r.status!.state].replace('TASK_STATE_', '') +
          (r.status!.err ? ` ${r.status!.err}` : ''),
      );
  return {
    runtime,
    timers,
    reports,
    executor,
    states,
    quiet: () => quiet(runtime, reports),
    failNextReports: (n: number) => {
      failReports = n;
    },
  };
}

afterEach(async () => {
  for (const executor of open.splice(0)) await executor.close();
});

describe('TaskExecutor', () => {
  it('TaskExecutor: creates and starts a task, reporting each state with its time when assigned', async () => {
    const { runtime, executor, states, reports, quiet } = await setup();
    executor.update(assignments(task('t1', {}, { command: ['sleep', '60'] })));
    await quiet();
    expect(states('t1')).toEqual(['ACCEPTED', 'PREPARING', 'READY', 'STARTING', 'RUNNING']);
    const container = runtime.byName('web.1.t1')!;
    expect(container.status).toBe('running');
    expect(container.options?.Entrypoint).toEqual(['sleep', '60']);
    expect(container.options?.HostConfig.NetworkMode).toBe('none');
    expect(container.labels['org.shoal.node.id']).toBe(NODE);
    const times = reports.map((r) => r.status!.timestamp!.getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(reports.at(-1)!.status!.container?.containerId).toBe(container.id);
  });

  it('TaskExecutor: rejects once and never retries when the image is missing', async () => {
    const { runtime, executor, states, quiet } = await setup();
    executor.update(assignments(task('t1', {}, { image: 'nginx:9' })));
    await quiet();
    executor.update(assignments(task('t1', {}, { image: 'nginx:9' })));
    await quiet();
    expect(states('t1')).toEqual(['ACCEPTED', 'PREPARING', 'REJECTED No such image: nginx:9']);
    expect(runtime.calls.filter((c) => c.startsWith('imageExists'))).toHaveLength(1);
    expect(runtime.calls.filter((c) => c.startsWith('pullImage'))).toHaveLength(1);
    expect(runtime.containers.size).toBe(0);
  });

  it('TaskExecutor: pulls a missing image and creates the container again when the first create finds no image', async () => {
    const runtime = new FakeContainerRuntime({ registry: ['nginx:1'] });
    const { executor, states, quiet } = await setup({ runtime });
    executor.update(assignments(task('t1', {}, { image: 'nginx:1' })));
    await quiet();
    expect(runtime.calls.slice(0, 5)).toEqual([
      'list {"org.shoal.node.id":"n1"}',
      'create web.1.t1',
      'imageExists nginx:1',
      'pullImage nginx:1',
      'create web.1.t1',
    ]);
    expect(states('t1').at(-1)).toBe('RUNNING');
  });

  it('TaskExecutor: makes one engine call per state when the image is there: create, start, one inspect', async () => {
    const { runtime, executor, states, quiet } = await setup();
    executor.update(assignments(task('t1')));
    await quiet();
    expect(states('t1').at(-1)).toBe('RUNNING');
    expect(runtime.calls.filter((c) => !c.startsWith('list'))).toEqual([
      'create web.1.t1',
      'start web.1.t1',
      'inspect web.1.t1',
    ]);
  });

  it('TaskExecutor: reports a new state while an earlier report still waits for the manager, two calls at most', async () => {
    const calls: string[][] = [];
    let release!: () => void;
    const committed = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { executor, quiet } = await setup({
      report: async (updates) => {
        calls.push(updates.map((u) => S[u.status!.state].replace('TASK_STATE_', '')));
        await committed;
      },
    });
    executor.update(assignments(task('t1')));
    await quiet();
    const whileWaiting = calls.map((batch) => batch.join(' '));
    release();
    await quiet();
    expect(whileWaiting).toEqual(['ACCEPTED PREPARING', 'READY']);
    expect(calls.flat()).toEqual(['ACCEPTED', 'PREPARING', 'READY', 'STARTING', 'RUNNING']);
  });

  it('TaskExecutor: prepares but does not start when desired READY', async () => {
    const { runtime, executor, states, quiet } = await setup();
    executor.update(assignments(task('t1', { desiredState: S.TASK_STATE_READY })));
    await quiet();
    expect(states('t1')).toEqual(['ACCEPTED', 'PREPARING', 'READY']);
    expect(runtime.byName('web.1.t1')!.status).toBe('created');
    executor.update(assignments(task('t1')));
    await quiet();
    expect(states('t1')).toEqual(['ACCEPTED', 'PREPARING', 'READY', 'STARTING', 'RUNNING']);
  });

  it('TaskExecutor: reports RUNNING only once the health check passes when the task has one', async () => {
    const { runtime, executor, states, quiet } = await setup();
    executor.update(assignments(task('t1', {}, { healthcheck: { test: ['CMD', 'true'] } })));
    await quiet();
    expect(states('t1').at(-1)).toBe('STARTING');
    runtime.setHealth(runtime.byName('web.1.t1')!.id, 'healthy');
    await quiet();
    expect(states('t1').at(-1)).toBe('RUNNING');
  });

  it('TaskExecutor: fails an unhealthy task and stops its container', async () => {
    const { runtime, executor, states, quiet } = await setup();
    executor.update(assignments(task('t1', {}, { healthcheck: { test: ['CMD', 'false'] } })));
    await quiet();
    const id = runtime.byName('web.1.t1')!.id;
    runtime.setHealth(id, 'unhealthy');
    await quiet();
    expect(states('t1').at(-1)).toBe('FAILED unhealthy container');
    expect(runtime.containers.get(id)!.status).toBe('exited');
    expect(states('t1').filter((s) => s.startsWith('FAILED'))).toHaveLength(1);
  });

  it('TaskExecutor: reports COMPLETE on exit 0 and FAILED with the code otherwise', async () => {
    const { runtime, executor, states, quiet } = await setup();
    executor.update(assignments(task('t1'), task('t2'), task('t3')));
    await quiet();
    runtime.exit(runtime.byName('web.1.t1')!.id, 0);
    runtime.exit(runtime.byName('web.2.t2')!.id, 3);
    runtime.exit(runtime.byName('web.3.t3')!.id, 137, { oomKilled: true });
    await quiet();
    expect(states('t1').at(-1)).toBe('COMPLETE');
    expect(states('t2').at(-1)).toBe('FAILED task: non-zero exit (3)');
    expect(states('t3').at(-1)).toBe('FAILED task: non-zero exit (137): OOM killed');
    // Finished tasks are not started again: the orchestrator makes new ones.
    expect(runtime.calls.filter((c) => c.startsWith('start'))).toHaveLength(3);
  });

  it('TaskExecutor: stops with the spec signal and grace period and reports SHUTDOWN when desired SHUTDOWN', async () => {
    const { runtime, executor, states, quiet } = await setup();
    const spec = { stopSignal: 'SIGQUIT', stopGracePeriod: { seconds: 2, nanos: 0 } };
    executor.update(assignments(task('t1', {}, spec)));
    await quiet();
    executor.update(assignments(task('t1', { desiredState: S.TASK_STATE_SHUTDOWN }, spec)));
    await quiet();
    expect(states('t1').at(-1)).toBe('SHUTDOWN');
    expect(states('t1').filter((s) => s === 'SHUTDOWN')).toHaveLength(1);
    expect(runtime.calls).toContain('stop web.1.t1 SIGQUIT 2000');
    // Stopped, not removed: the container stays until the task leaves the node.
    expect(runtime.byName('web.1.t1')!.status).toBe('exited');
  });

  it('TaskExecutor: stops with the 10 s default grace and removes the container when the task is unassigned', async () => {
    const { runtime, executor, quiet } = await setup();
    executor.update(assignments(task('t1')));
    await quiet();
    executor.update(assignments());
    await quiet();
    expect(runtime.calls).toContain('stop web.1.t1 default 10000');
    expect(runtime.calls.at(-1)).toBe('remove web.1.t1');
    expect(runtime.containers.size).toBe(0);
  });

  it('TaskExecutor: reports SHUTDOWN without a container when a task is shut down before it was prepared', async () => {
    const { runtime, executor, states, quiet } = await setup();
    executor.update(assignments(task('t1', { desiredState: S.TASK_STATE_SHUTDOWN })));
    await quiet();
    expect(states('t1')).toEqual(['SHUTDOWN']);
    expect(runtime.calls.filter((c) => !c.startsWith('list'))).toEqual([]);
  });

  it('TaskExecutor: fails the task with the engine error when create fails', async () => {
    const { runtime, executor, states, quiet } = await setup();
    runtime.failNext('create', new Error('disk full'));
    executor.update(assignments(task('t1')));
    await quiet();
    expect(states('t1').at(-1)).toBe('FAILED task: create container: disk full');
  });

  it('TaskExecutor: runs at most `parallelism` operations at once', async () => {
    const runtime = new FakeContainerRuntime({ images: [IMAGE] });
    let running = 0;
    let peak = 0;
    const create = runtime.create.bind(runtime);
    runtime.create = async (options) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setImmediate(resolve));
      running--;
      return create(options);
    };
    const { executor, states, quiet } = await setup({ runtime, parallelism: 2 });
    const tasks = Array.from({ length: 7 }, (_, i) => task(`t${i + 1}`));
    executor.update(assignments(...tasks));
    await quiet();
    expect(peak).toBe(2);
    for (const t of tasks) expect(states(t.id).at(-1)).toBe('RUNNING');
  });

  it('TaskExecutor: retries reports in order after a failure', async () => {
    const { executor, states, timers, failNextReports, quiet } = await setup();
    failNextReports(2);
    executor.update(assignments(task('t1')));
    await quiet();
    expect(states('t1')).toEqual([]);
    timers.fireAll();
    await quiet();
    timers.fireAll();
    await quiet();
    expect(states('t1')).toEqual(['ACCEPTED', 'PREPARING', 'READY', 'STARTING', 'RUNNING']);
  });

  it('TaskExecutor: adopts running containers without restarting them and removes unknown ones at start', async () => {
    const runtime = new FakeContainerRuntime({ images: [IMAGE] });
    const labels = (taskId: string) => ({ 'org.shoal.task.id': taskId, 'org.shoal.node.id': NODE });
    const kept = runtime.seed({ name: 'web.1.t1', labels: labels('t1') });
    runtime.seed({ name: 'web.9.gone', labels: labels('gone') });
    runtime.seed({ name: 'other', labels: { 'org.shoal.node.id': 'n2' } });
    const { executor, states, quiet } = await setup({ runtime });
    executor.update(
      assignments(
        task('t1', { status: { state: S.TASK_STATE_RUNNING } }),
        task('t2', { status: { state: S.TASK_STATE_STARTING } }),
        task('t3'),
      ),
    );
    await quiet();
    expect(runtime.containers.get(kept.id)!.startedAt).toBe(kept.startedAt);
    expect(runtime.calls.filter((c) => c.startsWith('start') || c.startsWith('remove'))).toEqual([
      'remove web.9.gone',
      'start web.3.t3',
    ]);
    expect(runtime.byName('other')).toBeDefined();
    // The manager already knows t1 runs; t2 was starting but its container is gone.
    expect(states('t1')).toEqual([]);
    expect(states('t2')).toEqual(['FAILED task: container not found']);
    expect(states('t3').at(-1)).toBe('RUNNING');
    // An adopted task's exit is reported as any other.
    runtime.exit(kept.id, 1);
    await quiet();
    expect(states('t1')).toEqual(['FAILED task: non-zero exit (1)']);
  });

  it('TaskExecutor: starts an adopted container that was only created when the last agent reported STARTING', async () => {
    const runtime = new FakeContainerRuntime({ images: [IMAGE] });
    runtime.seed({
      name: 'web.1.t1',
      labels: { 'org.shoal.task.id': 't1', 'org.shoal.node.id': NODE },
      status: 'created',
      pid: 0,
    });
    const { executor, states, quiet } = await setup({ runtime });
    executor.update(assignments(task('t1', { status: { state: S.TASK_STATE_STARTING } })));
    await quiet();
    expect(runtime.calls.filter((c) => /^(create|start)/.test(c))).toEqual(['start web.1.t1']);
    expect(states('t1').at(-1)).toBe('RUNNING');
  });

  it('TaskExecutor: tries again to remove an orphan container when the engine refused', async () => {
    const runtime = new FakeContainerRuntime({ images: [IMAGE] });
    runtime.seed({
      name: 'web.9.gone',
      labels: { 'org.shoal.task.id': 'gone', 'org.shoal.node.id': NODE },
    });
    runtime.failNext('remove', new Error('engine busy'));
    const { executor, timers, quiet } = await setup({ runtime });
    executor.update(assignments());
    await quiet();
    expect(runtime.containers.size).toBe(1);
    timers.fireAll();
    await quiet();
    expect(runtime.containers.size).toBe(0);
  });

  it('TaskExecutor: waits for the retry timer before it stops again when a stop failed', async () => {
    const { runtime, executor, states, timers, quiet } = await setup();
    executor.update(assignments(task('t1')));
    await quiet();
    runtime.failNext('stop', new Error('engine busy'));
    executor.update(assignments(task('t1', { desiredState: S.TASK_STATE_SHUTDOWN })));
    await quiet();
    expect(runtime.calls.filter((c) => c.startsWith('stop'))).toHaveLength(1);
    expect(states('t1').at(-1)).toBe('RUNNING');
    timers.fireAll();
    await quiet();
    expect(runtime.calls.filter((c) => c.startsWith('stop'))).toHaveLength(2);
    expect(states('t1').at(-1)).toBe('SHUTDOWN');
  });

  it('TaskExecutor: starts nothing twice when a second executor follows the first', async () => {
    const runtime = new FakeContainerRuntime({ images: [IMAGE] });
    const first = await setup({ runtime });
    const set = assignments(task('t1'), task('t2'));
    first.executor.update(set);
    await first.quiet();
    await first.executor.close();
    const second = await setup({ runtime });
    second.executor.update(
      assignments(
        task('t1', { status: { state: S.TASK_STATE_RUNNING } }),
        task('t2', { status: { state: S.TASK_STATE_RUNNING } }),
      ),
    );
    await second.quiet();
    expect(
      runtime.calls.filter((c) => c.startsWith('start') || c.startsWith('create')),
    ).toHaveLength(4);
    expect(second.reports).toEqual([]);
  });

  it('TaskExecutor: stops reading events and leaves containers running when closed', async () => {
    const { runtime, executor, quiet } = await setup();
    executor.update(assignments(task('t1')));
    await quiet();
    expect(runtime.subscribers).toBe(1);
    await executor.close();
    await executor.close();
    expect(runtime.subscribers).toBe(0);
    expect(runtime.byName('web.1.t1')!.status).toBe('running');
    expect(executor.state).toBe('closed');
  });

  it('TaskExecutor: lists the engine again only after the retry pause when listing failed', async () => {
    const { runtime, executor, states, timers, quiet } = await setup();
    runtime.failNext('list', new Error('connect ENOENT /run/docker.sock'));
    executor.update(assignments(task('t1')));
    await quiet();
    expect(runtime.calls).toEqual(['list {"org.shoal.node.id":"n1"}']);
    timers.fireAll();
    await quiet();
    expect(runtime.calls.filter((c) => c.startsWith('list'))).toHaveLength(2);
    expect(states('t1').at(-1)).toBe('RUNNING');
  });

  it('TaskExecutor.removeAll: stops each task with its stop signal and grace, removes every container, then resolves', async () => {
    const { runtime, executor, quiet } = await setup();
    executor.update(
      assignments(
        task('t1', {}, { stopSignal: 'SIGQUIT', stopGracePeriod: { seconds: 2, nanos: 0 } }),
        task('t2'),
        task('t3', { desiredState: S.TASK_STATE_READY }),
      ),
    );
    await quiet();
    expect(runtime.byName('web.3.t3')!.status).toBe('created');
    await executor.removeAll();
    expect(runtime.containers.size).toBe(0);
    expect(runtime.calls.filter((c) => /^(stop|remove)/.test(c)).sort()).toEqual([
      'remove web.1.t1',
      'remove web.2.t2',
      'remove web.3.t3',
      'stop web.1.t1 SIGQUIT 2000',
      'stop web.2.t2 default 10000',
    ]);
  });

  it('TaskExecutor.removeAll: ignores assignment sets once called', async () => {
    const { runtime, executor } = await setup();
    executor.update(assignments(task('t1')));
    const removed = executor.removeAll();
    executor.update(assignments(task('t1'), task('t2')));
    await removed;
    expect(runtime.containers.size).toBe(0);
    expect(runtime.calls.filter((c) => c.startsWith('create'))).toEqual([]);
    expect(executor.state).toBe('removing');
  });

  it('TaskExecutor.removeAll: stops every container at once, not `parallelism` at a time', async () => {
    const { runtime, executor, quiet } = await setup({ parallelism: 2 });
    executor.update(assignments(...Array.from({ length: 5 }, (_, i) => task(`t${i + 1}`))));
    await quiet();
    let stopping = 0;
    let release!: () => void;
    const graceOver = new Promise<void>((resolve) => {
      release = resolve;
    });
    const stop = runtime.stop.bind(runtime);
    runtime.stop = async (id, options) => {
      stopping++;
      await graceOver;
      return stop(id, options);
    };
    const removed = executor.removeAll();
    await quiet();
    const stoppingAtOnce = stopping;
    release();
    await removed;
    expect(stoppingAtOnce).toBe(5);
    expect(runtime.containers.size).toBe(0);
  });

  it('TaskExecutor.removeAll: rejects naming the container left and the engine reason when a remove fails, after one attempt', async () => {
    const { runtime, executor, timers, quiet } = await setup();
    executor.update(assignments(task('t1'), task('t2')));
    await quiet();
    let attempts = 0;
    const remove = runtime.remove.bind(runtime);
    runtime.remove = async (id) => {
      if (runtime.containers.get(id)?.name !== 'web.1.t1') return remove(id);
      attempts++;
      throw new Error('driver "overlay2" failed to remove root filesystem: device busy');
    };
    const error = await executor.removeAll().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShoalError);
    expect((error as ShoalError).code).toBe('SHOAL_UNAVAILABLE');
    expect((error as ShoalError).message).toBe(
      'Remove task containers: "web.1.t1": driver "overlay2" failed to remove root filesystem: device busy',
    );
    expect([...runtime.containers.values()].map((c) => c.name)).toEqual(['web.1.t1']);
    timers.fireAll();
    await quiet();
    expect(attempts).toBe(1);
  });

  it('TaskExecutor.removeAll: removes what an earlier agent left, with the stop signal and grace each container carries, when no assignment set came yet', async () => {
    const runtime = new FakeContainerRuntime({ images: [IMAGE] });
    const labels = (taskId: string) => ({ 'org.shoal.task.id': taskId, 'org.shoal.node.id': NODE });
    runtime.seed({
      name: 'web.1.t1',
      labels: labels('t1'),
      stopSignal: 'SIGQUIT',
      stopGraceMs: 2000,
    });
    runtime.seed({ name: 'web.2.t2', labels: labels('t2'), status: 'exited', pid: 0 });
    runtime.seed({ name: 'other', labels: { 'org.shoal.node.id': 'n2' } });
    const { executor } = await setup({ runtime });
    await executor.removeAll();
    expect([...runtime.containers.values()].map((c) => c.name)).toEqual(['other']);
    expect(runtime.calls.filter((c) => /^(stop|remove)/.test(c)).sort()).toEqual([
      'remove web.1.t1',
      'remove web.2.t2',
      'stop web.1.t1 SIGQUIT 2000',
    ]);
  });

  it('TaskExecutor.removeAll: rejects when the executor is closed', async () => {
    const { executor } = await setup();
    await executor.close();
    const error = await executor.removeAll().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShoalError);
    expect((error as ShoalError).code).toBe('SHOAL_FAILED_PRECONDITION');
    expect((error as ShoalError).message).toBe('Remove task containers: the executor is closed');
  });

  it('compileTaskExecutorOptions: throws RangeError when parallelism is 0', async () => {
    await expect(setup({ parallelism: 0 })).rejects.toThrow(
      new RangeError(
        'Start task executor: parallelism must be a whole number of at least 1: got 0',
      ),
    );
  });
});
