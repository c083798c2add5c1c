// The agent's task executor on a real engine: one lab node's dockerd, no shoald. The test
// process plays the agent (assignments in, status reports out) against the node's docker
// socket, so what is checked is the executor and DockerRuntime alone: containers as
// rendered, states from real exits and health checks, adoption after a restart.
import { DockerRuntime, TaskExecutor } from '@shoal/agent';
import { pb } from '@shoal/api';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, TASK_IMAGE } from '../lab/index.js';

const S = pb.TaskState;
const NODE_ID = 'execnode1';
const WAIT_MS = 30_000;

let lab: Lab;
let runtime: DockerRuntime;
let executor: TaskExecutor;
const reports: pb.UpdateTaskStatusRequest_TaskStatusUpdate[] = [];
const tasks = new Map<string, pb.Task>();

function task(
  id: string,
  slot: number,
  container: pb.DeepPartial<pb.ContainerSpec>,
  partial: pb.DeepPartial<pb.Task> = {},
): pb.Task {
  return pb.Task.fromPartial({
    id,
    serviceId: 'svc1',
    slot,
    nodeId: NODE_ID,
    serviceAnnotations: { name: 'web' },
    desiredState: S.TASK_STATE_RUNNING,
    status: { state: S.TASK_STATE_ASSIGNED },
    spec: {
      container: {
        image: TASK_IMAGE,
        command: ['sleep', '3600'],
        // sleep as PID 1 ignores SIGTERM: keep the kill that follows quick.
        stopGracePeriod: { seconds: 1, nanos: 0 },
        ...container,
      },
    },
    ...partial,
  });
}

function assign(...changed: pb.Task[]): void {
  for (const t of changed) tasks.set(t.id, t);
  executor.update({ tasks: new Map(tasks) });
}

function unassign(id: string): void {
  tasks.delete(id);
  executor.update({ tasks: new Map(tasks) });
}

async function startExecutor(): Promise<TaskExecutor> {
  return TaskExecutor.start({
    runtime,
    nodeId: NODE_ID,
    log: pino({ level: 'silent' }),
    report: async (updates) => {
      reports.push(...updates);
    },
  });
}

/** The last status reported for `taskId`. */
function last(taskId: string): pb.TaskStatus | undefined {
  return reports.filter((r) => r.taskId === taskId).at(-1)?.status;
}

/** Waits until the last report of `taskId` is in `state`; polls: the engine is real. */
async function until(taskId: string, state: pb.TaskState): Promise<pb.TaskStatus> {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    const status = last(taskId);
    if (status?.state === state) return status;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `Wait for task "${taskId}" to be ${S[state]}: still ${last(taskId) ? S[last(taskId)!.state] : 'unreported'} after ${WAIT_MS} ms`,
  );
}

/** The IDs of the containers labelled with this node, whatever their state. */
async function nodeContainers(): Promise<string[]> {
  const ps = await lab.exec('m1', [
    'docker',
    'ps',
    '-aq',
    '--filter',
    `label=org.shoal.node.id=${NODE_ID}`,
  ]);
  return ps.stdout.trim().split('\n').filter(Boolean);
}

beforeAll(async () => {
  lab = await Lab.create({ managers: 1, workers: 0, shoald: false });
  runtime = await DockerRuntime.connect({
    engineHost: `unix://${lab.node('m1').paths.dockerSocket}`,
  });
  executor = await startExecutor();
});

afterAll(async () => {
  await executor?.close();
  await Lab.down();
});

describe('task executor on a lab engine', () => {
  it('executor: runs a task as a container named, labelled and isolated as Swarm does', async () => {
    assign(task('t1', 1, { env: ['A=1'], labels: { team: 'x' } }));
    const status = await until('t1', S.TASK_STATE_RUNNING);
    const states = reports.filter((r) => r.taskId === 't1').map((r) => S[r.status!.state]);
    expect(states).toEqual([
      'TASK_STATE_ACCEPTED',
      'TASK_STATE_PREPARING',
      'TASK_STATE_READY',
      'TASK_STATE_STARTING',
      'TASK_STATE_RUNNING',
    ]);
    const inspect = await lab.exec('m1', [
      'docker',
      'inspect',
      '--format',
      '{{.Name}} {{.HostConfig.NetworkMode}} {{.HostConfig.RestartPolicy.Name}} {{index .Config.Labels "org.shoal.task.id"}} {{index .Config.Labels "team"}}',
      'web.1.t1',
    ]);
    expect(inspect.stdout.trim()).toBe('/web.1.t1 none no t1 x');
    expect(status.container?.containerId).toMatch(/^[0-9a-f]{64}$/);
  });

  it('executor: reports FAILED with the exit code when a container is killed by hand', async () => {
    assign(task('t2', 2, {}));
    await until('t2', S.TASK_STATE_RUNNING);
    await lab.exec('m1', ['docker', 'kill', 'web.2.t2']);
    const status = await until('t2', S.TASK_STATE_FAILED);
    expect(status.err).toBe('task: non-zero exit (137)');
  });

  it('executor: reports COMPLETE when the task exits 0', async () => {
    assign(task('t3', 3, { command: ['true'] }));
    await until('t3', S.TASK_STATE_COMPLETE);
  });

  it('executor: counts a task as running only once healthy and fails an unhealthy one', async () => {
    const check = (cmd: string) => ({
      test: ['CMD-SHELL', cmd],
      interval: { seconds: 0, nanos: 300_000_000 },
      retries: 1,
    });
    assign(
      task('t4', 4, { healthcheck: check('true') }),
      task('t5', 5, { healthcheck: check('false') }),
    );
    await until('t4', S.TASK_STATE_RUNNING);
    const states = reports.filter((r) => r.taskId === 't4').map((r) => S[r.status!.state]);
    expect(states.at(-2)).toBe('TASK_STATE_STARTING');
    const failed = await until('t5', S.TASK_STATE_FAILED);
    expect(failed.err).toBe('unhealthy container');
    expect(reports.some((r) => r.taskId === 't5' && r.status!.state === S.TASK_STATE_RUNNING)).toBe(
      false,
    );
  });

  it('executor: rejects a task whose image is missing', async () => {
    assign(task('t6', 6, { image: 'shoal-lab/missing:1' }));
    const status = await until('t6', S.TASK_STATE_REJECTED);
    expect(status.err).toBe('No such image: shoal-lab/missing:1');
  });

  it('executor: adopts a running container after a restart without restarting it', async () => {
    const before = await lab.exec('m1', [
      'docker',
      'inspect',
      '--format',
      '{{.State.StartedAt}}',
      'web.1.t1',
    ]);
    await executor.close();
    // The manager's view is what was reported: t1 runs, t2 to t6 are finished.
    for (const [id, t] of tasks) {
      tasks.set(id, { ...t, status: last(id) ?? t.status! });
    }
    reports.length = 0;
    executor = await startExecutor();
    // A new task as a marker: the executor adopts before it starts anything.
    assign(task('t9', 9, {}));
    await until('t9', S.TASK_STATE_RUNNING);
    const after = await lab.exec('m1', [
      'docker',
      'inspect',
      '--format',
      '{{.State.StartedAt}}',
      'web.1.t1',
    ]);
    expect(after.stdout.trim()).toBe(before.stdout.trim());
    // Nothing to tell the manager, and nothing started or created again.
    expect(reports.filter((r) => r.taskId !== 't9')).toEqual([]);
    const names = await lab.exec('m1', ['docker', 'ps', '-a', '--format', '{{.Names}}']);
    expect(names.stdout.trim().split('\n').sort()).toEqual([
      'web.1.t1',
      'web.2.t2',
      'web.3.t3',
      'web.4.t4',
      'web.5.t5',
      'web.9.t9',
    ]);
  });

  it('executor: stops and removes the container of a task no longer assigned', async () => {
    unassign('t1');
    const deadline = Date.now() + WAIT_MS;
    let ps = '';
    while (Date.now() < deadline) {
      ps = (await lab.exec('m1', ['docker', 'ps', '-a', '--format', '{{.Names}}'])).stdout;
      if (!ps.includes('web.1.t1')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(ps).not.toContain('web.1.t1');
  });

  it('executor: shuts a task down with its stop signal and SHUTDOWN when its desired state is SHUTDOWN', async () => {
    // Exit 3 on SIGUSR1 shows the spec's signal arrived, not the SIGKILL after the grace.
    const spec = {
      command: ['sh', '-c', 'trap "exit 3" USR1; while true; do sleep 0.2; done'],
      stopSignal: 'SIGUSR1',
      stopGracePeriod: { seconds: 20, nanos: 0 },
    };
    assign(task('t7', 7, spec));
    await until('t7', S.TASK_STATE_RUNNING);
    const started = Date.now();
    assign({ ...tasks.get('t7')!, desiredState: S.TASK_STATE_SHUTDOWN });
    await until('t7', S.TASK_STATE_SHUTDOWN);
    expect(Date.now() - started).toBeLessThan(10_000);
    const state = await lab.exec('m1', [
      'docker',
      'inspect',
      '--format',
      '{{.State.Status}} {{.State.ExitCode}}',
      'web.7.t7',
    ]);
    expect(state.stdout.trim()).toBe('exited 3');
  });

  it('executor: kills a task that ignores its stop signal once the grace period is over', async () => {
    // sleep as PID 1 has no handler for SIGUSR1, so the signal does nothing.
    const spec = { stopSignal: 'SIGUSR1', stopGracePeriod: { seconds: 1, nanos: 0 } };
    assign(task('t8', 8, spec));
    await until('t8', S.TASK_STATE_RUNNING);
    assign({ ...tasks.get('t8')!, desiredState: S.TASK_STATE_SHUTDOWN });
    await until('t8', S.TASK_STATE_SHUTDOWN);
    const state = await lab.exec('m1', [
      'docker',
      'inspect',
      '--format',
      '{{.State.Status}} {{.State.ExitCode}}',
      'web.8.t8',
    ]);
    expect(state.stdout.trim()).toBe('exited 137');
  });

  it('executor: removeAll stops and removes every task container of the node, then resolves', async () => {
    // t9 runs sleep as PID 1, which ignores SIGTERM: its stop takes the 1 s grace period.
    expect((await nodeContainers()).length).toBeGreaterThanOrEqual(2);
    await executor.removeAll();
    expect(await nodeContainers()).toEqual([]);
  });
});
