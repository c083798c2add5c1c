import { pb } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import { harness } from './service-fake-daemon.js';

async function created(...flags: string[]): Promise<pb.ServiceSpec> {
  const h = harness();
  const code = await h.run('service', 'create', '--name', 'web', '-d', ...flags, 'nginx');
  expect(h.err).toEqual([]);
  expect(code).toBe(0);
  return h.request<pb.CreateServiceRequest>('createService').spec!;
}

const s = (seconds: number) => ({ seconds, nanos: 0 });

describe('shoal service create: flags', () => {
  const cases: {
    name: string;
    flags: string[];
    pick: (spec: pb.ServiceSpec) => unknown;
    want: unknown;
  }[] = [
    {
      name: '--replicas',
      flags: ['--replicas', '3'],
      pick: (x) => x.mode,
      want: { $case: 'replicated', replicated: { replicas: 3 } },
    },
    {
      name: 'no --replicas',
      flags: [],
      pick: (x) => x.mode,
      want: { $case: 'replicated', replicated: { replicas: 1 } },
    },
    {
      name: '--mode global',
      flags: ['--mode', 'global'],
      pick: (x) => x.mode,
      want: { $case: 'global', global: {} },
    },
    {
      name: '--replicas-max-per-node',
      flags: ['--replicas-max-per-node', '2'],
      pick: (x) => x.task?.placement?.maxReplicas,
      want: 2,
    },
    {
      name: '-e and --env',
      flags: ['-e', 'A=1', '--env', 'B=2'],
      pick: (x) => x.task?.container?.env,
      want: ['A=1', 'B=2'],
    },
    {
      name: '--label',
      flags: ['--label', 'team=web', '--label', 'tier'],
      pick: (x) => x.annotations?.labels,
      want: { team: 'web', tier: '' },
    },
    {
      name: '--container-label',
      flags: ['--container-label', 'a=b'],
      pick: (x) => x.task?.container?.labels,
      want: { a: 'b' },
    },
    {
      name: '--constraint',
      flags: ['--constraint', 'node.role==worker', '--constraint', 'node.labels.zone!=b'],
      pick: (x) => x.task?.placement?.constraints,
      want: ['node.role==worker', 'node.labels.zone!=b'],
    },
    {
      name: '--placement-pref',
      flags: ['--placement-pref', 'spread=node.labels.zone'],
      pick: (x) => x.task?.placement?.preferences,
      want: [{ spreadDescriptor: 'node.labels.zone' }],
    },
    {
      name: '--reserve-cpu and --reserve-memory',
      flags: ['--reserve-cpu', '0.5', '--reserve-memory', '64m'],
      pick: (x) => x.task?.resources?.reservations,
      want: { nanoCpus: 5e8, memoryBytes: 64 * 1024 ** 2 },
    },
    {
      name: '--limit-cpu and --limit-memory',
      flags: ['--limit-cpu', '2', '--limit-memory', '1g'],
      pick: (x) => x.task?.resources?.limits,
      want: { nanoCpus: 2e9, memoryBytes: 1024 ** 3 },
    },
    {
      name: '--restart-*',
      flags: [
        '--restart-condition',
        'on-failure',
        '--restart-delay',
        '10s',
        '--restart-max-attempts',
        '4',
        '--restart-window',
        '1m',
      ],
      pick: (x) => x.task?.restart,
      want: {
        condition: pb.RestartPolicy_Condition.CONDITION_ON_FAILURE,
        delay: s(10),
        maxAttempts: 4,
        window: s(60),
      },
    },
    {
      name: 'default restart policy',
      flags: [],
      pick: (x) => x.task?.restart,
      want: {
        condition: pb.RestartPolicy_Condition.CONDITION_ANY,
        delay: s(5),
        maxAttempts: 0,
        window: s(0),
      },
    },
    {
      name: '--update-*',
      flags: [
        '--update-parallelism',
        '2',
        '--update-delay',
        '10s',
        '--update-failure-action',
        'rollback',
        '--update-order',
        'start-first',
        '--update-monitor',
        '30s',
        '--update-max-failure-ratio',
        '0.25',
      ],
      pick: (x) => x.update,
      want: {
        parallelism: 2,
        delay: s(10),
        failureAction: pb.UpdateConfig_FailureAction.FAILURE_ACTION_ROLLBACK,
        order: pb.UpdateConfig_Order.ORDER_START_FIRST,
        monitor: s(30),
        maxFailureRatio: 0.25,
      },
    },
    {
      name: '--update-parallelism 0 alone',
      flags: ['--update-parallelism', '0'],
      pick: (x) => x.update,
      want: {
        parallelism: 0,
        delay: s(0),
        failureAction: pb.UpdateConfig_FailureAction.FAILURE_ACTION_PAUSE,
        order: pb.UpdateConfig_Order.ORDER_STOP_FIRST,
        monitor: s(5),
        maxFailureRatio: 0,
      },
    },
    {
      name: '--rollback-*',
      flags: [
        '--rollback-parallelism',
        '3',
        '--rollback-delay',
        '1s',
        '--rollback-failure-action',
        'continue',
        '--rollback-order',
        'start-first',
        '--rollback-monitor',
        '2s',
        '--rollback-max-failure-ratio',
        '1',
      ],
      pick: (x) => x.rollback,
      want: {
        parallelism: 3,
        delay: s(1),
        failureAction: pb.UpdateConfig_FailureAction.FAILURE_ACTION_CONTINUE,
        order: pb.UpdateConfig_Order.ORDER_START_FIRST,
        monitor: s(2),
        maxFailureRatio: 1,
      },
    },
    {
      name: '--health-*',
      flags: [
        '--health-cmd',
        'curl -f http://localhost/',
        '--health-interval',
        '10s',
        '--health-retries',
        '5',
        '--health-timeout',
        '2s',
        '--health-start-period',
        '30s',
      ],
      pick: (x) => x.task?.container?.healthcheck,
      want: {
        test: ['CMD-SHELL', 'curl -f http://localhost/'],
        interval: s(10),
        timeout: s(2),
        retries: 5,
        startPeriod: s(30),
      },
    },
    {
      name: '--no-healthcheck',
      flags: ['--no-healthcheck'],
      pick: (x) => x.task?.container?.healthcheck,
      want: { test: ['NONE'], retries: 0 },
    },
    {
      name: '--stop-grace-period',
      flags: ['--stop-grace-period', '1m30s'],
      pick: (x) => x.task?.container?.stopGracePeriod,
      want: s(90),
    },
    {
      name: 'default stop grace period',
      flags: [],
      pick: (x) => x.task?.container?.stopGracePeriod,
      want: s(10),
    },
    {
      name: '--stop-signal',
      flags: ['--stop-signal', 'SIGQUIT'],
      pick: (x) => x.task?.container?.stopSignal,
      want: 'SIGQUIT',
    },
    {
      name: '-w and -u',
      flags: ['-w', '/srv', '-u', '1000:1000'],
      pick: (x) => [x.task?.container?.dir, x.task?.container?.user],
      want: ['/srv', '1000:1000'],
    },
    {
      name: '--workdir and --user',
      flags: ['--workdir', '/app', '--user', 'www'],
      pick: (x) => [x.task?.container?.dir, x.task?.container?.user],
      want: ['/app', 'www'],
    },
    {
      name: '--hostname',
      flags: ['--hostname', 'web-host'],
      pick: (x) => x.task?.container?.hostname,
      want: 'web-host',
    },
    {
      name: '--entrypoint',
      flags: ['--entrypoint', '/bin/sh -c'],
      pick: (x) => x.task?.container?.command,
      want: ['/bin/sh', '-c'],
    },
    {
      name: '--mount',
      flags: [
        '--mount',
        'type=bind,source=/srv,target=/data,readonly',
        '--mount',
        'type=tmpfs,target=/tmp,tmpfs-size=1m',
      ],
      pick: (x) =>
        x.task?.container?.mounts.map((m) => [
          m.type,
          m.source,
          m.target,
          m.readOnly,
          m.tmpfsSizeBytes,
        ]),
      want: [
        [pb.Mount_Type.TYPE_BIND, '/srv', '/data', true, 0],
        [pb.Mount_Type.TYPE_TMPFS, '', '/tmp', false, 1024 ** 2],
      ],
    },
  ];
  for (const c of cases) {
    it(`shoal service create: sets the spec from ${c.name}`, async () => {
      expect(c.pick(await created(...c.flags))).toEqual(c.want);
    });
  }

  it('shoal service create: passes everything after IMAGE to the task, flags included', async () => {
    const h = harness();
    expect(
      await h.run('service', 'create', '-d', '--name', 'web', 'alpine', 'sh', '-c', 'sleep 1d'),
    ).toBe(0);
    const spec = h.request<pb.CreateServiceRequest>('createService').spec!;
    expect(spec.task?.container?.image).toBe('alpine');
    expect(spec.task?.container?.args).toEqual(['sh', '-c', 'sleep 1d']);
  });

  it('shoal service create: prints the service ID and nothing else with -d', async () => {
    const h = harness();
    expect(await h.run('service', 'create', '-d', '--name', 'web', 'nginx')).toBe(0);
    expect(h.text()).toBe('newsvc0000000000000000000\n');
    expect(h.calls.filter((c) => c.method === 'listTasks')).toEqual([]);
  });

  const invalid: { name: string; flags: string[]; error: string }[] = [
    {
      name: '--publish',
      flags: ['--publish', '80:80'],
      error: 'Error: --publish is not supported yet: published ports arrive with the routing mesh',
    },
    {
      name: '-p',
      flags: ['-p', '8080:80'],
      error: 'Error: --publish is not supported yet: published ports arrive with the routing mesh',
    },
    {
      name: '--network',
      flags: ['--network', 'backend'],
      error:
        'Error: --network is not supported yet: overlay networks arrive with the networking issue',
    },
    {
      name: '--endpoint-mode',
      flags: ['--endpoint-mode', 'dnsrr'],
      error:
        'Error: --endpoint-mode is not supported yet: virtual IPs and DNS round robin arrive with service discovery',
    },
    {
      name: 'a negative --replicas',
      flags: ['--replicas', '-1'],
      error: 'Error: Invalid --replicas "-1": want a whole number, 0 or more',
    },
    {
      name: 'a word for --replicas',
      flags: ['--replicas', 'three'],
      error: 'Error: Invalid --replicas "three": want a whole number, 0 or more',
    },
    {
      name: '--replicas with --mode global',
      flags: ['--mode', 'global', '--replicas', '2'],
      error: 'Error: Invalid --replicas "2": replicas can only be used with replicated mode',
    },
    {
      name: 'an unknown --mode',
      flags: ['--mode', 'job'],
      error:
        "Error: Option '--mode <mode>' argument 'job' is invalid. Allowed choices are replicated, global.",
    },
    {
      name: 'a bad --restart-condition',
      flags: ['--restart-condition', 'always'],
      error:
        "Error: Option '--restart-condition <condition>' argument 'always' is invalid. Allowed choices are none, on-failure, any.",
    },
    {
      name: 'a bad --restart-delay',
      flags: ['--restart-delay', 'soon'],
      error: 'Error: Invalid --restart-delay "soon": want a duration such as 30s, 5m or 1h30m',
    },
    {
      name: 'a bad --update-failure-action',
      flags: ['--update-failure-action', 'panic'],
      error:
        "Error: Option '--update-failure-action <action>' argument 'panic' is invalid. Allowed choices are pause, continue, rollback.",
    },
    {
      name: '--rollback-failure-action rollback',
      flags: ['--rollback-failure-action', 'rollback'],
      error:
        "Error: Option '--rollback-failure-action <action>' argument 'rollback' is invalid. Allowed choices are pause, continue.",
    },
    {
      name: 'a bad --update-order',
      flags: ['--update-order', 'random'],
      error:
        "Error: Option '--update-order <order>' argument 'random' is invalid. Allowed choices are stop-first, start-first.",
    },
    {
      name: 'a --update-max-failure-ratio above 1',
      flags: ['--update-max-failure-ratio', '1.5'],
      error: 'Error: Invalid --update-max-failure-ratio "1.5": must be from 0 to 1',
    },
    {
      name: 'a bad --reserve-memory',
      flags: ['--reserve-memory', 'lots'],
      error: 'Error: Invalid --reserve-memory "lots": want a size such as 536870912, 512m or 2g',
    },
    {
      name: 'a bad --limit-cpu',
      flags: ['--limit-cpu', 'x'],
      error: 'Error: Invalid --limit-cpu "x": want a number of CPUs such as 2 or 0.5',
    },
    {
      name: 'a reservation above the limit',
      flags: ['--limit-cpu', '1', '--reserve-cpu', '2'],
      error:
        'Error: Create service: invalid --reserve-cpu "2": reservation must not exceed --limit-cpu "1"',
    },
    {
      name: 'a bad --constraint',
      flags: ['--constraint', 'zone=east'],
      error:
        'Error: Parse constraint: invalid --constraint "zone=east": expected one operator from ==, !=',
    },
    {
      name: 'a bad --placement-pref',
      flags: ['--placement-pref', 'pack=node.labels.x'],
      error:
        'Error: Parse placement preference: invalid --placement-pref "pack=node.labels.x": strategy "pack" is not supported: want spread',
    },
    {
      name: 'a bad --mount',
      flags: ['--mount', 'type=bind,target=/data'],
      error:
        'Error: Parse mount: invalid --mount "type=bind,target=/data": source is required for a bind mount',
    },
    {
      name: 'a bad --env',
      flags: ['--env', 'NOVALUE'],
      error: 'Error: Create service: invalid --env "NOVALUE": want K=V',
    },
    {
      name: 'an empty --label key',
      flags: ['--label', '=x'],
      error: 'Error: Invalid --label "=x": want key=value with a non-empty key',
    },
    {
      name: '--no-healthcheck with --health-cmd',
      flags: ['--no-healthcheck', '--health-cmd', 'true'],
      error: 'Error: Invalid --no-healthcheck: it conflicts with the --health-* options',
    },
    {
      name: 'a bad --health-retries',
      flags: ['--health-retries', '-3'],
      error: 'Error: Invalid --health-retries "-3": want a whole number, 0 or more',
    },
    {
      name: 'a bad --stop-grace-period',
      flags: ['--stop-grace-period', '10'],
      error: 'Error: Invalid --stop-grace-period "10": want a duration such as 30s, 5m or 1h30m',
    },
    {
      name: 'an unbalanced --entrypoint',
      flags: ['--entrypoint', 'sh "-c'],
      error: 'Error: Invalid --entrypoint "sh "-c": unbalanced quotes',
    },
    {
      name: 'a bad --name',
      flags: ['--name', 'web site'],
      error:
        'Error: Create service: invalid --name "web site": name must be valid as a DNS name component',
    },
  ];
  for (const c of invalid) {
    it(`shoal service create: exits 2 with one error line and creates nothing for ${c.name}`, async () => {
      const h = harness();
      expect(await h.run('service', 'create', '--name', 'web', ...c.flags, 'nginx')).toBe(2);
      expect(h.err).toEqual([`${c.error}\n`]);
      expect(h.out).toEqual([]);
      expect(h.connects()).toBe(0);
    });
  }

  it('shoal service create: needs --name, as the validator says', async () => {
    const h = harness();
    expect(await h.run('service', 'create', 'nginx')).toBe(2);
    expect(h.err).toEqual(['Error: Create service: --name is required\n']);
    expect(h.connects()).toBe(0);
  });
});
