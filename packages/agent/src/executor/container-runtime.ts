// The executor's one seam to a container engine: the few calls it needs, in Docker's
// vocabulary, so that DockerRuntime is a thin adapter and FakeContainerRuntime can stand
// in for it in unit tests (STYLE 27). Nothing here knows about tasks.

/** A mount as Docker's `HostConfig.Mounts` takes it. */
export interface RuntimeMount {
  readonly Type: 'bind' | 'volume' | 'tmpfs';
  readonly Source?: string;
  readonly Target: string;
  readonly ReadOnly?: boolean;
  readonly TmpfsOptions?: { readonly SizeBytes?: number };
  readonly VolumeOptions?: { readonly Labels?: Record<string, string> };
}

/** A health check as Docker's create call takes it: durations in nanoseconds. */
export interface RuntimeHealthcheck {
  readonly Test: readonly string[];
  readonly Interval?: number;
  readonly Timeout?: number;
  readonly Retries?: number;
  readonly StartPeriod?: number;
}

/** The body of Docker's `POST /containers/create`, with the name beside it. */
export interface ContainerCreateOptions {
  readonly name: string;
  readonly Image: string;
  readonly Labels: Record<string, string>;
  readonly Env: readonly string[];
  readonly Cmd?: readonly string[];
  readonly Entrypoint?: readonly string[];
  readonly WorkingDir?: string;
  readonly User?: string;
  readonly Hostname?: string;
  readonly StopSignal?: string;
  /** Seconds, as Docker counts them. */
  readonly StopTimeout?: number;
  readonly Healthcheck?: RuntimeHealthcheck;
  readonly HostConfig: {
    readonly NetworkMode: string;
    readonly RestartPolicy: { readonly Name: 'no' };
    readonly Mounts: readonly RuntimeMount[];
    readonly NanoCpus?: number;
    readonly Memory?: number;
  };
}

/** Docker's `State.Status` of a container. */
export type ContainerStatus =
  | 'created'
  | 'running'
  | 'paused'
  | 'restarting'
  | 'removing'
  | 'exited'
  | 'dead';

/** Docker's health status, absent for a container without a health check. */
export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

/** What the executor reads about one container (a subset of `docker inspect`). */
export interface ContainerInfo {
  readonly id: string;
  /** Without Docker's leading slash. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly status: ContainerStatus;
  readonly exitCode: number;
  readonly oomKilled: boolean;
  /** The engine's own error (e.g. a failed exec of the entrypoint), '' when none. */
  readonly error: string;
  readonly pid: number;
  /** RFC 3339 as Docker prints it; Docker's zero time when never started. */
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly health: HealthStatus | undefined;
  /** The signal `docker stop` sends first, '' for the engine's default (SIGTERM). */
  readonly stopSignal: string;
  /** How long `docker stop` waits before SIGKILL (the container's StopTimeout). */
  readonly stopGraceMs: number;
}

/**
 * A container event the executor reacts to; the executor re-inspects the container for
 * the facts (an event only says that something changed).
 */
export interface RuntimeEvent {
  readonly type: 'start' | 'die' | 'oom' | 'health' | 'destroy';
  readonly containerId: string;
  readonly labels: Readonly<Record<string, string>>;
  /** For `health`: the new status. */
  readonly health?: HealthStatus;
}

/** Options of {@link ContainerRuntime.stop}. */
export interface StopOptions {
  /** Signal sent first; the container's own stop signal when absent. */
  readonly signal?: string;
  /** How long the container may take to exit before it is killed (SIGKILL). */
  readonly graceMs: number;
}

/**
 * A container engine as the task executor uses it. Calls reject with the engine's error;
 * `inspect` resolves `undefined` for a container that does not exist, and `stop` and
 * `remove` succeed on one that is already stopped or gone.
 */
export interface ContainerRuntime {
  /** Whether the engine holds the image `ref` locally. */
  imageExists(ref: string): Promise<boolean>;
  /**
   * Pulls the image `ref` from its registry; resolves once the engine holds it, rejects
   * with the engine's error (no such image, no registry reachable) or when `signal` aborts.
   */
  pullImage(ref: string, signal: AbortSignal): Promise<void>;
  /** Creates a container and resolves with its ID. */
  create(options: ContainerCreateOptions): Promise<string>;
  start(id: string): Promise<void>;
  stop(id: string, options: StopOptions): Promise<void>;
  /** Removes the container (forcibly, running or not) with its anonymous volumes. */
  remove(id: string): Promise<void>;
  inspect(id: string): Promise<ContainerInfo | undefined>;
  /** Containers of any state that carry every one of `labels`. */
  list(labels: Readonly<Record<string, string>>): Promise<ContainerInfo[]>;
  /**
   * Container events of containers carrying `labels`, from now until `signal` aborts
   * (the iterator then ends) or the engine connection breaks (it throws).
   */
  events(
    labels: Readonly<Record<string, string>>,
    signal: AbortSignal,
  ): AsyncIterable<RuntimeEvent>;
}
