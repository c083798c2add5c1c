// Services end to end in one process: three real managers (Raft, store, mutual-TLS gRPC
// on 127.0.0.1) and simulated agents speaking the real dispatcher protocol (the agent's
// own AgentSession). Every wait polls with a deadline; nothing sleeps then asserts.
import { durationFromMs, pb } from '@shoal/api';
import { afterEach, describe, expect, it } from 'vitest';
import { pollUntil } from './testing/grpc-call.js';
import { InProcessCluster, type JoinTarget } from './testing/in-process-cluster.js';
import { SimulatedAgent, type SimulatedAgentOptions } from './testing/simulated-agent.js';

const S = pb.TaskState;
const U = pb.UpdateStatus_State;
const TEST_TIMEOUT_MS = 120_000;
const WAIT_MS = 45_000;

interface SpecOptions {
  readonly name: string;
  readonly replicas?: number;
  readonly global?: boolean;
  readonly image?: string;
  readonly update?: Partial<pb.UpdateConfig>;
  readonly rollback?: Partial<pb.UpdateConfig>;
}

function updateConfig(u: Partial<pb.UpdateConfig> | undefined): pb.UpdateConfig {
  return {
    parallelism: 1,
    delay: durationFromMs(0),
    failureAction: pb.UpdateConfig_FailureAction.FAILURE_ACTION_PAUSE,
    monitor: durationFromMs(300),
    maxFailureRatio: 0,
    order: pb.UpdateConfig_Order.ORDER_STOP_FIRST,
    ...u,
  };
}

function serviceSpec(o: SpecOptions): pb.ServiceSpec {
  return pb.ServiceSpec.fromPartial({
    annotations: { name: o.name, labels: {} },
    task: {
      container: { image: o.image ?? 'app:v1', labels: {}, command: [], args: [], env: [] },
      restart: {
        condition: pb.RestartPolicy_Condition.CONDITION_ANY,
        delay: durationFromMs(100),
        maxAttempts: 0,
        window: durationFromMs(0),
      },
    },
    mode: (o.global
      ? { $case: 'global', global: {} }
      : {
          $case: 'replicated',
          replicated: { replicas: o.replicas ?? 1 },
        }) as pb.ServiceSpec['mode'],
    update: updateConfig(o.update),
    rollback: updateConfig(o.rollback),
  });
}

let cluster: InProcessCluster | undefined;
const agents: SimulatedAgent[] = [];

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
  await cluster?.close();
  cluster = undefined;
});

async function startCluster(agentCount: number, extra: Partial<SimulatedAgentOptions> = {}) {
  const c = await InProcessCluster.create({ managers: 3 });
  cluster = c;
  for (let i = 0; i < agentCount; i++) await addAgent(`worker-${i}`, extra);
  return c;
}

/** Joins an agent (through `target`, the cluster by default) and opens its session. */
async function startAgent(
  hostname: string,
  extra: Partial<SimulatedAgentOptions> = {},
  target: JoinTarget = cluster!,
) {
  const agent = await SimulatedAgent.start(target, { hostname, log: cluster!.log, ...extra });
  agents.push(agent);
  return agent;
}

async function addAgent(hostname: string, extra: Partial<SimulatedAgentOptions> = {}) {
  const agent = await startAgent(hostname, extra);
  await pollUntil(() => agent.isConnected, { timeoutMs: WAIT_MS, what: `${hostname} connected` });
  await pollUntil(
    async () => {
      const { node } = await cluster!.control<pb.GetNodeResponse>((c, md, o, cb) =>
        c.getNode({ nodeId: agent.nodeId }, md, o, cb),
      );
      return node?.status?.state === pb.NodeStatus_State.STATE_READY;
    },
    { timeoutMs: WAIT_MS, what: `${hostname} Ready` },
  );
  return agent;
}

async function createService(spec: pb.ServiceSpec): Promise<pb.Service> {
  const { service } = await cluster!.control<pb.CreateServiceResponse>((c, md, o, cb) =>
    c.createService({ spec }, md, o, cb),
  );
  return service!;
}

async function getService(serviceId: string): Promise<pb.Service> {
  const { service } = await cluster!.control<pb.GetServiceResponse>((c, md, o, cb) =>
    c.getService({ serviceId }, md, o, cb),
  );
  return service!;
}

async function updateService(
  serviceId: string,
  change: (spec: pb.ServiceSpec) => pb.ServiceSpec,
  options: { rollback?: boolean } = {},
): Promise<pb.Service> {
  const current = await getService(serviceId);
  const { service } = await cluster!.control<pb.UpdateServiceResponse>((c, md, o, cb) =>
    c.updateService(
      {
        serviceId,
        serviceVersion: current.meta?.version ?? 0,
        spec: change(current.spec!),
        rollback: options.rollback === true,
      },
      md,
      o,
      cb,
    ),
  );
  return service!;
}

async function listTasks(serviceId: string): Promise<pb.Task[]> {
  const { tasks } = await cluster!.control<pb.ListTasksResponse>((c, md, o, cb) =>
    c.listTasks(
      { filters: { serviceIds: [serviceId], nodeIds: [], desiredStates: [], idPrefixes: [] } },
      md,
      o,
      cb,
    ),
  );
  return tasks;
}

async function listWorkers(): Promise<pb.Node[]> {
  const { nodes } = await cluster!.control<pb.ListNodesResponse>((c, md, o, cb) =>
    c.listNodes(
      { filters: { names: [], idPrefixes: [], roles: [pb.NodeRole.NODE_ROLE_WORKER], labels: {} } },
      md,
      o,
      cb,
    ),
  );
  return nodes;
}

/** Tasks that are meant to run and do, by the store's account. */
function running(tasks: readonly pb.Task[]): pb.Task[] {
  return tasks.filter(
    (t) => t.desiredState === S.TASK_STATE_RUNNING && t.status?.state === S.TASK_STATE_RUNNING,
  );
}

/** IDs of tasks the live agents report running, the agents' account. */
function agentRunning(): Set<string> {
  return new Set(agents.flatMap((a) => a.runningTaskIds()));
}

function summary(tasks: readonly pb.Task[]) {
  return tasks.map((t) => ({
    slot: t.slot,
    node: t.nodeId.slice(0, 6),
    image: t.spec?.container?.image,
    desired: S[t.desiredState],
    state: S[t.status?.state ?? 0],
    err: t.status?.err,
  }));
}

/**
 * Waits until exactly `n` tasks of the service are wanted, running by the store's
 * account and by their agents', on `check`'s terms; returns them.
 */
async function waitConverged(
  serviceId: string,
  n: number,
  check: (tasks: pb.Task[]) => boolean = () => true,
): Promise<pb.Task[]> {
  let last: pb.Task[] = [];
  return pollUntil(
    async () => {
      const tasks = await listTasks(serviceId);
      last = tasks;
      const wanted = tasks.filter((t) => t.desiredState <= S.TASK_STATE_RUNNING);
      const up = running(tasks);
      const onAgents = agentRunning();
      const ok =
        wanted.length === n && up.length === n && up.every((t) => onAgents.has(t.id)) && check(up);
      return ok ? up : undefined;
    },
    {
      timeoutMs: WAIT_MS,
      intervalMs: 100,
      what: `${n} running tasks`,
      describe: () => summary(last),
    },
  );
}

/**
 * Calls `probe` every `intervalMs` while the test drives the cluster, to catch states
 * that only last a moment; `stop()` resolves after the last call.
 */
function startSampling(probe: () => unknown, intervalMs: number): { stop(): Promise<void> } {
  let sampling = true;
  const loop = (async () => {
    while (sampling) {
      await probe();
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    // One last sample: what the test waited for may have come after the one before.
    stop: async () => {
      sampling = false;
      await loop;
      await probe();
    },
  };
}

const isBroken = (task: pb.Task) => task.spec?.container?.image === 'app:broken';

function breakImage(spec: pb.ServiceSpec): pb.ServiceSpec {
  return {
    ...spec,
    task: { ...spec.task!, container: { ...spec.task!.container!, image: 'app:broken' } },
  };
}

/**
 * A cluster whose agents fail every task of `app:broken`, and a service running there
 * whose updates meet failures with `failureAction`.
 */
async function startServiceToBreak(
  replicas: number,
  failureAction: pb.UpdateConfig_FailureAction,
  maxFailureRatio = 0,
): Promise<{ service: pb.Service; before: pb.Task[] }> {
  await startCluster(3, { failOn: isBroken });
  const service = await createService(
    serviceSpec({
      name: 'web',
      replicas,
      // A failure counts when it comes within `monitor` of the task's creation; a
      // task's way from creation to FAILED (stop-first, placement, five reports)
      // takes a few hundred ms here, so the tests keep Docker's default monitor.
      update: { failureAction, maxFailureRatio, monitor: durationFromMs(5000) },
    }),
  );
  return { service, before: await waitConverged(service.id, replicas) };
}

/** Waits until the service's update status is `state`; returns it and the tasks seen with it. */
async function waitUpdateState(
  serviceId: string,
  state: pb.UpdateStatus_State,
): Promise<{ status: pb.UpdateStatus; tasks: pb.Task[] }> {
  let status: pb.UpdateStatus | undefined;
  let tasks: pb.Task[] = [];
  await pollUntil(
    async () => {
      status = (await getService(serviceId)).updateStatus;
      tasks = await listTasks(serviceId);
      return status?.state === state;
    },
    {
      timeoutMs: WAIT_MS,
      what: `update status ${U[state]}`,
      describe: () => ({ status, tasks: summary(tasks) }),
    },
  );
  return { status: status!, tasks };
}

function slotsOf(tasks: readonly pb.Task[]): number[] {
  return tasks.map((t) => t.slot).sort((a, b) => a - b);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

function countByNode(tasks: readonly pb.Task[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of tasks) counts.set(t.nodeId, (counts.get(t.nodeId) ?? 0) + 1);
  return counts;
}

describe('services integration', () => {
  it(
    'services: a replicated service runs all its tasks spread over the agents when created over the Control API',
    async () => {
      await startCluster(3);
      const service = await createService(serviceSpec({ name: 'web', replicas: 6 }));
      const tasks = await waitConverged(service.id, 6);
      expect(slotsOf(tasks)).toEqual(range(6));
      const counts = countByNode(tasks);
      expect([...counts.keys()].sort()).toEqual(agents.map((a) => a.nodeId).sort());
      expect([...counts.values()]).toEqual([2, 2, 2]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'services: scale up adds slots and scale down removes the highest when the replica count changes',
    async () => {
      await startCluster(3);
      const service = await createService(serviceSpec({ name: 'web', replicas: 2 }));
      await waitConverged(service.id, 2);
      const scale = (replicas: number) =>
        updateService(service.id, (spec) => ({
          ...spec,
          mode: { $case: 'replicated', replicated: { replicas } },
        }));
      await scale(7);
      const up = await waitConverged(service.id, 7);
      expect(slotsOf(up)).toEqual(range(7));
      expect(Math.max(...countByNode(up).values())).toBeLessThanOrEqual(3);
      await scale(3);
      const down = await waitConverged(service.id, 3);
      expect(slotsOf(down)).toEqual(range(3));
      // The removed slots' tasks were told to stop and their agents reported it.
      const stopped = (await listTasks(service.id)).filter((t) => t.slot > 3);
      for (const t of stopped) expect(t.desiredState).toBeGreaterThanOrEqual(S.TASK_STATE_SHUTDOWN);
      await pollUntil(
        async () =>
          (await listTasks(service.id))
            .filter((t) => t.slot > 3)
            .every((t) => (t.status?.state ?? 0) >= S.TASK_STATE_COMPLETE),
        { timeoutMs: WAIT_MS, what: 'scaled-down tasks shut down' },
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'services: tasks of an agent that stops are replaced on the others when its node goes Down',
    async () => {
      await startCluster(3);
      const service = await createService(serviceSpec({ name: 'web', replicas: 6 }));
      await waitConverged(service.id, 6);
      const victim = agents[1]!;
      await victim.stop();
      agents.splice(1, 1);
      await pollUntil(
        async () => {
          const { node } = await cluster!.control<pb.GetNodeResponse>((c, md, o, cb) =>
            c.getNode({ nodeId: victim.nodeId }, md, o, cb),
          );
          return node?.status?.state === pb.NodeStatus_State.STATE_DOWN;
        },
        { timeoutMs: WAIT_MS, what: 'the stopped agent Down' },
      );
      const tasks = await waitConverged(service.id, 6, (up) =>
        up.every((t) => t.nodeId !== victim.nodeId),
      );
      expect(slotsOf(tasks)).toEqual(range(6));
      expect([...countByNode(tasks).values()]).toEqual([3, 3]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'services: draining a node moves its tasks to the others when its availability becomes drain',
    async () => {
      await startCluster(3);
      const service = await createService(serviceSpec({ name: 'web', replicas: 6 }));
      await waitConverged(service.id, 6);
      const drained = agents[0]!;
      await cluster!.setAvailability(drained.nodeId, 'drain');
      const tasks = await waitConverged(service.id, 6, (up) =>
        up.every((t) => t.nodeId !== drained.nodeId),
      );
      expect(slotsOf(tasks)).toEqual(range(6));
      expect(drained.runningTaskIds()).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'services: a global service runs one task per agent and follows an agent added later',
    async () => {
      await startCluster(2);
      const service = await createService(serviceSpec({ name: 'monitor', global: true }));
      const first = await waitConverged(service.id, 2);
      expect([...countByNode(first).keys()].sort()).toEqual(agents.map((a) => a.nodeId).sort());
      const late = await addAgent('worker-late');
      const tasks = await waitConverged(service.id, 3);
      expect(tasks.filter((t) => t.nodeId === late.nodeId)).toHaveLength(1);
      expect([...countByNode(tasks).values()]).toEqual([1, 1, 1]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'services: a rolling update replaces tasks at most parallelism at a time and rollback restores the image',
    async () => {
      await startCluster(3);
      const service = await createService(
        serviceSpec({ name: 'web', replicas: 6, update: { parallelism: 2 } }),
      );
      await waitConverged(service.id, 6);
      // Watch the store for the update: never more than `parallelism` slots down at once.
      let worstDown = 0;
      const watch = startSampling(async () => {
        const tasks = await listTasks(service.id).catch(() => undefined);
        if (tasks) worstDown = Math.max(worstDown, 6 - running(tasks).length);
      }, 50);
      await updateService(service.id, (spec) => ({
        ...spec,
        task: { ...spec.task!, container: { ...spec.task!.container!, image: 'app:v2' } },
      }));
      const updated = await waitConverged(service.id, 6, (up) =>
        up.every((t) => t.spec?.container?.image === 'app:v2'),
      );
      await waitUpdateState(service.id, U.STATE_COMPLETED);
      await watch.stop();
      expect(slotsOf(updated)).toEqual(range(6));
      expect(worstDown).toBeLessThanOrEqual(2);

      await updateService(service.id, (spec) => spec, { rollback: true });
      const rolledBack = await waitConverged(service.id, 6, (up) =>
        up.every((t) => t.spec?.container?.image === 'app:v1'),
      );
      expect(slotsOf(rolledBack)).toEqual(range(6));
      await waitUpdateState(service.id, U.STATE_ROLLBACK_COMPLETED);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'services: an update whose new tasks fail rolls back when failure action is rollback',
    async () => {
      const { service } = await startServiceToBreak(
        3,
        pb.UpdateConfig_FailureAction.FAILURE_ACTION_ROLLBACK,
      );
      await updateService(service.id, breakImage);
      await waitUpdateState(service.id, U.STATE_ROLLBACK_COMPLETED);
      const tasks = await waitConverged(service.id, 3, (up) =>
        up.every((t) => t.spec?.container?.image === 'app:v1'),
      );
      expect(slotsOf(tasks)).toEqual(range(3));
      const failed = (await listTasks(service.id)).filter(
        (t) => t.status?.state === S.TASK_STATE_FAILED,
      );
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.every((t) => t.spec?.container?.image === 'app:broken')).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'services: an update resumes on the new leader with no task lost or duplicated when the leader stops mid-update',
    async () => {
      await startCluster(3);
      const replicas = 8;
      const service = await createService(
        serviceSpec({
          name: 'web',
          replicas,
          update: { parallelism: 1, delay: durationFromMs(300), monitor: durationFromMs(300) },
        }),
      );
      await waitConverged(service.id, replicas);
      await updateService(service.id, (spec) => ({
        ...spec,
        task: { ...spec.task!, container: { ...spec.task!.container!, image: 'app:v2' } },
      }));
      // Stop the leader once the update has replaced some slots but not all.
      await pollUntil(
        async () => {
          const done = running(await listTasks(service.id)).filter(
            (t) => t.spec?.container?.image === 'app:v2',
          ).length;
          return done >= 2 && done < replicas;
        },
        { timeoutMs: WAIT_MS, intervalMs: 20, what: 'the update under way' },
      );
      const oldLeader = cluster!.leader()!;
      await cluster!.stopManager(oldLeader);
      const newLeader = await cluster!.waitForLeader();
      expect(newLeader).not.toBe(oldLeader);
      const tasks = await waitConverged(service.id, replicas, (up) =>
        up.every((t) => t.spec?.container?.image === 'app:v2'),
      );
      await waitUpdateState(service.id, U.STATE_COMPLETED);
      expect(slotsOf(tasks)).toEqual(range(replicas));
      // Nothing duplicated: one wanted task per slot, and the agents run exactly these.
      const wanted = (await listTasks(service.id)).filter(
        (t) => t.desiredState <= S.TASK_STATE_RUNNING,
      );
      expect(wanted.map((t) => t.id).sort()).toEqual(tasks.map((t) => t.id).sort());
      expect([...agentRunning()].sort()).toEqual(tasks.map((t) => t.id).sort());
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'services: every agent of a burst of concurrent joins is a Ready node that takes tasks when 12 join through all managers at once',
    async () => {
      const c = await startCluster(0);
      const count = 12;
      // Joins through each manager: a follower forwards its node's creation to the
      // leader, which batches the proposals of one cycle into one Raft entry.
      const through = (i: number): JoinTarget => ({
        joinAddr: c.managers[i % c.managers.length]!.addr,
        workerToken: c.workerToken,
        managerAddrs: () => c.managerAddrs(),
      });
      const started = await Promise.allSettled(
        range(count).map((i) => startAgent(`burst-${i}`, {}, through(i))),
      );
      const burst = started.map((r) => {
        if (r.status === 'rejected') throw r.reason;
        return r.value;
      });
      const joinedIds = burst.map((a) => a.nodeId).sort();
      expect(new Set(joinedIds).size).toBe(count);
      // Each join was answered ok, so its node is in the store now, not eventually.
      expect((await listWorkers()).map((n) => n.id).sort()).toEqual(joinedIds);
      let nodes: pb.Node[] = [];
      await pollUntil(
        async () => {
          nodes = await listWorkers();
          return nodes.every((n) => n.status?.state === pb.NodeStatus_State.STATE_READY);
        },
        {
          timeoutMs: WAIT_MS,
          what: `${count} Ready workers`,
          describe: () =>
            nodes.map((n) => [n.description?.hostname, pb.NodeStatus_State[n.status?.state ?? 0]]),
        },
      );
      expect(nodes.map((n) => n.id).sort()).toEqual(joinedIds);

      const service = await createService(serviceSpec({ name: 'web', replicas: count }));
      const tasks = await waitConverged(service.id, count);
      const counts = countByNode(tasks);
      expect([...counts.keys()].sort()).toEqual(joinedIds);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'services: as many tasks as replicas keep running on the agents throughout a rolling update when the order is start-first',
    async () => {
      await startCluster(3);
      const replicas = 4;
      const parallelism = 2;
      const service = await createService(
        serviceSpec({
          name: 'web',
          replicas,
          update: { parallelism, order: pb.UpdateConfig_Order.ORDER_START_FIRST },
        }),
      );
      const before = await waitConverged(service.id, replicas);
      // The agents' account, sampled well within one report step of theirs (20 ms).
      let fewest = Number.POSITIVE_INFINITY;
      let most = 0;
      const sampler = startSampling(() => {
        const count = agentRunning().size;
        fewest = Math.min(fewest, count);
        most = Math.max(most, count);
      }, 5);
      await updateService(service.id, (spec) => ({
        ...spec,
        task: { ...spec.task!, container: { ...spec.task!.container!, image: 'app:v2' } },
      }));
      const updated = await waitConverged(service.id, replicas, (up) =>
        up.every((t) => t.spec?.container?.image === 'app:v2'),
      );
      await waitUpdateState(service.id, U.STATE_COMPLETED);
      await sampler.stop();
      expect(fewest).toBeGreaterThanOrEqual(replicas);
      // Old and new tasks ran side by side, never more than `parallelism` extra.
      expect(most).toBeGreaterThan(replicas);
      expect(most).toBeLessThanOrEqual(replicas + parallelism);
      expect(slotsOf(updated)).toEqual(range(replicas));
      expect([...agentRunning()].sort()).toEqual(updated.map((t) => t.id).sort());
      const oldIds = new Set(before.map((t) => t.id));
      let old: pb.Task[] = [];
      await pollUntil(
        async () => {
          old = (await listTasks(service.id)).filter((t) => oldIds.has(t.id));
          return old.every(
            (t) =>
              t.desiredState >= S.TASK_STATE_SHUTDOWN &&
              (t.status?.state ?? 0) >= S.TASK_STATE_COMPLETE,
          );
        },
        { timeoutMs: WAIT_MS, what: 'old tasks shut down', describe: () => summary(old) },
      );
      expect(old).toHaveLength(replicas);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'services: an update whose new task fails pauses and replaces no further slot when the failure action is pause',
    async () => {
      const { service, before } = await startServiceToBreak(
        4,
        pb.UpdateConfig_FailureAction.FAILURE_ACTION_PAUSE,
      );
      await updateService(service.id, breakImage);
      const { status } = await waitUpdateState(service.id, U.STATE_PAUSED);
      expect(status.message).toMatch(/^update paused due to failure or early termination of task /);
      // The paused slot keeps failing and restarting (restart policy any), each failure a
      // pass of the leader's orchestration loop: three of them give a paused update that
      // would move on every chance to.
      let tasks: pb.Task[] = [];
      await pollUntil(
        async () => {
          tasks = await listTasks(service.id);
          return (
            tasks.filter((t) => isBroken(t) && t.status?.state === S.TASK_STATE_FAILED).length >= 3
          );
        },
        {
          timeoutMs: WAIT_MS,
          what: 'three failures of the new spec',
          describe: () => summary(tasks),
        },
      );
      expect((await getService(service.id)).updateStatus?.state).toBe(U.STATE_PAUSED);
      // One slot was replaced (parallelism 1); the other three still run their old tasks.
      expect(new Set(tasks.filter(isBroken).map((t) => t.slot))).toEqual(new Set([1]));
      const kept = before
        .filter((t) => t.slot !== 1)
        .map((t) => t.id)
        .sort();
      const up = running(tasks);
      expect(up.map((t) => t.id).sort()).toEqual(kept);
      expect([...agentRunning()].sort()).toEqual(kept);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'services: an update goes through every slot although its new tasks fail when the failure action is continue',
    async () => {
      const replicas = 4;
      const { service } = await startServiceToBreak(
        replicas,
        pb.UpdateConfig_FailureAction.FAILURE_ACTION_CONTINUE,
      );
      const states = new Set<pb.UpdateStatus_State>();
      const watch = startSampling(async () => {
        const got = await getService(service.id).catch(() => undefined);
        if (got?.updateStatus) states.add(got.updateStatus.state);
      }, 50);
      await updateService(service.id, breakImage);
      let tasks: pb.Task[] = [];
      await pollUntil(
        async () => {
          tasks = await listTasks(service.id);
          const failedSlots = new Set(
            tasks
              .filter((t) => isBroken(t) && t.status?.state === S.TASK_STATE_FAILED)
              .map((t) => t.slot),
          );
          const oldGone = tasks
            .filter((t) => !isBroken(t))
            .every((t) => t.desiredState >= S.TASK_STATE_SHUTDOWN);
          return failedSlots.size === replicas && oldGone;
        },
        {
          timeoutMs: WAIT_MS,
          what: 'a failed new task in every slot, no old task left',
          describe: () => summary(tasks),
        },
      );
      await waitUpdateState(service.id, U.STATE_COMPLETED);
      await watch.stop();
      expect([...states].map((s) => U[s]).sort()).toEqual(['STATE_COMPLETED', 'STATE_UPDATING']);
      expect(agentRunning().size).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'services: a failing update goes on past failures within the max failure ratio and pauses above it when the failure action is pause',
    async () => {
      const { service, before } = await startServiceToBreak(
        4,
        pb.UpdateConfig_FailureAction.FAILURE_ACTION_PAUSE,
        0.5,
      );
      await updateService(service.id, breakImage);
      const { tasks } = await waitUpdateState(service.id, U.STATE_PAUSED);
      // Shoal counts every failed task of the update, restarts included, over the slots:
      // slot 1's first failure (1/4) lets slot 2 start; the third failure (3/4 > 0.5),
      // which at the latest is slot 3's, pauses before slot 4 would start.
      const slots = [...new Set(tasks.filter(isBroken).map((t) => t.slot))];
      expect(slots).toContain(1);
      expect(slots).toContain(2);
      expect(slots).not.toContain(4);
      const last = before.find((t) => t.slot === 4)!;
      expect(running(tasks).map((t) => t.id)).toContain(last.id);
      expect(agentRunning().has(last.id)).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );
});
