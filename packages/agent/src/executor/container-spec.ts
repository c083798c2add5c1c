// Renders a task into the container Docker should run for it, as SwarmKit's container
// adapter does (daemon/cluster/executor/container/container.go): the service's command
// replaces the image's entrypoint and its args the image's CMD, the orchestrator owns
// restarts (Docker's restart policy stays off), and networking is the agent's business
// (network mode `none` until the overlay wires the task's interfaces).
import { durationToMs, pb } from '@shoal/api';
import type {
  ContainerCreateOptions,
  RuntimeHealthcheck,
  RuntimeMount,
} from './container-runtime.js';

/** Labels the executor puts on every task container; `NODE` is what it lists by. */
export const TASK_LABELS = {
  TASK_ID: 'org.shoal.task.id',
  SERVICE_ID: 'org.shoal.service.id',
  SERVICE_NAME: 'org.shoal.service.name',
  NODE_ID: 'org.shoal.node.id',
  SLOT: 'org.shoal.task.slot',
} as const;

/** Docker's and Swarm's default stop grace period. */
export const DEFAULT_STOP_GRACE_MS = 10_000;

/** What the renderer needs beside the task. */
export interface RenderContext {
  /** This node's ID: the name's middle part for global services (slot 0). */
  readonly nodeId: string;
  readonly serviceName: string;
}

/**
 * The container name Docker Swarm gives a task: `<service>.<slot>.<task-id>`, or
 * `<service>.<node-id>.<task-id>` for a global service's task, which has no slot.
 *
 * @example
 * containerName(task, { nodeId: 'n1', serviceName: 'web' }); // "web.3.x7q…"
 */
export function containerName(task: pb.Task, context: RenderContext): string {
  const middle = task.slot > 0 ? String(task.slot) : context.nodeId;
  return `${context.serviceName}.${middle}.${task.id}`;
}

/** The task's stop grace period in ms (Swarm's default of 10 s when unset). */
export function stopGraceMs(task: pb.Task): number {
  const grace = task.spec?.container?.stopGracePeriod;
  return grace ? durationToMs(grace) : DEFAULT_STOP_GRACE_MS;
}

function nanos(duration: pb.Duration | undefined): number | undefined {
  if (!duration) return undefined;
  return duration.seconds * 1e9 + duration.nanos;
}

function renderMount(mount: pb.Mount): RuntimeMount {
  const common = { Target: mount.target, ...(mount.readOnly ? { ReadOnly: true } : {}) };
  switch (mount.type) {
    case pb.Mount_Type.TYPE_BIND:
      return { Type: 'bind', Source: mount.source, ...common };
    case pb.Mount_Type.TYPE_TMPFS:
      return {
        Type: 'tmpfs',
        ...common,
        ...(mount.tmpfsSizeBytes > 0 ? { TmpfsOptions: { SizeBytes: mount.tmpfsSizeBytes } } : {}),
      };
    default: {
      const labels = mount.volumeLabels;
      return {
        Type: 'volume',
        // An empty source asks Docker for an anonymous volume.
        ...(mount.source ? { Source: mount.source } : {}),
        ...common,
        ...(Object.keys(labels).length > 0 ? { VolumeOptions: { Labels: { ...labels } } } : {}),
      };
    }
  }
}

function renderHealthcheck(health: pb.HealthConfig): RuntimeHealthcheck {
  const interval = nanos(health.interval);
  const timeout = nanos(health.timeout);
  const startPeriod = nanos(health.startPeriod);
  return {
    Test: [...health.test],
    ...(interval ? { Interval: interval } : {}),
    ...(timeout ? { Timeout: timeout } : {}),
    ...(health.retries > 0 ? { Retries: health.retries } : {}),
    ...(startPeriod ? { StartPeriod: startPeriod } : {}),
  };
}

/**
 * The options of Docker's create call for `task`. Pure; throws TypeError for a task
 * without a container spec (the manager never assigns one).
 *
 * @example
 * const options = renderContainerSpec(task, { nodeId: 'n1', serviceName: 'web' });
 * await runtime.create(options);
 */
export function renderContainerSpec(task: pb.Task, context: RenderContext): ContainerCreateOptions {
  const spec = task.spec?.container;
  if (!spec) {
    throw new TypeError(`Render container of task "${task.id}": the task has no container spec`);
  }
  const limits = task.spec?.resources?.limits;
  const health = spec.healthcheck;
  return {
    name: containerName(task, context),
    Image: spec.image,
    // Ours last: a spec label must not pass a container off as another task's.
    Labels: {
      ...spec.labels,
      [TASK_LABELS.TASK_ID]: task.id,
      [TASK_LABELS.SERVICE_ID]: task.serviceId,
      [TASK_LABELS.SERVICE_NAME]: context.serviceName,
      [TASK_LABELS.NODE_ID]: context.nodeId,
      [TASK_LABELS.SLOT]: String(task.slot),
    },
    Env: [...spec.env],
    ...(spec.command.length > 0 ? { Entrypoint: [...spec.command] } : {}),
    ...(spec.args.length > 0 ? { Cmd: [...spec.args] } : {}),
    ...(spec.dir ? { WorkingDir: spec.dir } : {}),
    ...(spec.user ? { User: spec.user } : {}),
    ...(spec.hostname ? { Hostname: spec.hostname } : {}),
    ...(spec.stopSignal ? { StopSignal: spec.stopSignal } : {}),
    StopTimeout: Math.ceil(stopGraceMs(task) / 1000),
    ...(health && health.test.length > 0 ? { Healthcheck: renderHealthcheck(health) } : {}),
    HostConfig: {
      NetworkMode: 'none',
      RestartPolicy: { Name: 'no' },
      Mounts: spec.mounts.map(renderMount),
      ...(limits && limits.nanoCpus > 0 ? { NanoCpus: limits.nanoCpus } : {}),
      ...(limits && limits.memoryBytes > 0 ? { Memory: limits.memoryBytes } : {}),
    },
  };
}
