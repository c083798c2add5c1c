// The ContainerRuntime seam on a Docker engine, over dockerode. Written for API 1.41
// (Docker 20.10): its stop call has no signal parameter (1.42 adds one), so a stop with
// a signal is a kill with that signal, a bounded wait, then SIGKILL, which is what
// `docker stop` does inside the engine.
import Docker from 'dockerode';
import type {
  ContainerCreateOptions,
  ContainerInfo,
  ContainerRuntime,
  ContainerStatus,
  HealthStatus,
  RuntimeEvent,
  StopOptions,
} from './container-runtime.js';
import { DEFAULT_STOP_GRACE_MS } from './container-spec.js';

/** Options of {@link DockerRuntime.connect}. */
export interface DockerRuntimeOptions {
  /** `unix:///path/docker.sock` (what shoald's `--engine-host` takes). */
  readonly engineHost: string;
}

const EVENT_TYPES = new Set(['start', 'die', 'oom', 'destroy']);

/** Docker's error shape: an HTTP status on `statusCode`. */
function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number } | null)?.statusCode;
}

function labelFilter(labels: Readonly<Record<string, string>>): string[] {
  return Object.entries(labels).map(([key, value]) => `${key}=${value}`);
}

function toHealth(status: string | undefined): HealthStatus | undefined {
  return status === 'starting' || status === 'healthy' || status === 'unhealthy'
    ? status
    : undefined;
}

function toInfo(inspect: Docker.ContainerInspectInfo): ContainerInfo {
  const state = inspect.State;
  // The engine sends both; dockerode's types leave them out of the inspect result.
  const config = inspect.Config as typeof inspect.Config & {
    StopSignal?: string;
    StopTimeout?: number;
  };
  return {
    id: inspect.Id,
    name: inspect.Name.replace(/^\//, ''),
    labels: inspect.Config.Labels ?? {},
    status: state.Status as ContainerStatus,
    exitCode: state.ExitCode,
    oomKilled: state.OOMKilled,
    error: state.Error ?? '',
    pid: state.Pid,
    startedAt: state.StartedAt,
    finishedAt: state.FinishedAt,
    health: toHealth(state.Health?.Status),
    stopSignal: config.StopSignal ?? '',
    stopGraceMs:
      config.StopTimeout === undefined ? DEFAULT_STOP_GRACE_MS : config.StopTimeout * 1000,
  };
}

/**
 * The node's Docker engine as the executor uses it.
 *
 * @example
 * const runtime = await DockerRuntime.connect({ engineHost: 'unix:///run/docker.sock' });
 * const id = await runtime.create(renderContainerSpec(task, context));
 */
export class DockerRuntime implements ContainerRuntime {
  readonly #docker: Docker;

  private constructor(docker: Docker) {
    this.#docker = docker;
  }

  /** Resolves once the engine answers `/_ping`. */
  static async connect(options: DockerRuntimeOptions): Promise<DockerRuntime> {
    const socketPath = options.engineHost.replace(/^unix:\/\//, '');
    const docker = new Docker({ socketPath });
    await docker.ping();
    return new DockerRuntime(docker);
  }

  async imageExists(ref: string): Promise<boolean> {
    try {
      await this.#docker.getImage(ref).inspect();
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  async pullImage(ref: string, signal: AbortSignal): Promise<void> {
    const stream = (await this.#docker.pull(ref, { abortSignal: signal })) as NodeJS.ReadableStream;
    // The engine answers 200 at once and reports failures inside the progress stream.
    await new Promise<void>((resolve, reject) => {
      this.#docker.modem.followProgress(stream, (error: Error | null, output: unknown[]) => {
        if (error) return reject(error);
        const failed = (output ?? []).find(
          (line): line is { error: string } =>
            typeof (line as { error?: unknown } | null)?.error === 'string',
        );
        if (failed) return reject(new Error(failed.error));
        resolve();
      });
    });
  }

  async create(options: ContainerCreateOptions): Promise<string> {
    const container = await this.#docker.createContainer(
      options as unknown as Docker.ContainerCreateOptions,
    );
    return container.id;
  }

  async start(id: string): Promise<void> {
    try {
      await this.#docker.getContainer(id).start();
    } catch (error) {
      // 304: already started, which is what was asked.
      if (statusOf(error) !== 304) throw error;
    }
  }

  async stop(id: string, options: StopOptions): Promise<void> {
    const container = this.#docker.getContainer(id);
    if (!options.signal) {
      await ignoreGone(container.stop({ t: Math.ceil(options.graceMs / 1000) }));
      return;
    }
    if (!(await ignoreGone(container.kill({ signal: options.signal })))) return;
    const grace = AbortSignal.timeout(options.graceMs);
    try {
      await container.wait({ condition: 'not-running', abortSignal: grace });
    } catch (error) {
      if (!grace.aborted) {
        if (statusOf(error) === 404) return;
        throw error;
      }
      await ignoreGone(container.kill({ signal: 'SIGKILL' }));
    }
  }

  async remove(id: string): Promise<void> {
    await ignoreGone(this.#docker.getContainer(id).remove({ force: true, v: true }));
  }

  async inspect(id: string): Promise<ContainerInfo | undefined> {
    try {
      return toInfo(await this.#docker.getContainer(id).inspect());
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async list(labels: Readonly<Record<string, string>>): Promise<ContainerInfo[]> {
    const summaries = await this.#docker.listContainers({
      all: true,
      filters: { label: labelFilter(labels) },
    });
    const infos = await Promise.all(summaries.map((s) => this.inspect(s.Id)));
    return infos.filter((info): info is ContainerInfo => info !== undefined);
  }

  async *events(
    labels: Readonly<Record<string, string>>,
    signal: AbortSignal,
  ): AsyncIterable<RuntimeEvent> {
    if (signal.aborted) return;
    const stream = (await this.#docker.getEvents({
      filters: { type: ['container'], label: labelFilter(labels) },
      abortSignal: signal,
    } as Docker.GetEventsOptions)) as NodeJS.ReadableStream;
    let buffered = '';
    try {
      for await (const chunk of stream) {
        buffered += chunk.toString();
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
          const event = line ? parseEvent(line) : undefined;
          if (event) yield event;
        }
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }
}

/** One line of `/events`, or undefined for an event the executor ignores. */
function parseEvent(line: string): RuntimeEvent | undefined {
  const raw = JSON.parse(line) as {
    Type?: string;
    Action?: string;
    Actor?: { ID?: string; Attributes?: Record<string, string> };
  };
  const action = raw.Action ?? '';
  const containerId = raw.Actor?.ID ?? '';
  const attributes = raw.Actor?.Attributes ?? {};
  if (raw.Type !== 'container' || !containerId) return undefined;
  // Docker's attributes hold the container's labels beside `name`, `image`, `exitCode`.
  if (action.startsWith('health_status: ')) {
    const health = toHealth(action.slice('health_status: '.length));
    return health ? { type: 'health', containerId, labels: attributes, health } : undefined;
  }
  if (!EVENT_TYPES.has(action)) return undefined;
  return { type: action as RuntimeEvent['type'], containerId, labels: attributes };
}

/** Awaits a call on a container; false when the container is gone or not running. */
async function ignoreGone(call: Promise<unknown>): Promise<boolean> {
  try {
    await call;
    return true;
  } catch (error) {
    const status = statusOf(error);
    // 404: no such container; 304: already stopped; 409: not running (kill).
    if (status === 404 || status === 304 || status === 409) return false;
    throw error;
  }
}
