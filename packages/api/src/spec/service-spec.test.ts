import { describe, expect, it } from 'vitest';
import { ShoalError } from '../errors.js';
import {
  EndpointSpec_ResolutionMode,
  Mount_Type,
  PortConfig_Protocol,
  PortConfig_PublishMode,
  RestartPolicy_Condition,
  type ServiceSpec,
  UpdateConfig_FailureAction,
  UpdateConfig_Order,
} from '../pb.js';
import { validateServiceSpec } from './service-spec.js';

function spec(change: (s: ServiceSpec) => void = () => {}): ServiceSpec {
  const s: ServiceSpec = {
    annotations: { name: 'web', labels: {} },
    task: {
      container: {
        image: 'busybox:latest',
        labels: {},
        command: [],
        args: [],
        hostname: '',
        env: [],
        dir: '',
        user: '',
        mounts: [],
        stopSignal: '',
      },
      networks: [],
      forceUpdate: 0,
    },
  };
  change(s);
  return s;
}

const update = {
  parallelism: 1,
  failureAction: UpdateConfig_FailureAction.FAILURE_ACTION_PAUSE,
  maxFailureRatio: 0,
  order: UpdateConfig_Order.ORDER_STOP_FIRST,
};
const secs = (seconds: number) => ({ seconds, nanos: 0 });

describe('validateServiceSpec defaults', () => {
  it('validateServiceSpec: fills in Docker defaults when the spec sets nothing', () => {
    const got = validateServiceSpec(spec());
    expect(got.mode).toEqual({ $case: 'replicated', replicated: { replicas: 1 } });
    expect(got.task?.restart).toEqual({
      condition: RestartPolicy_Condition.CONDITION_ANY,
      delay: secs(5),
      maxAttempts: 0,
      window: secs(0),
    });
    const defaults = { ...update, delay: secs(0), monitor: secs(5) };
    expect(got.update).toEqual(defaults);
    expect(got.rollback).toEqual(defaults);
    expect(got.task?.container?.stopGracePeriod).toEqual(secs(10));
    expect(got.endpoint).toEqual({
      mode: EndpointSpec_ResolutionMode.RESOLUTION_MODE_VIP,
      ports: [],
    });
  });

  it('validateServiceSpec: keeps given values when the spec sets them', () => {
    const got = validateServiceSpec(
      spec((s) => {
        s.mode = { $case: 'global', global: {} };
        s.update = {
          ...update,
          parallelism: 0,
          order: UpdateConfig_Order.ORDER_START_FIRST,
          monitor: secs(30),
        };
        s.task!.restart = {
          condition: RestartPolicy_Condition.CONDITION_NONE,
          delay: secs(1),
          maxAttempts: 3,
          window: secs(60),
        };
        s.task!.container!.stopGracePeriod = secs(2);
      }),
    );
    expect(got.mode).toEqual({ $case: 'global', global: {} });
    expect(got.update).toEqual({
      ...update,
      parallelism: 0,
      order: UpdateConfig_Order.ORDER_START_FIRST,
      monitor: secs(30),
      delay: secs(0),
    });
    expect(got.task?.restart).toEqual({
      condition: RestartPolicy_Condition.CONDITION_NONE,
      delay: secs(1),
      maxAttempts: 3,
      window: secs(60),
    });
    expect(got.task?.container?.stopGracePeriod).toEqual(secs(2));
  });

  it('validateServiceSpec: does not change its input when it fills defaults', () => {
    const input = spec();
    const before = structuredClone(input);
    validateServiceSpec(input);
    expect(input).toEqual(before);
  });

  it('validateServiceSpec: accepts a spec using every option when all are valid', () => {
    expect(() =>
      validateServiceSpec(
        spec((s) => {
          s.task!.container!.env = ['A=1', 'B='];
          s.task!.container!.mounts = [
            {
              type: Mount_Type.TYPE_BIND,
              source: '/srv',
              target: '/data',
              readOnly: true,
              tmpfsSizeBytes: 0,
              volumeLabels: {},
            },
            {
              type: Mount_Type.TYPE_TMPFS,
              source: '',
              target: '/tmp',
              readOnly: false,
              tmpfsSizeBytes: 1024,
              volumeLabels: {},
            },
          ];
          s.task!.container!.healthcheck = {
            test: ['CMD-SHELL', 'wget -q localhost'],
            interval: secs(10),
            retries: 3,
          };
          s.task!.resources = {
            limits: { nanoCpus: 1e9, memoryBytes: 1 << 20 },
            reservations: { nanoCpus: 5e8, memoryBytes: 1 << 20 },
          };
          s.task!.placement = {
            constraints: ['node.role==worker', 'node.labels.zone!=west'],
            preferences: [{ spreadDescriptor: 'node.labels.zone' }],
            maxReplicas: 2,
          };
          s.mode = { $case: 'replicated', replicated: { replicas: 0 } };
          s.endpoint = {
            mode: EndpointSpec_ResolutionMode.RESOLUTION_MODE_VIP,
            ports: [
              {
                name: '',
                protocol: PortConfig_Protocol.PROTOCOL_TCP,
                targetPort: 80,
                publishedPort: 8080,
                publishMode: PortConfig_PublishMode.PUBLISH_MODE_INGRESS,
              },
            ],
          };
        }),
      ),
    ).not.toThrow();
  });
});

describe('validateServiceSpec errors', () => {
  const cases: { name: string; input: ServiceSpec; error: string }[] = [
    {
      name: 'validateServiceSpec: fails when the name is empty',
      input: spec((s) => {
        s.annotations!.name = '';
      }),
      error: 'Create service: --name is required',
    },
    {
      name: 'validateServiceSpec: fails when the name is not a DNS name component',
      input: spec((s) => {
        s.annotations!.name = 'web.app';
      }),
      error: 'Create service: invalid --name "web.app": name must be valid as a DNS name component',
    },
    {
      name: 'validateServiceSpec: fails when the name starts with a dash',
      input: spec((s) => {
        s.annotations!.name = '-web';
      }),
      error: 'Create service: invalid --name "-web": name must be valid as a DNS name component',
    },
    {
      name: 'validateServiceSpec: fails when the name is longer than 63 characters',
      input: spec((s) => {
        s.annotations!.name = 'a'.repeat(64);
      }),
      error: `Create service: invalid --name "${'a'.repeat(64)}": name must be 63 characters or fewer`,
    },
    {
      name: 'validateServiceSpec: fails when the image is empty',
      input: spec((s) => {
        s.task!.container!.image = ' ';
      }),
      error: 'Create service: an image is required',
    },
    {
      name: 'validateServiceSpec: fails when there is no container',
      input: spec((s) => {
        s.task!.container = undefined;
      }),
      error: 'Create service: an image is required',
    },
    {
      name: 'validateServiceSpec: fails when replicas is negative',
      input: spec((s) => {
        s.mode = { $case: 'replicated', replicated: { replicas: -1 } };
      }),
      error: 'Create service: invalid --replicas "-1": replicas must be a whole number, 0 or more',
    },
    {
      name: 'validateServiceSpec: fails when max replicas per node is negative',
      input: spec((s) => {
        s.task!.placement = { constraints: [], preferences: [], maxReplicas: -1 };
      }),
      error:
        'Create service: invalid --replicas-max-per-node "-1": must be a whole number, 0 or more',
    },
    {
      name: 'validateServiceSpec: fails when max replicas per node is set on a global service',
      input: spec((s) => {
        s.mode = { $case: 'global', global: {} };
        s.task!.placement = { constraints: [], preferences: [], maxReplicas: 2 };
      }),
      error:
        'Create service: invalid --replicas-max-per-node "2": replicas-max-per-node can only be used with replicated mode',
    },
    {
      name: 'validateServiceSpec: fails when the restart delay is negative',
      input: spec((s) => {
        s.task!.restart = { condition: 0, delay: secs(-5), maxAttempts: 0 };
      }),
      error: 'Create service: invalid --restart-delay "-5s": duration must not be negative',
    },
    {
      name: 'validateServiceSpec: fails when the restart window is negative',
      input: spec((s) => {
        s.task!.restart = {
          condition: 0,
          window: { seconds: 0, nanos: -500_000_000 },
          maxAttempts: 0,
        };
      }),
      error: 'Create service: invalid --restart-window "-500ms": duration must not be negative',
    },
    {
      name: 'validateServiceSpec: fails when the restart condition is unknown',
      input: spec((s) => {
        s.task!.restart = { condition: 9 as RestartPolicy_Condition, maxAttempts: 0 };
      }),
      error: 'Create service: invalid --restart-condition "9": want none, on-failure or any',
    },
    {
      name: 'validateServiceSpec: fails when the stop grace period is negative',
      input: spec((s) => {
        s.task!.container!.stopGracePeriod = secs(-1);
      }),
      error: 'Create service: invalid --stop-grace-period "-1s": duration must not be negative',
    },
    {
      name: 'validateServiceSpec: fails when the update delay is negative',
      input: spec((s) => {
        s.update = { ...update, delay: secs(-10) };
      }),
      error: 'Create service: invalid --update-delay "-10s": duration must not be negative',
    },
    {
      name: 'validateServiceSpec: fails when the update monitor is negative',
      input: spec((s) => {
        s.update = { ...update, monitor: secs(-60) };
      }),
      error: 'Create service: invalid --update-monitor "-1m0s": duration must not be negative',
    },
    {
      name: 'validateServiceSpec: fails when the max failure ratio is above 1',
      input: spec((s) => {
        s.update = { ...update, maxFailureRatio: 1.5 };
      }),
      error: 'Create service: invalid --update-max-failure-ratio "1.5": must be between 0 and 1',
    },
    {
      name: 'validateServiceSpec: fails when the rollback max failure ratio is negative',
      input: spec((s) => {
        s.rollback = { ...update, maxFailureRatio: -0.1 };
      }),
      error: 'Create service: invalid --rollback-max-failure-ratio "-0.1": must be between 0 and 1',
    },
    {
      name: 'validateServiceSpec: fails when the rollback failure action is rollback',
      input: spec((s) => {
        s.rollback = {
          ...update,
          failureAction: UpdateConfig_FailureAction.FAILURE_ACTION_ROLLBACK,
        };
      }),
      error: 'Create service: invalid --rollback-failure-action "rollback": want pause or continue',
    },
    {
      name: 'validateServiceSpec: fails when the update order is unknown',
      input: spec((s) => {
        s.update = { ...update, order: 7 as UpdateConfig_Order };
      }),
      error: 'Create service: invalid --update-order "7": want stop-first or start-first',
    },
    {
      name: 'validateServiceSpec: fails when a constraint has no operator',
      input: spec((s) => {
        s.task!.placement = {
          constraints: ['node.labels.zone=east'],
          preferences: [],
          maxReplicas: 0,
        };
      }),
      error:
        'Create service: invalid --constraint "node.labels.zone=east": expected one operator from ==, !=',
    },
    {
      name: 'validateServiceSpec: fails when a placement preference is not a label',
      input: spec((s) => {
        s.task!.placement = {
          constraints: [],
          preferences: [{ spreadDescriptor: 'node.id' }],
          maxReplicas: 0,
        };
      }),
      error:
        'Create service: invalid --placement-pref "spread=node.id": spread descriptor "node.id" is not supported: want node.labels.<key> or engine.labels.<key>',
    },
    {
      name: 'validateServiceSpec: fails when a bind mount source is relative',
      input: spec((s) => {
        s.task!.container!.mounts = [
          {
            type: Mount_Type.TYPE_BIND,
            source: 'srv',
            target: '/data',
            readOnly: false,
            tmpfsSizeBytes: 0,
            volumeLabels: {},
          },
        ];
      }),
      error:
        'Create service: invalid --mount "/data": source "srv" must be an absolute path for a bind mount',
    },
    {
      name: 'validateServiceSpec: fails when two mounts share a target',
      input: spec((s) => {
        const m = {
          type: Mount_Type.TYPE_VOLUME,
          source: '',
          target: '/data',
          readOnly: false,
          tmpfsSizeBytes: 0,
          volumeLabels: {},
        };
        s.task!.container!.mounts = [m, { ...m }];
      }),
      error: 'Create service: invalid --mount "/data": duplicate mount point',
    },
    {
      name: 'validateServiceSpec: fails when a memory reservation is above the limit',
      input: spec((s) => {
        s.task!.resources = {
          limits: { nanoCpus: 0, memoryBytes: 100 },
          reservations: { nanoCpus: 0, memoryBytes: 200 },
        };
      }),
      error:
        'Create service: invalid --reserve-memory "200": reservation must not exceed --limit-memory "100"',
    },
    {
      name: 'validateServiceSpec: fails when a CPU reservation is above the limit',
      input: spec((s) => {
        s.task!.resources = {
          limits: { nanoCpus: 5e8, memoryBytes: 0 },
          reservations: { nanoCpus: 1e9, memoryBytes: 0 },
        };
      }),
      error:
        'Create service: invalid --reserve-cpu "1": reservation must not exceed --limit-cpu "0.5"',
    },
    {
      name: 'validateServiceSpec: fails when a CPU limit is negative',
      input: spec((s) => {
        s.task!.resources = { limits: { nanoCpus: -1e9, memoryBytes: 0 } };
      }),
      error: 'Create service: invalid --limit-cpu "-1": must not be negative',
    },
    {
      name: 'validateServiceSpec: fails when the health command kind is unknown',
      input: spec((s) => {
        s.task!.container!.healthcheck = { test: ['RUN', 'true'], retries: 0 };
      }),
      error:
        'Create service: invalid --health-cmd "RUN true": the first element must be CMD, CMD-SHELL or NONE',
    },
    {
      name: 'validateServiceSpec: fails when CMD-SHELL has no command',
      input: spec((s) => {
        s.task!.container!.healthcheck = { test: ['CMD-SHELL'], retries: 0 };
      }),
      error:
        'Create service: invalid --health-cmd "CMD-SHELL": CMD-SHELL needs exactly one command string',
    },
    {
      name: 'validateServiceSpec: fails when CMD has no command',
      input: spec((s) => {
        s.task!.container!.healthcheck = { test: ['CMD'], retries: 0 };
      }),
      error: 'Create service: invalid --health-cmd "CMD": CMD needs a command',
    },
    {
      name: 'validateServiceSpec: fails when health options come with no health check',
      input: spec((s) => {
        s.task!.container!.healthcheck = { test: ['NONE'], interval: secs(5), retries: 0 };
      }),
      error:
        'Create service: invalid --no-healthcheck "true": --no-healthcheck conflicts with --health-* options',
    },
    {
      name: 'validateServiceSpec: fails when health retries are negative',
      input: spec((s) => {
        s.task!.container!.healthcheck = { test: ['CMD', 'true'], retries: -1 };
      }),
      error: 'Create service: invalid --health-retries "-1": retries must not be negative',
    },
    {
      name: 'validateServiceSpec: fails when the health interval is negative',
      input: spec((s) => {
        s.task!.container!.healthcheck = { test: ['CMD', 'true'], interval: secs(-30), retries: 0 };
      }),
      error: 'Create service: invalid --health-interval "-30s": duration must not be negative',
    },
    {
      name: 'validateServiceSpec: fails when the health timeout is under a millisecond',
      input: spec((s) => {
        s.task!.container!.healthcheck = {
          test: ['CMD', 'true'],
          timeout: { seconds: 0, nanos: 10 },
          retries: 0,
        };
      }),
      error: 'Create service: invalid --health-timeout "10ns": duration must be at least 1ms',
    },
    {
      name: 'validateServiceSpec: fails when an env entry has no equals sign',
      input: spec((s) => {
        s.task!.container!.env = ['PATH'];
      }),
      error: 'Create service: invalid --env "PATH": want K=V',
    },
    {
      name: 'validateServiceSpec: fails when an env entry has an empty name',
      input: spec((s) => {
        s.task!.container!.env = ['=1'];
      }),
      error: 'Create service: invalid --env "=1": variable name must not be empty',
    },
    {
      name: 'validateServiceSpec: fails when an env name has spaces',
      input: spec((s) => {
        s.task!.container!.env = ['MY VAR=1'];
      }),
      error: 'Create service: invalid --env "MY VAR=1": variable name must not contain spaces',
    },
    {
      name: 'validateServiceSpec: fails when an ingress port is published in dnsrr mode',
      input: spec((s) => {
        s.endpoint = {
          mode: EndpointSpec_ResolutionMode.RESOLUTION_MODE_DNSRR,
          ports: [
            {
              name: '',
              protocol: 0,
              targetPort: 80,
              publishedPort: 8080,
              publishMode: PortConfig_PublishMode.PUBLISH_MODE_INGRESS,
            },
          ],
        };
      }),
      error: `Create service: invalid --publish "8080:80": port published with ingress mode can't be used with dnsrr mode`,
    },
    {
      name: 'validateServiceSpec: fails when the target port is out of range',
      input: spec((s) => {
        s.endpoint = {
          mode: 0,
          ports: [{ name: '', protocol: 0, targetPort: 70000, publishedPort: 0, publishMode: 0 }],
        };
      }),
      error: 'Create service: invalid --publish "0:70000": target port must be between 1 and 65535',
    },
    {
      name: 'validateServiceSpec: fails when a published port is repeated',
      input: spec((s) => {
        const p = { name: '', protocol: 0, targetPort: 80, publishedPort: 8080, publishMode: 0 };
        s.endpoint = { mode: 0, ports: [p, { ...p, targetPort: 81 }] };
      }),
      error:
        'Create service: invalid --publish "8080:81": published port is already used by this service',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      let error: unknown;
      try {
        validateServiceSpec(c.input, { action: 'Create service' });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ShoalError);
      expect((error as ShoalError).code).toBe('SHOAL_INVALID_ARGUMENT');
      expect((error as ShoalError).message).toBe(c.error);
    });
  }

  it('validateServiceSpec: names the default action when none is given', () => {
    const input = spec((s) => {
      s.annotations!.name = '';
    });
    expect(() => validateServiceSpec(input)).toThrow('Validate service spec: --name is required');
  });
});
