// A fake daemon for the service commands' tests: Control calls over an in-memory world
// the test can change between polls, a manual clock, and a runShoal bound to both.
import { pb, ShoalError, validateServiceSpec } from '@shoal/api';
import type { LocalApiClient } from '../client/cli-context.js';
import { runShoal } from '../program.js';

/** @internal The fake clock's start; task ages count back from it. */
export const NOW = Date.parse('2026-11-25T12:00:00Z');
/** @internal The node the fake daemon runs on. */
export const SELF = 'n1aaaaaaaaaaaaaaaaaaaaaaa';
/** @internal The swarm's nodes: lab-m1 (self) and lab-w1. */
export const NODES = [
  pb.Node.fromPartial({ id: SELF, description: { hostname: 'lab-m1' } }),
  pb.Node.fromPartial({ id: 'n2bbbbbbbbbbbbbbbbbbbbbbb', description: { hostname: 'lab-w1' } }),
];

/** @internal A validated service of 3 replicas (or global) running nginx. */
export function service(
  id: string,
  name: string,
  mode: 'replicated' | 'global',
  extra: Partial<pb.Service> = {},
): pb.Service {
  const spec = validateServiceSpec({
    annotations: { name, labels: {} },
    task: {
      container: pb.ContainerSpec.fromPartial({ image: 'nginx:1.27@sha256:abc', env: ['A=1'] }),
      networks: [],
      forceUpdate: 0,
    },
    mode:
      mode === 'global'
        ? { $case: 'global', global: {} }
        : { $case: 'replicated', replicated: { replicas: 3 } },
  });
  return pb.Service.fromPartial({
    id,
    meta: { version: 10, createdAt: new Date(NOW - 3_600_000) },
    spec,
    specVersion: 1,
    ...extra,
  });
}

/** @internal What a test may set on a task built by `task`. */
export interface TaskOptions {
  node?: string;
  desired?: pb.TaskState;
  err?: string;
  message?: string;
  ageMs?: number;
  specVersion?: number;
  name?: string;
}

/** @internal A task of `serviceId` in `slot` (0 for global), `ageMs` old (default 5 minutes). */
export function task(
  id: string,
  serviceId: string,
  slot: number,
  state: pb.TaskState,
  o: TaskOptions = {},
): pb.Task {
  const at = new Date(NOW - (o.ageMs ?? 300_000));
  return pb.Task.fromPartial({
    id,
    serviceId,
    slot,
    nodeId: o.node ?? SELF,
    specVersion: o.specVersion ?? 1,
    serviceAnnotations: { name: o.name ?? 'web' },
    spec: { container: { image: 'nginx:1.27@sha256:abc' } },
    meta: { createdAt: at },
    desiredState: o.desired ?? pb.TaskState.TASK_STATE_RUNNING,
    status: { state, timestamp: at, err: o.err ?? '', message: o.message ?? '' },
  });
}

/** @internal Short names for the task states the tests use. */
export const RUNNING = pb.TaskState.TASK_STATE_RUNNING;
export const PENDING = pb.TaskState.TASK_STATE_PENDING;
export const FAILED = pb.TaskState.TASK_STATE_FAILED;
export const SHUTDOWN = pb.TaskState.TASK_STATE_SHUTDOWN;

/** @internal The services and tasks the fake daemon serves; tests change them. */
export interface World {
  services: pb.Service[];
  tasks: pb.Task[];
}

/**
 * @internal A fake daemon over `world`; `onPoll(n)` runs before the n-th listTasks answer (from 1)
 * so a test can make the tasks evolve as the progress display polls.
 */
export function harness(
  world: World = { services: [], tasks: [] },
  options: { isTty?: boolean; onPoll?: (n: number, world: World) => void } = {},
) {
  const out: string[] = [];
  const err: string[] = [];
  const calls: { method: string; request: unknown }[] = [];
  let connects = 0;
  let polls = 0;
  let now = NOW;
  const find = (ref: string) =>
    world.services.find(
      (s) => s.id === ref || s.id.startsWith(ref) || s.spec?.annotations?.name === ref,
    );
  const client: LocalApiClient = {
    info: async () => ({ nodeId: SELF }) as pb.InfoResponse,
    version: async () => ({}),
    swarmInit: async () => ({}) as pb.SwarmInitResponse,
    swarmJoin: async () => ({}) as pb.SwarmJoinResponse,
    swarmLeave: async () => ({}),
    close: () => {},
    control: {
      listNodes: async () => ({ nodes: NODES }),
      getNode: async (r) => {
        calls.push({ method: 'getNode', request: r });
        return {
          node: NODES.find((n) => n.id === r.nodeId || n.description?.hostname === r.nodeId)!,
        };
      },
      updateNode: async () => ({}),
      removeNode: async () => ({}),
      getCluster: async () => ({}),
      updateCluster: async () => ({}),
      getService: async (r) => {
        const found = find(r.serviceId);
        if (!found) throw new ShoalError('SHOAL_NOT_FOUND', `No such service: "${r.serviceId}"`);
        return { service: found };
      },
      listServices: async (r) => {
        calls.push({ method: 'listServices', request: r });
        return { services: world.services };
      },
      createService: async (r) => {
        calls.push({ method: 'createService', request: r });
        const created = pb.Service.fromPartial({ id: 'newsvc0000000000000000000', specVersion: 1 });
        created.spec = r.spec;
        world.services.push(created);
        return { service: created };
      },
      updateService: async (r) => {
        calls.push({ method: 'updateService', request: r });
        const found = world.services.find((s) => s.id === r.serviceId)!;
        if (r.spec) found.spec = r.spec;
        found.specVersion += 1;
        return { service: found };
      },
      removeService: async (r) => {
        calls.push({ method: 'removeService', request: r });
        return {};
      },
      getTask: async () => ({}),
      listTasks: async (r) => {
        calls.push({ method: 'listTasks', request: r });
        polls += 1;
        options.onPoll?.(polls, world);
        return { tasks: world.tasks };
      },
    },
  };
  const run = (...argv: string[]) =>
    runShoal(argv, {
      out: (text) => out.push(text),
      err: (text) => err.push(text),
      env: {},
      isTty: options.isTty ?? false,
      clock: {
        now: () => now,
        sleep: async (ms) => {
          now += ms;
        },
      },
      connect: async () => {
        connects += 1;
        return client;
      },
    });
  const request = <T>(method: string) => calls.find((c) => c.method === method)?.request as T;
  return {
    run,
    out,
    err,
    calls,
    request,
    text: () => out.join(''),
    connects: () => connects,
    elapsed: () => now - NOW,
  };
}
