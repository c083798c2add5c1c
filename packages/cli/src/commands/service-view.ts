// How services look to users: the `service ls` row (Docker's columns) and the
// `service inspect` document (Docker's field names, durations in nanoseconds).
import { formatDuration, pb } from '@shoal/api';
import { shortImage, truncateId } from './task-view.js';

/** One `service ls` row; also the `--format json` document's element. */
export interface ServiceRow {
  ID: string;
  Name: string;
  Mode: string;
  Replicas: string;
  Image: string;
  Ports: string;
}

/** The table columns of `service ls`, as Docker prints them. */
export const SERVICE_LS_HEADERS = ['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE', 'PORTS'] as const;

const PROTOCOLS: Readonly<Record<number, string>> = {
  [pb.PortConfig_Protocol.PROTOCOL_TCP]: 'tcp',
  [pb.PortConfig_Protocol.PROTOCOL_UDP]: 'udp',
  [pb.PortConfig_Protocol.PROTOCOL_SCTP]: 'sctp',
};

/** Published ports as Docker's PORTS column shows them: `*:8080->80/tcp`. */
export function portsText(service: pb.Service): string {
  const ports = service.endpoint?.ports ?? [];
  return ports
    .filter((p) => p.publishMode === pb.PortConfig_PublishMode.PUBLISH_MODE_INGRESS)
    .map((p) => `*:${p.publishedPort}->${p.targetPort}/${PROTOCOLS[p.protocol] ?? 'tcp'}`)
    .join(', ');
}

function isLive(task: pb.Task): boolean {
  return task.desiredState === pb.TaskState.TASK_STATE_RUNNING;
}

/**
 * Running and desired task counts: desired is the replica count of a replicated service
 * and, for a global one, the tasks meant to run (one per eligible node).
 */
export function replicaCounts(
  service: pb.Service,
  tasks: readonly pb.Task[],
): { running: number; desired: number } {
  const own = tasks.filter((t) => t.serviceId === service.id);
  const running = own.filter(
    (t) => isLive(t) && t.status?.state === pb.TaskState.TASK_STATE_RUNNING,
  ).length;
  const mode = service.spec?.mode;
  const desired =
    mode?.$case === 'replicated' ? mode.replicated.replicas : own.filter(isLive).length;
  return { running, desired };
}

/** The `service ls` row of `service`, counting `tasks` (all tasks may be passed). */
export function serviceRow(service: pb.Service, tasks: readonly pb.Task[]): ServiceRow {
  const { running, desired } = replicaCounts(service, tasks);
  const maxPerNode = service.spec?.task?.placement?.maxReplicas ?? 0;
  return {
    ID: service.id,
    Name: service.spec?.annotations?.name ?? '',
    Mode: service.spec?.mode?.$case === 'global' ? 'global' : 'replicated',
    Replicas: `${running}/${desired}${maxPerNode > 0 ? ` (max ${maxPerNode} per node)` : ''}`,
    Image: shortImage(service.spec?.task?.container?.image ?? ''),
    Ports: portsText(service),
  };
}

/** The table cells of one `service ls` row. */
export function serviceRowCells(row: ServiceRow): string[] {
  return [truncateId(row.ID), row.Name, row.Mode, row.Replicas, row.Image, row.Ports];
}

function nanos(duration: pb.Duration | undefined): number | undefined {
  return duration ? duration.seconds * 1e9 + duration.nanos : undefined;
}

const CONDITION_WORDS: Readonly<Record<number, string>> = {
  [pb.RestartPolicy_Condition.CONDITION_ANY]: 'any',
  [pb.RestartPolicy_Condition.CONDITION_NONE]: 'none',
  [pb.RestartPolicy_Condition.CONDITION_ON_FAILURE]: 'on-failure',
};
const ACTION_WORDS: Readonly<Record<number, string>> = {
  [pb.UpdateConfig_FailureAction.FAILURE_ACTION_PAUSE]: 'pause',
  [pb.UpdateConfig_FailureAction.FAILURE_ACTION_CONTINUE]: 'continue',
  [pb.UpdateConfig_FailureAction.FAILURE_ACTION_ROLLBACK]: 'rollback',
};
const ORDER_WORDS: Readonly<Record<number, string>> = {
  [pb.UpdateConfig_Order.ORDER_STOP_FIRST]: 'stop-first',
  [pb.UpdateConfig_Order.ORDER_START_FIRST]: 'start-first',
};
const MOUNT_TYPES: Readonly<Record<number, string>> = {
  [pb.Mount_Type.TYPE_BIND]: 'bind',
  [pb.Mount_Type.TYPE_VOLUME]: 'volume',
  [pb.Mount_Type.TYPE_TMPFS]: 'tmpfs',
};
const UPDATE_STATES: Readonly<Record<number, string>> = {
  [pb.UpdateStatus_State.STATE_UPDATING]: 'updating',
  [pb.UpdateStatus_State.STATE_PAUSED]: 'paused',
  [pb.UpdateStatus_State.STATE_COMPLETED]: 'completed',
  [pb.UpdateStatus_State.STATE_ROLLBACK_STARTED]: 'rollback_started',
  [pb.UpdateStatus_State.STATE_ROLLBACK_PAUSED]: 'rollback_paused',
  [pb.UpdateStatus_State.STATE_ROLLBACK_COMPLETED]: 'rollback_completed',
};

function updateConfigView(config: pb.UpdateConfig | undefined) {
  if (!config) return undefined;
  return {
    Parallelism: config.parallelism,
    Delay: nanos(config.delay) ?? 0,
    FailureAction: ACTION_WORDS[config.failureAction] ?? 'pause',
    Monitor: nanos(config.monitor) ?? 0,
    MaxFailureRatio: config.maxFailureRatio,
    Order: ORDER_WORDS[config.order] ?? 'stop-first',
  };
}

function resourcesView(resources: pb.Resources | undefined) {
  return resources ? { NanoCPUs: resources.nanoCpus, MemoryBytes: resources.memoryBytes } : {};
}

function specView(spec: pb.ServiceSpec) {
  const container = spec.task?.container;
  const health = container?.healthcheck;
  const restart = spec.task?.restart;
  const placement = spec.task?.placement;
  return {
    Name: spec.annotations?.name ?? '',
    Labels: spec.annotations?.labels ?? {},
    TaskTemplate: {
      ContainerSpec: {
        Image: container?.image ?? '',
        Labels: container?.labels ?? {},
        Command: container?.command.length ? container.command : undefined,
        Args: container?.args.length ? container.args : undefined,
        Hostname: container?.hostname || undefined,
        Env: container?.env.length ? container.env : undefined,
        Dir: container?.dir || undefined,
        User: container?.user || undefined,
        Mounts: container?.mounts.length
          ? container.mounts.map((m) => ({
              Type: MOUNT_TYPES[m.type] ?? 'volume',
              Source: m.source || undefined,
              Target: m.target,
              ReadOnly: m.readOnly || undefined,
              TmpfsOptions: m.tmpfsSizeBytes ? { SizeBytes: m.tmpfsSizeBytes } : undefined,
              VolumeOptions: Object.keys(m.volumeLabels).length
                ? { Labels: m.volumeLabels }
                : undefined,
            }))
          : undefined,
        StopGracePeriod: nanos(container?.stopGracePeriod),
        StopSignal: container?.stopSignal || undefined,
        Healthcheck: health
          ? {
              Test: health.test,
              Interval: nanos(health.interval),
              Timeout: nanos(health.timeout),
              Retries: health.retries || undefined,
              StartPeriod: nanos(health.startPeriod),
            }
          : undefined,
      },
      Resources: {
        Limits: resourcesView(spec.task?.resources?.limits),
        Reservations: resourcesView(spec.task?.resources?.reservations),
      },
      RestartPolicy: restart
        ? {
            Condition: CONDITION_WORDS[restart.condition] ?? 'any',
            Delay: nanos(restart.delay) ?? 0,
            MaxAttempts: restart.maxAttempts,
            Window: nanos(restart.window),
          }
        : undefined,
      Placement: {
        Constraints: placement?.constraints.length ? placement.constraints : undefined,
        Preferences: placement?.preferences.length
          ? placement.preferences.map((p) => ({
              Spread: { SpreadDescriptor: p.spreadDescriptor },
            }))
          : undefined,
        MaxReplicas: placement?.maxReplicas || undefined,
      },
      ForceUpdate: spec.task?.forceUpdate ?? 0,
      Runtime: 'container',
    },
    Mode:
      spec.mode?.$case === 'global'
        ? { Global: {} }
        : { Replicated: { Replicas: spec.mode?.replicated.replicas ?? 1 } },
    UpdateConfig: updateConfigView(spec.update),
    RollbackConfig: updateConfigView(spec.rollback),
    EndpointSpec: {
      Mode:
        spec.endpoint?.mode === pb.EndpointSpec_ResolutionMode.RESOLUTION_MODE_DNSRR
          ? 'dnsrr'
          : 'vip',
    },
  };
}

/** The `service inspect` document, in Docker's shape. */
export function serviceInspectView(service: pb.Service) {
  const status = service.updateStatus;
  return {
    ID: service.id,
    Version: { Index: service.meta?.version ?? 0 },
    CreatedAt: service.meta?.createdAt?.toISOString() ?? null,
    UpdatedAt: service.meta?.updatedAt?.toISOString() ?? null,
    Spec: service.spec ? specView(service.spec) : {},
    PreviousSpec: service.previousSpec ? specView(service.previousSpec) : undefined,
    Endpoint: { Spec: { Mode: 'vip' } },
    UpdateStatus:
      status && status.state !== pb.UpdateStatus_State.STATE_UNKNOWN
        ? {
            State: UPDATE_STATES[status.state] ?? 'unknown',
            StartedAt: status.startedAt?.toISOString(),
            CompletedAt: status.completedAt?.toISOString(),
            Message: status.message,
          }
        : undefined,
  };
}

function ms(duration: pb.Duration | undefined): string {
  return formatDuration(duration ? duration.seconds * 1000 + duration.nanos / 1e6 : 0);
}

function updateConfigLines(config: pb.UpdateConfig | undefined, kind: 'Update' | 'Rollback') {
  if (!config) return [];
  return [
    `${kind === 'Update' ? 'UpdateConfig' : 'RollbackConfig'}:`,
    ` Parallelism:\t${config.parallelism}`,
    ...(config.delay && ms(config.delay) !== '0s' ? [` Delay:\t\t${ms(config.delay)}`] : []),
    ` On failure:\t${ACTION_WORDS[config.failureAction] ?? 'pause'}`,
    ` Monitoring Period: ${ms(config.monitor)}`,
    ` Max failure ratio: ${config.maxFailureRatio}`,
    ` ${kind} order:      ${ORDER_WORDS[config.order] ?? 'stop-first'}`,
  ];
}

/** `service inspect --pretty`, as Docker lays it out. */
export function renderServicePretty(service: pb.Service): string {
  const spec = service.spec;
  const container = spec?.task?.container;
  const placement = spec?.task?.placement;
  const restart = spec?.task?.restart;
  const labels = Object.entries(spec?.annotations?.labels ?? {});
  const limits = spec?.task?.resources?.limits;
  const reservations = spec?.task?.resources?.reservations;
  const resourceLines = (title: string, r: pb.Resources | undefined) =>
    r && (r.nanoCpus || r.memoryBytes)
      ? [
          ` ${title}:`,
          ...(r.nanoCpus ? [`  CPU:\t\t${r.nanoCpus / 1e9}`] : []),
          ...(r.memoryBytes ? [`  Memory:\t${(r.memoryBytes / 1024 ** 2).toFixed(0)}MiB`] : []),
        ]
      : [];
  const lines = [
    `ID:\t\t${service.id}`,
    `Name:\t\t${spec?.annotations?.name ?? ''}`,
    ...(labels.length ? ['Labels:', ...labels.map(([k, v]) => ` ${k}=${v}`)] : []),
    ...(spec?.mode?.$case === 'global'
      ? ['Service Mode:\tGlobal']
      : ['Service Mode:\tReplicated', ` Replicas:\t${spec?.mode?.replicated.replicas ?? 1}`]),
    ...(service.updateStatus && service.updateStatus.state !== pb.UpdateStatus_State.STATE_UNKNOWN
      ? [
          'UpdateStatus:',
          ` State:\t\t${UPDATE_STATES[service.updateStatus.state] ?? 'unknown'}`,
          ` Message:\t${service.updateStatus.message}`,
        ]
      : []),
    ...(placement?.constraints.length || placement?.preferences.length || placement?.maxReplicas
      ? [
          'Placement:',
          ...(placement.constraints.length
            ? [` Constraints:\t[${placement.constraints.join(' ')}]`]
            : []),
          ...(placement.preferences.length
            ? [
                ` Preferences:\t[${placement.preferences.map((p) => `spread=${p.spreadDescriptor}`).join(' ')}]`,
              ]
            : []),
          ...(placement.maxReplicas ? [` Max Replicas Per Node:  ${placement.maxReplicas}`] : []),
        ]
      : []),
    ...updateConfigLines(spec?.update, 'Update'),
    ...updateConfigLines(spec?.rollback, 'Rollback'),
    'ContainerSpec:',
    ` Image:\t\t${container?.image ?? ''}`,
    ...(container?.args.length ? [` Args:\t\t${container.args.join(' ')}`] : []),
    ...(container?.env.length ? [` Env:\t\t${container.env.join(' ')}`] : []),
    ...(container?.dir ? [` Dir:\t\t${container.dir}`] : []),
    ...(container?.user ? [` User:\t\t${container.user}`] : []),
    ...(container?.mounts.length
      ? [
          'Mounts:',
          ...container.mounts.flatMap((m) => [
            ` Target:\t${m.target}`,
            `  Source:\t${m.source}`,
            `  ReadOnly:\t${m.readOnly}`,
            `  Type:\t\t${MOUNT_TYPES[m.type] ?? 'volume'}`,
          ]),
        ]
      : []),
    ...(restart
      ? [
          'RestartPolicy:',
          ` Condition:\t${CONDITION_WORDS[restart.condition] ?? 'any'}`,
          ` Delay:\t\t${ms(restart.delay)}`,
          ` Max attempts:\t${restart.maxAttempts}`,
        ]
      : []),
    'Resources:',
    ...resourceLines('Reservations', reservations),
    ...resourceLines('Limits', limits),
    `Endpoint Mode:\t${spec?.endpoint?.mode === pb.EndpointSpec_ResolutionMode.RESOLUTION_MODE_DNSRR ? 'dnsrr' : 'vip'}`,
  ];
  return `${lines.join('\n')}\n`;
}
