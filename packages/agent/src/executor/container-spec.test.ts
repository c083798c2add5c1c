import { pb } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import { containerName, renderContainerSpec, TASK_LABELS } from './container-spec.js';

const CONTEXT = { nodeId: 'node1', serviceName: 'web' };

function task(partial: pb.DeepPartial<pb.Task> = {}): pb.Task {
  return pb.Task.fromPartial({
    id: 'task1',
    serviceId: 'svc1',
    slot: 3,
    spec: { container: { image: 'busybox' } },
    ...partial,
  });
}

function container(partial: pb.DeepPartial<pb.ContainerSpec>): pb.DeepPartial<pb.Task> {
  return { spec: { container: { image: 'busybox', ...partial } } };
}

describe('renderContainerSpec', () => {
  const cases: {
    name: string;
    input: pb.Task;
    want: Record<string, unknown>;
  }[] = [
    {
      name: 'names a replicated task <service>.<slot>.<task-id>',
      input: task(),
      want: { name: 'web.3.task1', Image: 'busybox' },
    },
    {
      name: 'names a global task <service>.<node-id>.<task-id>',
      input: task({ slot: 0 }),
      want: { name: 'web.node1.task1' },
    },
    {
      name: 'labels the task, service, node and slot over the spec labels',
      input: task(container({ labels: { team: 'a', [TASK_LABELS.TASK_ID]: 'forged' } })),
      want: {
        Labels: {
          team: 'a',
          'org.shoal.task.id': 'task1',
          'org.shoal.service.id': 'svc1',
          'org.shoal.service.name': 'web',
          'org.shoal.node.id': 'node1',
          'org.shoal.task.slot': '3',
        },
      },
    },
    {
      name: 'maps command to entrypoint and args to cmd with env, dir, user and hostname',
      input: task(
        container({
          command: ['sh', '-c'],
          args: ['echo hi'],
          env: ['A=1'],
          dir: '/tmp',
          user: 'nobody',
          hostname: 'h1',
        }),
      ),
      want: {
        Entrypoint: ['sh', '-c'],
        Cmd: ['echo hi'],
        Env: ['A=1'],
        WorkingDir: '/tmp',
        User: 'nobody',
        Hostname: 'h1',
      },
    },
    {
      name: "keeps the image's entrypoint and cmd when the spec has none",
      input: task(),
      want: { Entrypoint: undefined, Cmd: undefined, WorkingDir: undefined, Env: [] },
    },
    {
      name: 'renders network none, restart no, mounts and limits into the host config',
      input: task({
        spec: {
          container: {
            image: 'busybox',
            mounts: [
              { type: pb.Mount_Type.TYPE_BIND, source: '/srv', target: '/data', readOnly: true },
              {
                type: pb.Mount_Type.TYPE_VOLUME,
                source: 'vol',
                target: '/v',
                volumeLabels: { k: 'v' },
              },
              { type: pb.Mount_Type.TYPE_VOLUME, target: '/anon' },
              { type: pb.Mount_Type.TYPE_TMPFS, target: '/run', tmpfsSizeBytes: 1024 },
            ],
          },
          resources: { limits: { nanoCpus: 500_000_000, memoryBytes: 64 * 1024 * 1024 } },
        },
      }),
      want: {
        HostConfig: {
          NetworkMode: 'none',
          RestartPolicy: { Name: 'no' },
          Mounts: [
            { Type: 'bind', Source: '/srv', Target: '/data', ReadOnly: true },
            { Type: 'volume', Source: 'vol', Target: '/v', VolumeOptions: { Labels: { k: 'v' } } },
            { Type: 'volume', Target: '/anon' },
            { Type: 'tmpfs', Target: '/run', TmpfsOptions: { SizeBytes: 1024 } },
          ],
          NanoCpus: 500_000_000,
          Memory: 67_108_864,
        },
      },
    },
    {
      name: 'renders the health check with durations in nanoseconds',
      input: task(
        container({
          healthcheck: {
            test: ['CMD-SHELL', 'wget -qO- localhost'],
            interval: { seconds: 2, nanos: 0 },
            timeout: { seconds: 0, nanos: 500_000_000 },
            retries: 3,
            startPeriod: { seconds: 1, nanos: 0 },
          },
        }),
      ),
      want: {
        Healthcheck: {
          Test: ['CMD-SHELL', 'wget -qO- localhost'],
          Interval: 2_000_000_000,
          Timeout: 500_000_000,
          Retries: 3,
          StartPeriod: 1_000_000_000,
        },
      },
    },
    {
      name: 'passes a NONE health check on, which disables the image one',
      input: task(container({ healthcheck: { test: ['NONE'] } })),
      want: { Healthcheck: { Test: ['NONE'] } },
    },
    {
      name: 'defaults the stop timeout to 10 s without stop signal',
      input: task(),
      want: { StopTimeout: 10, StopSignal: undefined },
    },
    {
      name: 'rounds the grace period up to whole seconds and keeps the stop signal',
      input: task(
        container({ stopSignal: 'SIGQUIT', stopGracePeriod: { seconds: 2, nanos: 500_000_000 } }),
      ),
      want: { StopTimeout: 3, StopSignal: 'SIGQUIT' },
    },
  ];

  for (const { name, input, want } of cases) {
    it(`renderContainerSpec: ${name}`, () => {
      // An undefined value in `want` means the key must be absent (the image's default).
      const got = renderContainerSpec(input, CONTEXT);
      const present = Object.entries(want).filter(([, value]) => value !== undefined);
      expect(got).toMatchObject(Object.fromEntries(present));
      for (const [key, value] of Object.entries(want)) {
        if (value === undefined) expect(got).not.toHaveProperty(key);
      }
    });
  }

  it('renderContainerSpec: throws TypeError when the task has no container spec', () => {
    expect(() => renderContainerSpec(pb.Task.fromPartial({ id: 't9' }), CONTEXT)).toThrow(
      new TypeError('Render container of task "t9": the task has no container spec'),
    );
  });

  it('containerName: agrees with the rendered name', () => {
    expect(containerName(task(), CONTEXT)).toBe(renderContainerSpec(task(), CONTEXT).name);
  });
});
