// An in-memory engine behind the ContainerRuntime seam, for unit tests of the executor:
// the test drives it step by step (a container exits, turns healthy, a call fails) and
// reads back the calls the executor made. No timers, no I/O.
import type {
  ContainerCreateOptions,
  ContainerInfo,
  ContainerRuntime,
  HealthStatus,
  RuntimeEvent,
  StopOptions,
} from './container-runtime.js';
import { DEFAULT_STOP_GRACE_MS } from './container-spec.js';

type Operation =
  | 'imageExists'
  | 'pullImage'
  | 'create'
  | 'start'
  | 'stop'
  | 'remove'
  | 'inspect'
  | 'list';

/** Docker's zero time, what an engine shows for a container never started. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

interface Subscriber {
  readonly labels: Readonly<Record<string, string>>;
  readonly queue: RuntimeEvent[];
  wake: (() => void) | undefined;
}

/**
 * @internal A fake engine for tests.
 *
 * @example
 * const runtime = new FakeContainerRuntime({ images: ['busybox'] });
 * runtime.exit(id, 1); // emits `die`; the executor reports FAILED
 */
export class FakeContainerRuntime implements ContainerRuntime {
  readonly images: Set<string>;
  /** Images a pull finds in the (pretend) registry. */
  readonly registry: Set<string>;
  readonly containers = new Map<string, ContainerInfo & { options?: ContainerCreateOptions }>();
  /** Every call made, as `op name-or-id`, in order. */
  readonly calls: string[] = [];
  /** Calls that must fail next, by operation. */
  readonly #failures = new Map<Operation, Error[]>();
  readonly #subscribers = new Set<Subscriber>();
  #nextId = 1;
  #clock = 0;

  constructor(options: { images?: readonly string[]; registry?: readonly string[] } = {}) {
    this.images = new Set(options.images ?? []);
    this.registry = new Set(options.registry ?? []);
  }

  /** Makes the next call of `op` reject with `error`. */
  failNext(op: Operation, error: Error): void {
    this.#failures.set(op, [...(this.#failures.get(op) ?? []), error]);
  }

  /** Puts a container on the engine as if an earlier agent had made it. */
  seed(info: Partial<ContainerInfo> & Pick<ContainerInfo, 'name' | 'labels'>): ContainerInfo {
    const id = info.id ?? `c${this.#nextId++}`;
    const full: ContainerInfo = {
      status: 'running',
      exitCode: 0,
      oomKilled: false,
      error: '',
      pid: 100,
      startedAt: this.#now(),
      finishedAt: ZERO_TIME,
      health: undefined,
      stopSignal: '',
      stopGraceMs: DEFAULT_STOP_GRACE_MS,
      ...info,
      id,
    };
    this.containers.set(id, full);
    return full;
  }

  /** The container named `name`. */
  byName(name: string): (ContainerInfo & { options?: ContainerCreateOptions }) | undefined {
    return [...this.containers.values()].find((c) => c.name === name);
  }

  /** The container exits with `exitCode` on its own (or is OOM-killed). */
  exit(id: string, exitCode: number, options: { oomKilled?: boolean } = {}): void {
    const info = this.#get(id);
    if (options.oomKilled) this.#emit({ type: 'oom', containerId: id, labels: info.labels });
    this.#update(id, {
      status: 'exited',
      exitCode,
      oomKilled: options.oomKilled ?? false,
      pid: 0,
      finishedAt: this.#now(),
    });
    this.#emit({ type: 'die', containerId: id, labels: info.labels });
  }

  /** The container's health check reports `health`. */
  setHealth(id: string, health: HealthStatus): void {
    const info = this.#update(id, { health });
    this.#emit({ type: 'health', containerId: id, labels: info.labels, health });
  }

  async imageExists(ref: string): Promise<boolean> {
    this.#call('imageExists', ref);
    return this.images.has(ref);
  }

  async pullImage(ref: string, signal: AbortSignal): Promise<void> {
    this.#call('pullImage', ref);
    signal.throwIfAborted();
    if (!this.registry.has(ref)) {
      throw new Error(`pull access denied for ${ref}, repository does not exist`);
    }
    this.images.add(ref);
  }

  async create(options: ContainerCreateOptions): Promise<string> {
    this.#call('create', options.name);
    if (!this.images.has(options.Image)) throw new Error(`No such image: ${options.Image}`);
    if (this.byName(options.name)) {
      throw new Error(`Conflict. The container name "/${options.name}" is already in use`);
    }
    const id = `c${this.#nextId++}`;
    this.containers.set(id, {
      id,
      name: options.name,
      labels: { ...options.Labels },
      status: 'created',
      exitCode: 0,
      oomKilled: false,
      error: '',
      pid: 0,
      startedAt: ZERO_TIME,
      finishedAt: ZERO_TIME,
      health: undefined,
      stopSignal: options.StopSignal ?? '',
      stopGraceMs:
        options.StopTimeout === undefined ? DEFAULT_STOP_GRACE_MS : options.StopTimeout * 1000,
      options,
    });
    return id;
  }

  async start(id: string): Promise<void> {
    this.#call('start', this.#get(id).name);
    const options = this.containers.get(id)?.options;
    const checked = options?.Healthcheck && options.Healthcheck.Test[0] !== 'NONE';
    const info = this.#update(id, {
      status: 'running',
      pid: 100 + this.#nextId++,
      startedAt: this.#now(),
      health: checked ? 'starting' : undefined,
    });
    this.#emit({ type: 'start', containerId: id, labels: info.labels });
  }

  async stop(id: string, options: StopOptions): Promise<void> {
    const info = this.containers.get(id);
    this.#call('stop', `${info?.name ?? id} ${options.signal ?? 'default'} ${options.graceMs}`);
    if (info?.status !== 'running') return;
    this.exit(id, 143);
  }

  async remove(id: string): Promise<void> {
    const info = this.containers.get(id);
    this.#call('remove', info?.name ?? id);
    if (!info) return;
    this.containers.delete(id);
    this.#emit({ type: 'destroy', containerId: id, labels: info.labels });
  }

  async inspect(id: string): Promise<ContainerInfo | undefined> {
    this.#call('inspect', this.containers.get(id)?.name ?? id);
    const info = this.containers.get(id);
    return info && { ...info };
  }

  async list(labels: Readonly<Record<string, string>>): Promise<ContainerInfo[]> {
    this.#call('list', JSON.stringify(labels));
    return [...this.containers.values()]
      .filter((c) => matches(c.labels, labels))
      .map((c) => ({ ...c }));
  }

  async *events(
    labels: Readonly<Record<string, string>>,
    signal: AbortSignal,
  ): AsyncIterable<RuntimeEvent> {
    const subscriber: Subscriber = { labels, queue: [], wake: undefined };
    this.#subscribers.add(subscriber);
    const onAbort = () => subscriber.wake?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted) {
        const event = subscriber.queue.shift();
        if (event) {
          yield event;
          continue;
        }
        await new Promise<void>((resolve) => {
          subscriber.wake = resolve;
        });
        subscriber.wake = undefined;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#subscribers.delete(subscriber);
    }
  }

  /** How many event streams are open (0 once the executor closed). */
  get subscribers(): number {
    return this.#subscribers.size;
  }

  #call(op: Operation, what: string): void {
    this.calls.push(`${op} ${what}`);
    const error = this.#failures.get(op)?.shift();
    if (error) throw error;
  }

  #get(id: string): ContainerInfo {
    const info = this.containers.get(id);
    if (!info) throw new Error(`No such container: ${id}`);
    return info;
  }

  #update(id: string, change: Partial<ContainerInfo>): ContainerInfo {
    const info = { ...this.#get(id), ...change };
    this.containers.set(id, info);
    return info;
  }

  #emit(event: RuntimeEvent): void {
    for (const subscriber of this.#subscribers) {
      if (!matches(event.labels, subscriber.labels)) continue;
      subscriber.queue.push(event);
      subscriber.wake?.();
    }
  }

  #now(): string {
    this.#clock++;
    return new Date(Date.UTC(2026, 0, 1, 0, 0, this.#clock)).toISOString();
  }
}

function matches(
  have: Readonly<Record<string, string>>,
  want: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(want).every(([key, value]) => have[key] === value);
}
