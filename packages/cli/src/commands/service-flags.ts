// The flags of `service create` and `service update`, with Docker's names and defaults,
// and how their values become a ServiceSpec. Values are parsed as commander reads them,
// so a bad value stops the command before it connects to the daemon.
import {
  durationFromMs,
  parseConstraint,
  parseMount,
  parsePlacementPreference,
  pb,
  ShoalError,
  validateServiceSpec,
  withUpdateDefaults,
} from '@shoal/api';
import { type Command, Option } from 'commander';
import { parseBytes, parseDurationMs, parseNanoCpus } from '../parse.js';
import { parseLabel } from './node-command.js';

/** The flag values both `create` and `update` take; absent means "not given". */
export interface ServiceScalarFlags {
  replicas?: number;
  replicasMaxPerNode?: number;
  reserveCpu?: number;
  reserveMemory?: number;
  limitCpu?: number;
  limitMemory?: number;
  restartCondition?: string;
  restartDelay?: number;
  restartMaxAttempts?: number;
  restartWindow?: number;
  updateParallelism?: number;
  updateDelay?: number;
  updateFailureAction?: string;
  updateOrder?: string;
  updateMonitor?: number;
  updateMaxFailureRatio?: number;
  rollbackParallelism?: number;
  rollbackDelay?: number;
  rollbackFailureAction?: string;
  rollbackOrder?: string;
  rollbackMonitor?: number;
  rollbackMaxFailureRatio?: number;
  healthCmd?: string;
  healthInterval?: number;
  healthRetries?: number;
  healthTimeout?: number;
  healthStartPeriod?: number;
  healthcheck?: boolean;
  stopGracePeriod?: number;
  stopSignal?: string;
  workdir?: string;
  user?: string;
  hostname?: string;
  entrypoint?: string;
  detach?: boolean;
  quiet?: boolean;
}

/** The flag values only `create` takes. */
export interface ServiceCreateFlags extends ServiceScalarFlags {
  name?: string;
  mode: string;
  env?: string[];
  label?: string[];
  containerLabel?: string[];
  constraint?: string[];
  placementPref?: string[];
  mount?: string[];
}

/** The flag values only `update` takes. */
export interface ServiceUpdateFlags extends ServiceScalarFlags {
  image?: string;
  args?: string;
  force?: boolean;
  envAdd?: string[];
  envRm?: string[];
  labelAdd?: string[];
  labelRm?: string[];
  containerLabelAdd?: string[];
  containerLabelRm?: string[];
  constraintAdd?: string[];
  constraintRm?: string[];
  placementPrefAdd?: string[];
  placementPrefRm?: string[];
  mountAdd?: string[];
  mountRm?: string[];
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function wholeNumber(flag: string): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) {
      throw new TypeError(`Invalid ${flag} "${text}": want a whole number, 0 or more`);
    }
    return value;
  };
}

function ratio(flag: string): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) {
      throw new TypeError(`Invalid ${flag} "${text}": want a number from 0 to 1`);
    }
    if (value < 0 || value > 1)
      throw new RangeError(`Invalid ${flag} "${text}": must be from 0 to 1`);
    return value;
  };
}

const duration = (flag: string) => (text: string) => parseDurationMs(text, flag);
const cpus = (flag: string) => (text: string) => parseNanoCpus(text, flag);
const bytes = (flag: string) => (text: string) => parseBytes(text, flag);

/**
 * Networking flags that parse but are refused until the networking issues make them
 * work, so a spec is never stored half-done.
 */
const NOT_YET: readonly (readonly [string, string, string])[] = [
  ['--network <network>', '--network', 'overlay networks arrive with the networking issue'],
  ['-p, --publish <port>', '--publish', 'published ports arrive with the routing mesh'],
  [
    '--endpoint-mode <mode>',
    '--endpoint-mode',
    'virtual IPs and DNS round robin arrive with service discovery',
  ],
];
const NOT_YET_UPDATE: readonly (readonly [string, string, string])[] = [
  ['--network-add <network>', '--network-add', NOT_YET[0]![2]],
  ['--network-rm <network>', '--network-rm', NOT_YET[0]![2]],
  ['--publish-add <port>', '--publish-add', NOT_YET[1]![2]],
  ['--publish-rm <port>', '--publish-rm', NOT_YET[1]![2]],
  ['--endpoint-mode <mode>', '--endpoint-mode', NOT_YET[2]![2]],
];

function addRefused(command: Command, flags: readonly (readonly [string, string, string])[]): void {
  for (const [spelling, flag, why] of flags) {
    command.addOption(
      new Option(spelling, `not supported yet: ${why}`).argParser(() => {
        throw new TypeError(`${flag} is not supported yet: ${why}`);
      }),
    );
  }
}

function addUpdateConfigOptions(command: Command, kind: 'update' | 'rollback'): void {
  const actions = kind === 'update' ? ['pause', 'continue', 'rollback'] : ['pause', 'continue'];
  command
    .option(
      `--${kind}-parallelism <n>`,
      `maximum number of tasks ${kind === 'update' ? 'updated' : 'rolled back'} simultaneously (0 for all at once)`,
      wholeNumber(`--${kind}-parallelism`),
    )
    .option(`--${kind}-delay <duration>`, `delay between ${kind}s`, duration(`--${kind}-delay`))
    .addOption(
      new Option(`--${kind}-failure-action <action>`, `action on ${kind} failure`).choices(actions),
    )
    .addOption(
      new Option(`--${kind}-order <order>`, `${kind} order`).choices(['stop-first', 'start-first']),
    )
    .option(
      `--${kind}-monitor <duration>`,
      `duration after each task ${kind} to monitor for failure`,
      duration(`--${kind}-monitor`),
    )
    .option(
      `--${kind}-max-failure-ratio <ratio>`,
      `failure rate to tolerate during ${kind === 'update' ? 'an update' : 'a rollback'}`,
      ratio(`--${kind}-max-failure-ratio`),
    );
}

/** Adds the flags `create` and `update` share. */
function addScalarOptions(command: Command): void {
  command
    .option('--replicas <n>', 'number of tasks', wholeNumber('--replicas'))
    .option(
      '--replicas-max-per-node <n>',
      'maximum number of tasks per node (0 for unlimited)',
      wholeNumber('--replicas-max-per-node'),
    )
    .option('--reserve-cpu <cpus>', 'reserve CPUs', cpus('--reserve-cpu'))
    .option('--reserve-memory <bytes>', 'reserve memory', bytes('--reserve-memory'))
    .option('--limit-cpu <cpus>', 'limit CPUs', cpus('--limit-cpu'))
    .option('--limit-memory <bytes>', 'limit memory', bytes('--limit-memory'))
    .addOption(
      new Option('--restart-condition <condition>', 'restart when condition is met').choices([
        'none',
        'on-failure',
        'any',
      ]),
    )
    .option(
      '--restart-delay <duration>',
      'delay between restart attempts',
      duration('--restart-delay'),
    )
    .option(
      '--restart-max-attempts <n>',
      'maximum number of restarts before giving up',
      wholeNumber('--restart-max-attempts'),
    )
    .option(
      '--restart-window <duration>',
      'window used to evaluate the restart policy',
      duration('--restart-window'),
    );
  addUpdateConfigOptions(command, 'update');
  addUpdateConfigOptions(command, 'rollback');
  command
    .option('--health-cmd <command>', 'command to run to check health')
    .option(
      '--health-interval <duration>',
      'time between running the check',
      duration('--health-interval'),
    )
    .option(
      '--health-retries <n>',
      'consecutive failures needed to report unhealthy',
      wholeNumber('--health-retries'),
    )
    .option(
      '--health-timeout <duration>',
      'maximum time to allow one check to run',
      duration('--health-timeout'),
    )
    .option(
      '--health-start-period <duration>',
      'start period before failures count towards retries',
      duration('--health-start-period'),
    )
    .option('--no-healthcheck', 'disable any container-specified HEALTHCHECK')
    .option(
      '--stop-grace-period <duration>',
      'time to wait before force killing a container',
      duration('--stop-grace-period'),
    )
    .option('--stop-signal <signal>', 'signal to stop the container')
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user>', 'username or UID (format: <name|uid>[:<group|gid>])')
    .option('--hostname <hostname>', 'container hostname')
    .option('--entrypoint <command>', 'overwrite the default ENTRYPOINT of the image')
    .option('-d, --detach', 'exit immediately instead of waiting for the service to converge')
    .option('-q, --quiet', 'suppress progress output');
}

/** Adds every flag of `service create` to `command`. */
export function addCreateOptions(command: Command): Command {
  command
    .option('--name <name>', 'service name')
    .addOption(
      new Option('--mode <mode>', 'service mode')
        .choices(['replicated', 'global'])
        .default('replicated'),
    )
    .option('-e, --env <K=V>', 'set environment variables (repeatable)', collect)
    .option('--label <key=value>', 'service labels (repeatable)', collect)
    .option('--container-label <key=value>', 'container labels (repeatable)', collect)
    .option('--constraint <expr>', 'placement constraints (repeatable)', collect)
    .option('--placement-pref <pref>', 'add a placement preference (repeatable)', collect)
    .option('--mount <mount>', 'attach a filesystem mount to the service (repeatable)', collect);
  addScalarOptions(command);
  addRefused(command, NOT_YET);
  return command;
}

/** Adds every flag of `service update` to `command`. */
export function addUpdateOptions(command: Command): Command {
  command
    .option('--image <image>', 'service image tag')
    .option('--args <command>', 'service command args')
    .option('--force', 'force update even if no changes require it')
    .option('--env-add <K=V>', 'add or update an environment variable (repeatable)', collect)
    .option('--env-rm <K>', 'remove an environment variable (repeatable)', collect)
    .option('--label-add <key=value>', 'add or update a service label (repeatable)', collect)
    .option('--label-rm <key>', 'remove a label by its key (repeatable)', collect)
    .option(
      '--container-label-add <key=value>',
      'add or update a container label (repeatable)',
      collect,
    )
    .option(
      '--container-label-rm <key>',
      'remove a container label by its key (repeatable)',
      collect,
    )
    .option('--constraint-add <expr>', 'add or update a placement constraint (repeatable)', collect)
    .option('--constraint-rm <expr>', 'remove a constraint (repeatable)', collect)
    .option('--placement-pref-add <pref>', 'add a placement preference (repeatable)', collect)
    .option('--placement-pref-rm <pref>', 'remove a placement preference (repeatable)', collect)
    .option('--mount-add <mount>', 'add or update a mount on a service (repeatable)', collect)
    .option('--mount-rm <target>', 'remove a mount by its target path (repeatable)', collect);
  addScalarOptions(command);
  addRefused(command, NOT_YET_UPDATE);
  return command;
}

/**
 * Runs a parse or validation of `@shoal/api`, turning its invalid-argument error into
 * the usage error (exit 2) a bad flag gives everywhere else in the CLI.
 */
export function asUsageError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ShoalError && error.code === 'SHOAL_INVALID_ARGUMENT') {
      throw new TypeError(error.message, { cause: error });
    }
    throw error;
  }
}

const CONDITIONS: Readonly<Record<string, pb.RestartPolicy_Condition>> = {
  none: pb.RestartPolicy_Condition.CONDITION_NONE,
  'on-failure': pb.RestartPolicy_Condition.CONDITION_ON_FAILURE,
  any: pb.RestartPolicy_Condition.CONDITION_ANY,
};
const FAILURE_ACTIONS: Readonly<Record<string, pb.UpdateConfig_FailureAction>> = {
  pause: pb.UpdateConfig_FailureAction.FAILURE_ACTION_PAUSE,
  continue: pb.UpdateConfig_FailureAction.FAILURE_ACTION_CONTINUE,
  rollback: pb.UpdateConfig_FailureAction.FAILURE_ACTION_ROLLBACK,
};
const ORDERS: Readonly<Record<string, pb.UpdateConfig_Order>> = {
  'stop-first': pb.UpdateConfig_Order.ORDER_STOP_FIRST,
  'start-first': pb.UpdateConfig_Order.ORDER_START_FIRST,
};

function updateConfig(
  current: pb.UpdateConfig | undefined,
  flags: ServiceScalarFlags,
  kind: 'update' | 'rollback',
): pb.UpdateConfig | undefined {
  const given = {
    parallelism: flags[`${kind}Parallelism`],
    delay: flags[`${kind}Delay`],
    failureAction: flags[`${kind}FailureAction`],
    order: flags[`${kind}Order`],
    monitor: flags[`${kind}Monitor`],
    maxFailureRatio: flags[`${kind}MaxFailureRatio`],
  };
  if (Object.values(given).every((value) => value === undefined)) return current;
  // An UpdateConfig is taken as given by the validator, so start from Docker's defaults.
  const config = withUpdateDefaults(current);
  return {
    parallelism: given.parallelism ?? config.parallelism,
    delay: given.delay === undefined ? config.delay : durationFromMs(given.delay),
    failureAction:
      given.failureAction === undefined
        ? config.failureAction
        : FAILURE_ACTIONS[given.failureAction]!,
    order: given.order === undefined ? config.order : ORDERS[given.order]!,
    monitor: given.monitor === undefined ? config.monitor : durationFromMs(given.monitor),
    maxFailureRatio: given.maxFailureRatio ?? config.maxFailureRatio,
  };
}

function healthConfig(
  current: pb.HealthConfig | undefined,
  flags: ServiceScalarFlags,
): pb.HealthConfig | undefined {
  const timing =
    flags.healthInterval !== undefined ||
    flags.healthTimeout !== undefined ||
    flags.healthStartPeriod !== undefined ||
    flags.healthRetries !== undefined;
  if (flags.healthcheck === false) {
    if (timing || flags.healthCmd !== undefined) {
      throw new TypeError('Invalid --no-healthcheck: it conflicts with the --health-* options');
    }
    return { test: ['NONE'], retries: 0 };
  }
  if (!timing && flags.healthCmd === undefined) return current;
  const base: pb.HealthConfig = current ?? { test: [], retries: 0 };
  const ms = (value: number | undefined, previous: pb.Duration | undefined) =>
    value === undefined ? previous : durationFromMs(value);
  return {
    // Docker runs a --health-cmd through the container's shell.
    test:
      flags.healthCmd !== undefined
        ? ['CMD-SHELL', flags.healthCmd]
        : base.test[0] === 'NONE'
          ? []
          : base.test,
    interval: ms(flags.healthInterval, base.interval),
    timeout: ms(flags.healthTimeout, base.timeout),
    retries: flags.healthRetries ?? base.retries,
    startPeriod: ms(flags.healthStartPeriod, base.startPeriod),
  };
}

function resources(
  current: pb.ResourceRequirements | undefined,
  flags: ServiceScalarFlags,
): pb.ResourceRequirements | undefined {
  if (
    flags.limitCpu === undefined &&
    flags.limitMemory === undefined &&
    flags.reserveCpu === undefined &&
    flags.reserveMemory === undefined
  ) {
    return current;
  }
  return {
    limits: {
      nanoCpus: flags.limitCpu ?? current?.limits?.nanoCpus ?? 0,
      memoryBytes: flags.limitMemory ?? current?.limits?.memoryBytes ?? 0,
    },
    reservations: {
      nanoCpus: flags.reserveCpu ?? current?.reservations?.nanoCpus ?? 0,
      memoryBytes: flags.reserveMemory ?? current?.reservations?.memoryBytes ?? 0,
    },
  };
}

function restartPolicy(
  current: pb.RestartPolicy | undefined,
  flags: ServiceScalarFlags,
): pb.RestartPolicy | undefined {
  if (
    flags.restartCondition === undefined &&
    flags.restartDelay === undefined &&
    flags.restartMaxAttempts === undefined &&
    flags.restartWindow === undefined
  ) {
    return current;
  }
  return {
    condition:
      flags.restartCondition === undefined
        ? (current?.condition ?? pb.RestartPolicy_Condition.CONDITION_ANY)
        : CONDITIONS[flags.restartCondition]!,
    delay: flags.restartDelay === undefined ? current?.delay : durationFromMs(flags.restartDelay),
    maxAttempts: flags.restartMaxAttempts ?? current?.maxAttempts ?? 0,
    window:
      flags.restartWindow === undefined ? current?.window : durationFromMs(flags.restartWindow),
  };
}

/** Splits a command line as a shell would for plain words and simple quotes. */
function shellWords(text: string, flag: string): string[] {
  const words: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const match of text.matchAll(pattern)) words.push(match[1] ?? match[2] ?? match[3]!);
  if ((text.match(/"/g)?.length ?? 0) % 2 !== 0 || (text.match(/'/g)?.length ?? 0) % 2 !== 0) {
    throw new TypeError(`Invalid ${flag} "${text}": unbalanced quotes`);
  }
  return words;
}

/** The fields of a spec the shared flags set, applied over `spec`. */
function applyScalars(spec: pb.ServiceSpec, flags: ServiceScalarFlags): pb.ServiceSpec {
  const task = spec.task!;
  const container = task.container!;
  const placement = task.placement ?? { constraints: [], preferences: [], maxReplicas: 0 };
  let mode = spec.mode;
  if (flags.replicas !== undefined) {
    if (mode?.$case === 'global') {
      throw new TypeError(
        `Invalid --replicas "${flags.replicas}": replicas can only be used with replicated mode`,
      );
    }
    mode = { $case: 'replicated', replicated: { replicas: flags.replicas } };
  }
  return {
    ...spec,
    mode,
    task: {
      ...task,
      container: {
        ...container,
        command:
          flags.entrypoint === undefined
            ? container.command
            : shellWords(flags.entrypoint, '--entrypoint'),
        hostname: flags.hostname ?? container.hostname,
        dir: flags.workdir ?? container.dir,
        user: flags.user ?? container.user,
        stopGracePeriod:
          flags.stopGracePeriod === undefined
            ? container.stopGracePeriod
            : durationFromMs(flags.stopGracePeriod),
        stopSignal: flags.stopSignal ?? container.stopSignal,
        healthcheck: healthConfig(container.healthcheck, flags),
      },
      resources: resources(task.resources, flags),
      restart: restartPolicy(task.restart, flags),
      placement: { ...placement, maxReplicas: flags.replicasMaxPerNode ?? placement.maxReplicas },
    },
    update: updateConfig(spec.update, flags, 'update'),
    rollback: updateConfig(spec.rollback, flags, 'rollback'),
  };
}

function labels(texts: readonly string[] | undefined, flag: string): Record<string, string> {
  return Object.fromEntries((texts ?? []).map((text) => parseLabel(text, flag)));
}

function checkMountTexts(texts: readonly string[] | undefined): pb.Mount[] {
  return asUsageError(() => (texts ?? []).map((text) => parseMount(text)));
}

function checkConstraintTexts(texts: readonly string[] | undefined): string[] {
  return asUsageError(() =>
    (texts ?? []).map((text) => {
      parseConstraint(text);
      return text;
    }),
  );
}

function preferences(texts: readonly string[] | undefined): pb.PlacementPreference[] {
  return asUsageError(() => (texts ?? []).map((text) => parsePlacementPreference(text)));
}

/**
 * The spec `service create` sends, validated: a bad flag throws a TypeError naming it.
 *
 * @example
 * buildServiceSpec('nginx', [], { name: 'web', mode: 'replicated', replicas: 3 });
 */
export function buildServiceSpec(
  image: string,
  args: readonly string[],
  flags: ServiceCreateFlags,
): pb.ServiceSpec {
  const base: pb.ServiceSpec = {
    annotations: { name: flags.name ?? '', labels: labels(flags.label, '--label') },
    task: {
      container: {
        image,
        labels: labels(flags.containerLabel, '--container-label'),
        command: [],
        args: [...args],
        hostname: '',
        env: [...(flags.env ?? [])],
        dir: '',
        user: '',
        mounts: checkMountTexts(flags.mount),
        stopSignal: '',
      },
      placement: {
        constraints: checkConstraintTexts(flags.constraint),
        preferences: preferences(flags.placementPref),
        maxReplicas: 0,
      },
      networks: [],
      forceUpdate: 0,
    },
    mode:
      flags.mode === 'global'
        ? { $case: 'global', global: {} }
        : { $case: 'replicated', replicated: { replicas: 1 } },
  };
  const spec = applyScalars(base, flags);
  return asUsageError(() => validateServiceSpec(spec, { action: 'Create service' }));
}

function envKey(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry : entry.slice(0, eq);
}

/**
 * The spec `service update` sends: `spec` (as read from the daemon) with the flags
 * applied as Docker does (removals first, then additions), validated.
 *
 * @example
 * applyServiceUpdate(service.spec!, { envAdd: ['LOG=debug'], force: true });
 */
export function applyServiceUpdate(
  spec: pb.ServiceSpec,
  flags: ServiceUpdateFlags,
): pb.ServiceSpec {
  const task = spec.task ?? { networks: [], forceUpdate: 0 };
  const container = task.container!;
  const placement = task.placement ?? { constraints: [], preferences: [], maxReplicas: 0 };

  const envRm = new Set(flags.envRm ?? []);
  const envAdd = flags.envAdd ?? [];
  const addedKeys = new Set(envAdd.map(envKey));
  const env = [
    ...container.env.filter((entry) => !envRm.has(envKey(entry)) && !addedKeys.has(envKey(entry))),
    ...envAdd,
  ];

  const serviceLabels = { ...(spec.annotations?.labels ?? {}) };
  for (const key of flags.labelRm ?? []) delete serviceLabels[key];
  Object.assign(serviceLabels, labels(flags.labelAdd, '--label-add'));

  const containerLabels = { ...container.labels };
  for (const key of flags.containerLabelRm ?? []) delete containerLabels[key];
  Object.assign(containerLabels, labels(flags.containerLabelAdd, '--container-label-add'));

  const constraintRm = new Set(flags.constraintRm ?? []);
  const constraintAdd = checkConstraintTexts(flags.constraintAdd);
  const constraints = [
    ...placement.constraints.filter((c) => !constraintRm.has(c) && !constraintAdd.includes(c)),
    ...constraintAdd,
  ];

  const prefRm = new Set(preferences(flags.placementPrefRm).map((p) => p.spreadDescriptor));
  const prefs = [
    ...placement.preferences.filter((p) => !prefRm.has(p.spreadDescriptor)),
    ...preferences(flags.placementPrefAdd),
  ];

  const mountAdd = checkMountTexts(flags.mountAdd);
  const mountRm = new Set([...(flags.mountRm ?? []), ...mountAdd.map((m) => m.target)]);
  const mounts = [...container.mounts.filter((m) => !mountRm.has(m.target)), ...mountAdd];

  const changed: pb.ServiceSpec = {
    ...spec,
    annotations: { name: spec.annotations?.name ?? '', labels: serviceLabels },
    task: {
      ...task,
      container: {
        ...container,
        image: flags.image ?? container.image,
        args: flags.args === undefined ? container.args : shellWords(flags.args, '--args'),
        env,
        labels: containerLabels,
        mounts,
      },
      placement: { ...placement, constraints, preferences: prefs },
      forceUpdate: flags.force ? task.forceUpdate + 1 : task.forceUpdate,
    },
  };
  return asUsageError(() =>
    validateServiceSpec(applyScalars(changed, flags), { action: 'Update service' }),
  );
}
