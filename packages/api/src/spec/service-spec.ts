// Validation and normalisation of a ServiceSpec: every invalid field is refused with the
// Docker flag that sets it, and every absent setting gets Docker's default, so that the
// orchestrators, the scheduler and the updater read one complete spec.
import { ShoalError } from '../errors.js';
import {
  type Duration,
  EndpointSpec_ResolutionMode,
  type HealthConfig,
  PortConfig_PublishMode,
  type Resources,
  RestartPolicy_Condition,
  type ServiceSpec,
  type TaskSpec,
  type UpdateConfig,
  UpdateConfig_FailureAction,
  UpdateConfig_Order,
} from '../pb.js';
import { checkConstraint, checkSpreadDescriptor } from './constraint.js';
import { durationFromMs, durationToMs, formatDuration } from './duration.js';
import { checkMount } from './mount.js';

/** Docker's defaults (swarmkit api/defaults/service.go, docker/cli service opts). */
export const SERVICE_DEFAULTS = {
  replicas: 1,
  restartDelayMs: 5_000,
  updateParallelism: 1,
  updateMonitorMs: 5_000,
  stopGracePeriodMs: 10_000,
} as const;

/** Options of validateServiceSpec. */
export interface ValidateServiceSpecOptions {
  /**
   * The action named at the start of error messages.
   * @default 'Validate service spec'
   */
  readonly action?: string;
}

// swarmkit's isValidDNSName (manager/controlapi/common.go): a DNS name component.
const SERVICE_NAME = /^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$/;
const MAX_SERVICE_NAME_LENGTH = 63;
const MAX_PORT = 65_535;

/**
 * Checks a service spec and returns a copy with Docker's defaults filled in: replicated
 * mode with 1 replica, restart condition any with a 5 s delay, update and rollback
 * configs of parallelism 1, failure action pause, monitor 5 s, max failure ratio 0,
 * order stop-first, and a 10 s stop grace period. A present UpdateConfig is taken as
 * given (parallelism 0 there means all at once, as in Docker's API); only its absent
 * durations get defaults.
 *
 * @throws ShoalError `SHOAL_INVALID_ARGUMENT` naming the flag, its value and the reason
 * @example
 * const spec = validateServiceSpec(
 *   { annotations: { name: 'web', labels: {} }, task: { container: { image: 'nginx' } } },
 *   { action: 'Create service' },
 * );
 */
export function validateServiceSpec(
  spec: ServiceSpec,
  options: ValidateServiceSpecOptions = {},
): ServiceSpec {
  const action = options.action ?? 'Validate service spec';
  const fail = (flag: string, value: string | number, reason: string): never => {
    throw new ShoalError(
      'SHOAL_INVALID_ARGUMENT',
      `${action}: invalid ${flag} "${value}": ${reason}`,
    );
  };
  const need = (reason: string): never => {
    throw new ShoalError('SHOAL_INVALID_ARGUMENT', `${action}: ${reason}`);
  };
  const nonNegative = (flag: string, duration: Duration | undefined): void => {
    const ms = durationToMs(duration);
    if (ms < 0) fail(flag, formatDuration(ms), 'duration must not be negative');
  };

  const name = spec.annotations?.name ?? '';
  if (name === '') need('--name is required');
  if (!SERVICE_NAME.test(name)) fail('--name', name, 'name must be valid as a DNS name component');
  if (name.length > MAX_SERVICE_NAME_LENGTH) {
    fail('--name', name, `name must be ${MAX_SERVICE_NAME_LENGTH} characters or fewer`);
  }

  const task: TaskSpec = spec.task ?? { networks: [], forceUpdate: 0 };
  const container = task.container;
  if (!container || container.image.trim() === '') return need('an image is required');
  if (/\s/.test(container.image)) fail('image', container.image, 'image must not contain spaces');
  nonNegative('--stop-grace-period', container.stopGracePeriod);
  for (const entry of container.env) {
    const eq = entry.indexOf('=');
    if (eq < 0) fail('--env', entry, 'want K=V');
    const key = entry.slice(0, eq);
    if (key === '') fail('--env', entry, 'variable name must not be empty');
    if (/\s/.test(key)) fail('--env', entry, 'variable name must not contain spaces');
  }
  const targets = new Set<string>();
  for (const mount of container.mounts) {
    const problem = checkMount(mount);
    if (problem) fail('--mount', mount.target || mount.source, problem);
    if (targets.has(mount.target)) fail('--mount', mount.target, 'duplicate mount point');
    targets.add(mount.target);
  }
  if (container.healthcheck) checkHealth(container.healthcheck, fail);

  checkResources(task, fail);
  checkRestart(task, fail);

  const mode = spec.mode ?? {
    $case: 'replicated',
    replicated: { replicas: SERVICE_DEFAULTS.replicas },
  };
  if (mode.$case === 'replicated') {
    const replicas = mode.replicated.replicas;
    if (!Number.isSafeInteger(replicas) || replicas < 0) {
      fail('--replicas', replicas, 'replicas must be a whole number, 0 or more');
    }
  } else if (mode.$case !== 'global') {
    need('mode must be replicated or global');
  }
  const placement = task.placement;
  if (placement) {
    for (const text of placement.constraints) {
      const result = checkConstraint(text);
      if (typeof result === 'string') fail('--constraint', text, result);
    }
    for (const pref of placement.preferences) {
      const problem = checkSpreadDescriptor(pref.spreadDescriptor);
      if (problem) fail('--placement-pref', `spread=${pref.spreadDescriptor}`, problem);
    }
    if (!Number.isSafeInteger(placement.maxReplicas) || placement.maxReplicas < 0) {
      fail('--replicas-max-per-node', placement.maxReplicas, 'must be a whole number, 0 or more');
    }
    if (placement.maxReplicas > 0 && mode.$case === 'global') {
      fail(
        '--replicas-max-per-node',
        placement.maxReplicas,
        'replicas-max-per-node can only be used with replicated mode',
      );
    }
  }

  checkUpdateConfig(spec.update, '--update', fail);
  checkUpdateConfig(spec.rollback, '--rollback', fail);
  checkEndpoint(spec, fail);

  return {
    ...spec,
    mode,
    task: {
      ...task,
      container: {
        ...container,
        stopGracePeriod:
          container.stopGracePeriod ?? durationFromMs(SERVICE_DEFAULTS.stopGracePeriodMs),
      },
      restart: {
        condition: task.restart?.condition ?? RestartPolicy_Condition.CONDITION_ANY,
        delay: task.restart?.delay ?? durationFromMs(SERVICE_DEFAULTS.restartDelayMs),
        maxAttempts: task.restart?.maxAttempts ?? 0,
        window: task.restart?.window ?? durationFromMs(0),
      },
      placement: task.placement ?? { constraints: [], preferences: [], maxReplicas: 0 },
      networks: task.networks ?? [],
      forceUpdate: task.forceUpdate ?? 0,
    },
    update: withUpdateDefaults(spec.update),
    rollback: withUpdateDefaults(spec.rollback),
    endpoint: spec.endpoint ?? { mode: EndpointSpec_ResolutionMode.RESOLUTION_MODE_VIP, ports: [] },
  };
}

/** An UpdateConfig with Docker's defaults where the config or its durations are absent. */
export function withUpdateDefaults(config: UpdateConfig | undefined): UpdateConfig {
  return {
    parallelism: config ? config.parallelism : SERVICE_DEFAULTS.updateParallelism,
    delay: config?.delay ?? durationFromMs(0),
    failureAction: config?.failureAction ?? UpdateConfig_FailureAction.FAILURE_ACTION_PAUSE,
    monitor: config?.monitor ?? durationFromMs(SERVICE_DEFAULTS.updateMonitorMs),
    maxFailureRatio: config?.maxFailureRatio ?? 0,
    order: config?.order ?? UpdateConfig_Order.ORDER_STOP_FIRST,
  };
}

type Fail = (flag: string, value: string | number, reason: string) => never;

function checkHealth(health: HealthConfig, fail: Fail): void {
  const [kind, ...rest] = health.test;
  const cmd = health.test.join(' ');
  const hasOptions =
    durationToMs(health.interval) !== 0 ||
    durationToMs(health.timeout) !== 0 ||
    durationToMs(health.startPeriod) !== 0 ||
    health.retries !== 0;
  if (kind === 'NONE') {
    if (rest.length > 0) fail('--health-cmd', cmd, 'NONE takes no command');
    if (hasOptions)
      fail('--no-healthcheck', 'true', '--no-healthcheck conflicts with --health-* options');
  } else if (kind === 'CMD') {
    if (rest.length === 0 || rest[0] === '') fail('--health-cmd', cmd, 'CMD needs a command');
  } else if (kind === 'CMD-SHELL') {
    if (rest.length !== 1 || rest[0] === '')
      fail('--health-cmd', cmd, 'CMD-SHELL needs exactly one command string');
  } else if (kind !== undefined) {
    fail('--health-cmd', cmd, 'the first element must be CMD, CMD-SHELL or NONE');
  }
  const durations: [string, Duration | undefined][] = [
    ['--health-interval', health.interval],
    ['--health-timeout', health.timeout],
    ['--health-start-period', health.startPeriod],
  ];
  for (const [flag, duration] of durations) {
    const ms = durationToMs(duration);
    if (ms < 0) fail(flag, formatDuration(ms), 'duration must not be negative');
    // Docker refuses sub-millisecond health timings other than 0 ("use the default").
    if (flag !== '--health-start-period' && duration && ms === 0 && duration.nanos !== 0) {
      fail(flag, `${duration.nanos}ns`, 'duration must be at least 1ms');
    }
  }
  if (health.retries < 0) fail('--health-retries', health.retries, 'retries must not be negative');
}

function checkResources(task: TaskSpec, fail: Fail): void {
  const limits: Partial<Resources> = task.resources?.limits ?? {};
  const reservations: Partial<Resources> = task.resources?.reservations ?? {};
  const cpu = (nano: number) => nano / 1e9;
  const pairs: [string, number, string, number, (n: number) => number][] = [
    ['--limit-cpu', limits.nanoCpus ?? 0, '--reserve-cpu', reservations.nanoCpus ?? 0, cpu],
    [
      '--limit-memory',
      limits.memoryBytes ?? 0,
      '--reserve-memory',
      reservations.memoryBytes ?? 0,
      (n) => n,
    ],
  ];
  for (const [limitFlag, limit, reserveFlag, reserve, show] of pairs) {
    if (limit < 0) fail(limitFlag, show(limit), 'must not be negative');
    if (reserve < 0) fail(reserveFlag, show(reserve), 'must not be negative');
    if (limit > 0 && reserve > limit) {
      fail(reserveFlag, show(reserve), `reservation must not exceed ${limitFlag} "${show(limit)}"`);
    }
  }
}

function checkRestart(task: TaskSpec, fail: Fail): void {
  const restart = task.restart;
  if (!restart) return;
  if (
    !Object.values(RestartPolicy_Condition).includes(restart.condition) ||
    restart.condition < 0
  ) {
    fail('--restart-condition', restart.condition, 'want none, on-failure or any');
  }
  const delay = durationToMs(restart.delay);
  if (delay < 0) fail('--restart-delay', formatDuration(delay), 'duration must not be negative');
  const window = durationToMs(restart.window);
  if (window < 0) fail('--restart-window', formatDuration(window), 'duration must not be negative');
  if (!Number.isSafeInteger(restart.maxAttempts) || restart.maxAttempts < 0) {
    fail('--restart-max-attempts', restart.maxAttempts, 'must be a whole number, 0 or more');
  }
}

function checkUpdateConfig(config: UpdateConfig | undefined, prefix: string, fail: Fail): void {
  if (!config) return;
  if (!Number.isSafeInteger(config.parallelism) || config.parallelism < 0) {
    fail(`${prefix}-parallelism`, config.parallelism, 'must be a whole number, 0 or more');
  }
  const delay = durationToMs(config.delay);
  if (delay < 0) fail(`${prefix}-delay`, formatDuration(delay), 'duration must not be negative');
  const monitor = durationToMs(config.monitor);
  if (monitor < 0)
    fail(`${prefix}-monitor`, formatDuration(monitor), 'duration must not be negative');
  const ratio = config.maxFailureRatio;
  if (!(ratio >= 0 && ratio <= 1)) {
    fail(`${prefix}-max-failure-ratio`, ratio, 'must be between 0 and 1');
  }
  const actions =
    prefix === '--rollback'
      ? [
          UpdateConfig_FailureAction.FAILURE_ACTION_PAUSE,
          UpdateConfig_FailureAction.FAILURE_ACTION_CONTINUE,
        ]
      : [
          UpdateConfig_FailureAction.FAILURE_ACTION_PAUSE,
          UpdateConfig_FailureAction.FAILURE_ACTION_CONTINUE,
          UpdateConfig_FailureAction.FAILURE_ACTION_ROLLBACK,
        ];
  if (!actions.includes(config.failureAction)) {
    const want = prefix === '--rollback' ? 'pause or continue' : 'pause, continue or rollback';
    fail(`${prefix}-failure-action`, failureActionName(config.failureAction), `want ${want}`);
  }
  if (
    ![UpdateConfig_Order.ORDER_STOP_FIRST, UpdateConfig_Order.ORDER_START_FIRST].includes(
      config.order,
    )
  ) {
    fail(`${prefix}-order`, config.order, 'want stop-first or start-first');
  }
}

function failureActionName(action: UpdateConfig_FailureAction): string | number {
  switch (action) {
    case UpdateConfig_FailureAction.FAILURE_ACTION_PAUSE:
      return 'pause';
    case UpdateConfig_FailureAction.FAILURE_ACTION_CONTINUE:
      return 'continue';
    case UpdateConfig_FailureAction.FAILURE_ACTION_ROLLBACK:
      return 'rollback';
    default:
      return action;
  }
}

function checkEndpoint(spec: ServiceSpec, fail: Fail): void {
  const endpoint = spec.endpoint;
  if (!endpoint) return;
  const published = new Set<string>();
  for (const port of endpoint.ports) {
    const text = `${port.publishedPort}:${port.targetPort}`;
    if (port.targetPort < 1 || port.targetPort > MAX_PORT) {
      fail('--publish', text, `target port must be between 1 and ${MAX_PORT}`);
    }
    if (port.publishedPort < 0 || port.publishedPort > MAX_PORT) {
      fail('--publish', text, `published port must be between 0 and ${MAX_PORT}`);
    }
    if (
      endpoint.mode === EndpointSpec_ResolutionMode.RESOLUTION_MODE_DNSRR &&
      port.publishMode === PortConfig_PublishMode.PUBLISH_MODE_INGRESS
    ) {
      fail('--publish', text, "port published with ingress mode can't be used with dnsrr mode");
    }
    if (port.publishedPort !== 0) {
      const key = `${port.publishedPort}/${port.protocol}/${port.publishMode}`;
      if (published.has(key))
        fail('--publish', text, 'published port is already used by this service');
      published.add(key);
    }
  }
}
