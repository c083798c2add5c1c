import { pb } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import {
  FAILED,
  harness,
  PENDING,
  RUNNING,
  SELF,
  SHUTDOWN,
  service,
  task,
  type World,
} from './service-fake-daemon.js';

describe('shoal service progress', () => {
  const ID = 'newsvc0000000000000000000';
  const step = (n: number, tasks: pb.Task[][]) => tasks[Math.min(n, tasks.length) - 1]!;

  it('shoal service create: shows per-slot progress until the service converged', async () => {
    const timeline = [
      [task('a', ID, 1, PENDING), task('b', ID, 2, PENDING)],
      [task('a', ID, 1, pb.TaskState.TASK_STATE_PREPARING), task('b', ID, 2, PENDING)],
      [task('a', ID, 1, RUNNING), task('b', ID, 2, RUNNING)],
    ];
    const h = harness(undefined, { onPoll: (n, w) => (w.tasks = step(n, timeline)) });
    expect(await h.run('service', 'create', '--name', 'web', '--replicas', '2', 'nginx')).toBe(0);
    expect(h.text()).toBe(
      [
        ID,
        'overall progress: 0 out of 2 tasks',
        '1/2: pending',
        '2/2: pending',
        '1/2: preparing',
        'overall progress: 2 out of 2 tasks',
        '1/2: running',
        '2/2: running',
        'verify: Waiting 5 seconds to verify that tasks are stable...',
        'verify: Service converged',
        '',
      ].join('\n'),
    );
    // Converged at the third poll, then stable for the 5 s monitor.
    expect(h.elapsed()).toBe(1000 + 5000);
  });

  it('shoal service create: prints no progress with -q but still waits', async () => {
    const h = harness(undefined, { onPoll: (_, w) => (w.tasks = [task('a', ID, 1, RUNNING)]) });
    expect(await h.run('service', 'create', '-q', '--name', 'web', 'nginx')).toBe(0);
    expect(h.text()).toBe(`${ID}\n`);
    expect(h.elapsed()).toBe(5000);
  });

  it('shoal service create: redraws in place with bars on a terminal', async () => {
    const h = harness(undefined, {
      isTty: true,
      onPoll: (n, w) => (w.tasks = [task('a', ID, 1, n === 1 ? PENDING : RUNNING)]),
    });
    expect(await h.run('service', 'create', '--name', 'web', 'nginx')).toBe(0);
    expect(h.out[1]).toContain('\x1b[2K1/1: pending    [');
    expect(h.out[2]?.startsWith('\x1b[2A\x1b[2Koverall progress: 1 out of 1 tasks\n')).toBe(true);
    expect(h.out.at(-1)).toContain(`1/1: running    [${'='.repeat(50)}>]`);
    expect(h.out.at(-1)).toContain('verify: Service converged');
  });

  it('shoal service create: fails with the reason when no node can take any task', async () => {
    const reason = 'no suitable node (scheduling constraints not satisfied on 2 nodes)';
    const h = harness(undefined, {
      onPoll: (_, w) => (w.tasks = [task('a', ID, 1, PENDING, { err: reason })]),
    });
    expect(await h.run('service', 'create', '--name', 'web', 'nginx')).toBe(1);
    expect(h.err).toEqual([`Error: Service "web" cannot converge: ${reason}\n`]);
    expect(h.text()).toContain(`1/1: ${reason}\n`);
    expect(h.elapsed()).toBe(30_000);
  });

  it('shoal service create: fails with the task error when a slot keeps failing', async () => {
    const failed = (id: string) =>
      task(id, ID, 1, FAILED, { desired: SHUTDOWN, err: 'task: non-zero exit (2)', ageMs: 0 });
    const timeline = [
      [task('a', ID, 1, PENDING)],
      [failed('a'), task('b', ID, 1, PENDING)],
      [failed('a'), failed('b'), task('c', ID, 1, PENDING)],
      [failed('a'), failed('b'), failed('c'), task('d', ID, 1, PENDING)],
    ];
    const h = harness(undefined, { onPoll: (n, w) => (w.tasks = step(n, timeline)) });
    expect(await h.run('service', 'create', '--name', 'web', 'nginx')).toBe(1);
    expect(h.err).toEqual([
      'Error: Service "web" cannot converge: task web.1 keeps failing: task: non-zero exit (2)\n',
    ]);
  });

  it('shoal service update: fails when the updater pauses the update', async () => {
    const w: World = {
      services: [
        service(ID, 'web', 'replicated', {
          updateStatus: {
            state: pb.UpdateStatus_State.STATE_COMPLETED,
            message: 'update completed',
          },
        }),
      ],
      tasks: [],
    };
    const h = harness(w, {
      onPoll: (n, world) => {
        world.tasks = [1, 2, 3].map((slot) =>
          task(`t${slot}`, ID, slot, RUNNING, { specVersion: 1 }),
        );
        if (n === 2) {
          world.services[0]!.updateStatus = {
            state: pb.UpdateStatus_State.STATE_PAUSED,
            message: 'update paused due to failure or early termination of task t9',
          };
        }
      },
    });
    expect(await h.run('service', 'update', '--image', 'nginx:2', 'web')).toBe(1);
    expect(h.err).toEqual([
      'Error: Service "web" cannot converge: update paused: update paused due to failure or early termination of task t9\n',
    ]);
    expect(h.text()).toContain('overall progress: 0 out of 3 tasks\n');
  });

  it('shoal service update: shows the rollback and fails when the updater rolled the update back', async () => {
    const w: World = { services: [service(ID, 'web', 'replicated')], tasks: [] };
    const statuses: (pb.UpdateStatus | undefined)[] = [
      undefined,
      {
        state: pb.UpdateStatus_State.STATE_ROLLBACK_STARTED,
        message: 'update rolled back due to failure or early termination of task t9',
      },
      { state: pb.UpdateStatus_State.STATE_ROLLBACK_COMPLETED, message: 'rollback completed' },
    ];
    const h = harness(w, {
      onPoll: (n, world) => {
        world.tasks = [1, 2, 3].map((slot) =>
          task(`t${slot}`, ID, slot, RUNNING, { specVersion: 1 }),
        );
        world.services[0]!.updateStatus = statuses[Math.min(n, 3) - 1];
      },
    });
    expect(
      await h.run(
        'service',
        'update',
        '--update-failure-action',
        'rollback',
        '--image',
        'nginx:bad',
        'web',
      ),
    ).toBe(1);
    expect(h.text()).toContain(
      'rollback: update rolled back due to failure or early termination of task t9\n',
    );
    expect(h.err).toEqual([
      'Error: Service "web" cannot converge: update rolled back: rollback completed\n',
    ]);
  });

  it('shoal service update: waits for tasks of the new spec before converging', async () => {
    const w: World = { services: [service(ID, 'web', 'replicated')], tasks: [] };
    const h = harness(w, {
      onPoll: (n, world) => {
        const version = n < 3 ? 1 : 2;
        world.tasks = [1, 2, 3].map((slot) =>
          task(`t${slot}v${version}`, ID, slot, RUNNING, { specVersion: version }),
        );
      },
    });
    expect(await h.run('service', 'update', '--env-add', 'X=1', 'web')).toBe(0);
    expect(h.text()).toMatch(
      /overall progress: 0 out of 3 tasks\n(.*\n)*overall progress: 3 out of 3 tasks\n/,
    );
    expect(h.calls.filter((c) => c.method === 'listTasks')).toHaveLength(3 + 10);
    expect(h.text()).toMatch(/verify: Service converged\n$/);
  });

  it('shoal service scale: stops waiting after the bound and says how far it got', async () => {
    const w: World = { services: [service(ID, 'web', 'replicated')], tasks: [] };
    const h = harness(w, {
      onPoll: (_, world) =>
        (world.tasks = [
          task('a', ID, 1, RUNNING, { specVersion: 2 }),
          task('b', ID, 2, pb.TaskState.TASK_STATE_STARTING, { specVersion: 2 }),
        ]),
    });
    expect(await h.run('service', 'scale', 'web=2')).toBe(1);
    expect(h.err).toEqual([
      'Error: Service "web" did not converge within 5m0s: 1 out of 2 tasks running\n',
    ]);
    expect(h.elapsed()).toBe(300_000);
  });

  it('shoal service rollback: words the progress as a rollback', async () => {
    const w: World = { services: [service(ID, 'web', 'replicated')], tasks: [] };
    w.services[0]!.previousSpec = w.services[0]!.spec;
    const h = harness(w, {
      onPoll: (_, world) =>
        (world.tasks = [1, 2, 3].map((slot) =>
          task(`t${slot}`, ID, slot, RUNNING, { specVersion: 2 }),
        )),
    });
    expect(await h.run('service', 'rollback', 'web')).toBe(0);
    expect(h.text()).toContain(
      'web\nrollback: manually requested rollback\noverall progress: rolling back update: 3 out of 3 tasks\n',
    );
  });

  it('shoal service create: follows a global service node by node', async () => {
    const h = harness(undefined, {
      onPoll: (_, w) =>
        (w.tasks = [
          task('a', ID, 0, RUNNING, { node: SELF }),
          task('b', ID, 0, RUNNING, { node: 'n2bbbbbbbbbbbbbbbbbbbbbbb' }),
        ]),
    });
    expect(await h.run('service', 'create', '--mode', 'global', '--name', 'mon', 'nginx')).toBe(0);
    expect(h.text()).toContain(
      'overall progress: 2 out of 2 tasks\nn1aaaaaaaaaa: running\nn2bbbbbbbbbb: running\n',
    );
  });
});
