// The driver against a LocalClusterStore, on fake timers, with a tiny agent loop that
// moves assigned tasks along through the store as the dispatcher would write their
// reports, so that convergence can be asserted end to end (control API → driver →
// "agents" → driver).
import { durationFromMs, pb } from '@shoal/api';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ServiceApi } from '../control/service-api.js';
import { testContainerSpec } from '../orchestrator/testing.js';
import { type TestNode, testNode } from '../scheduler/testing.js';
import { LocalClusterStore } from '../store/cluster-store.js';
import { MemoryStore } from '../store/memory-store.js';
import type { StoreTx } from '../store/store-batch.js';
import { StoreConflictError } from '../store/store-errors.js';
import { withTaskStatus } from '../store/task-status.js';
import { ORCHESTRATION_RETRY_MS, OrchestrationDriver } from './orchestration-driver.js';

const S = pb.TaskState;
const U = pb.UpdateStatus_State;
const STEP_MS = 100;

function countingRng(from = 0) {
  let n = from;
  return {
    randomBytes: (length: number) => {
      n += 1;
      const bytes = new Uint8Array(length);
      new DataView(bytes.buffer).setUint32(0, n);
      return bytes;
    },
  };
}

interface SpecOptions {
  readonly name?: string;
  readonly replicas?: number;
  readonly global?: boolean;
  readonly image?: string;
  readonly constraints?: string[];
  readonly restart?: Partial<pb.RestartPolicy>;
  readonly update?: Partial<pb.UpdateConfig>;
}

function serviceSpec(o: SpecOptions = {}): pb.ServiceSpec {
  return pb.ServiceSpec.fromPartial({
    annotations: { name: o.name ?? 'web', labels: {} },
    task: {
      container: testContainerSpec(o.image ?? 'app:v1'),
      placement: { constraints: o.constraints ?? [], preferences: [], maxReplicas: 0 },
      restart: o.restart && {
        condition: pb.RestartPolicy_Condition.CONDITION_ANY,
        delay: durationFromMs(1000),
        maxAttempts: 0,
        window: durationFromMs(0),
        ...o.restart,
      },
    },
    mode: (o.global
      ? { $case: 'global', global: {} }
      : {
          $case: 'replicated',
          replicated: { replicas: o.replicas ?? 1 },
        }) as pb.ServiceSpec['mode'],
    update: o.update && {
      parallelism: 1,
      delay: durationFromMs(0),
      failureAction: pb.UpdateConfig_FailureAction.FAILURE_ACTION_PAUSE,
      monitor: durationFromMs(500),
      maxFailureRatio: 0,
      order: pb.UpdateConfig_Order.ORDER_STOP_FIRST,
      ...o.update,
    },
  });
}

/** A cluster on one store: control API, driver, and agents that act one step per tick. */
class Cluster {
  readonly store = new LocalClusterStore(new MemoryStore());
  readonly api = new ServiceApi({ store: this.store, now: () => new Date(), rng: countingRng() });
  readonly driver = new OrchestrationDriver({
    store: this.store,
    log: pino({ level: 'silent' }),
    rng: countingRng(),
  });
  /** Tasks the agents fail the next time they see them running. */
  readonly failing = new Set<string>();
  /** Most tasks of the service wanted and not yet running (new spec only), seen so far. */
  maxStarting = 0;
  /** Fewest tasks running, seen since the last reset. */
  minRunning = Number.POSITIVE_INFINITY;

  async addNodes(...nodes: TestNode[]): Promise<void> {
    await this.store.update((tx) => {
      for (const n of nodes) tx.create('nodes', testNode(n));
    });
  }

  async setNode(id: string, change: (node: pb.Node) => pb.Node): Promise<void> {
    await this.store.update((tx) => tx.update('nodes', change(tx.get('nodes', id)!)));
  }

  async create(o: SpecOptions = {}): Promise<pb.Service> {
    return (await this.api.createService({ spec: serviceSpec(o) })).service!;
  }

  async update(o: SpecOptions, rollback = false): Promise<pb.Service> {
    return (
      await this.api.updateService({
        serviceId: o.name ?? 'web',
        serviceVersion: 0,
        spec: serviceSpec(o),
        rollback,
      })
    ).service!;
  }

  tasks(filter: (t: pb.Task) => boolean = () => true): pb.Task[] {
    return this.store.state.list('tasks', filter);
  }

  running(image?: string): pb.Task[] {
    return this.tasks(
      (t) =>
        t.status?.state === S.TASK_STATE_RUNNING &&
        t.desiredState === S.TASK_STATE_RUNNING &&
        (image === undefined || t.spec?.container?.image === image),
    );
  }

  service(name = 'web'): pb.Service | undefined {
    return this.store.state.list('services', (s) => s.spec?.annotations?.name === name)[0];
  }

  /** One agent step on every ready node: each task moves one state on. */
  async agents(): Promise<void> {
    const nodes = new Map(this.store.state.list('nodes').map((n) => [n.id, n]));
    const now = new Date();
    await this.store.update((tx) => {
      for (const task of tx.list('tasks', (t) => t.nodeId !== '')) {
        const node = nodes.get(task.nodeId);
        if (node?.status?.state !== pb.NodeStatus_State.STATE_READY) continue;
        const state = task.status?.state ?? S.TASK_STATE_NEW;
        const image = task.spec?.container?.image;
        let next: pb.TaskState | undefined;
        if (state < S.TASK_STATE_ASSIGNED || state > S.TASK_STATE_RUNNING) continue;
        if (task.desiredState > S.TASK_STATE_RUNNING) next = S.TASK_STATE_SHUTDOWN;
        else if (state === S.TASK_STATE_ASSIGNED) next = S.TASK_STATE_READY;
        else if (state === S.TASK_STATE_READY && task.desiredState === S.TASK_STATE_RUNNING)
          next = S.TASK_STATE_RUNNING;
        else if (state === S.TASK_STATE_RUNNING && (image === 'bad' || this.failing.has(task.id))) {
          this.failing.delete(task.id);
          next = S.TASK_STATE_FAILED;
        }
        if (next === undefined) continue;
        const updated = withTaskStatus(task, task.nodeId, {
          timestamp: now,
          state: next,
          message: pb.taskStateToJSON(next),
          err: next === S.TASK_STATE_FAILED ? 'exit 1' : '',
        });
        if (updated) tx.update('tasks', updated);
      }
    });
    const starting = this.tasks(
      (t) =>
        t.desiredState <= S.TASK_STATE_RUNNING &&
        (t.status?.state ?? 0) < S.TASK_STATE_RUNNING &&
        t.spec?.container?.image !== this.service()?.previousSpec?.task?.container?.image,
    ).length;
    this.maxStarting = Math.max(this.maxStarting, starting);
    this.minRunning = Math.min(this.minRunning, this.running().length);
  }

  /** Agent steps and driver passes until `done`, failing after `maxSteps`. */
  async until(done: () => boolean, maxSteps = 200): Promise<void> {
    for (let i = 0; i < maxSteps && !done(); i += 1) {
      await vi.advanceTimersByTimeAsync(STEP_MS);
      await this.agents();
    }
    await vi.advanceTimersByTimeAsync(STEP_MS);
    expect(done()).toBe(true);
  }

  /** Lets time pass with agents working, then checks nothing more happens. */
  async settle(steps = 20): Promise<void> {
    for (let i = 0; i < steps; i += 1) {
      await vi.advanceTimersByTimeAsync(STEP_MS);
      await this.agents();
    }
  }
}

describe('OrchestrationDriver', () => {
  let c: Cluster;

  beforeEach(async () => {
    vi.useFakeTimers({ now: new Date('2026-11-25T12:00:00Z') });
    c = new Cluster();
    await c.store.update((tx) =>
      tx.create(
        'clusters',
        pb.Cluster.fromPartial({
          id: 'c1',
          spec: {
            annotations: { name: 'default' },
            orchestration: { taskHistoryRetentionLimit: 2 },
          },
        }),
      ),
    );
    c.driver.start();
  });

  afterEach(() => {
    c.driver.stop();
    vi.useRealTimers();
  });

  it('driver: creates, schedules and runs replicas spread over ready active nodes only', async () => {
    await c.addNodes(
      { id: 'n1' },
      { id: 'n2' },
      { id: 'n3' },
      { id: 'down', state: pb.NodeStatus_State.STATE_DOWN },
      { id: 'drained', availability: pb.NodeAvailability.NODE_AVAILABILITY_DRAIN },
      { id: 'paused', availability: pb.NodeAvailability.NODE_AVAILABILITY_PAUSE },
    );
    await c.create({ replicas: 6 });
    await c.until(() => c.running().length === 6);
    const perNode = new Map<string, number>();
    for (const t of c.tasks()) perNode.set(t.nodeId, (perNode.get(t.nodeId) ?? 0) + 1);
    expect(Object.fromEntries(perNode)).toEqual({ n1: 2, n2: 2, n3: 2 });
    expect(
      c
        .tasks()
        .map((t) => t.slot)
        .sort(),
    ).toEqual([1, 2, 3, 4, 5, 6]);
    await c.settle();
    expect(c.tasks()).toHaveLength(6);
    // Creating is not updating: no update status, as in Docker.
    expect(c.service()?.updateStatus).toBeUndefined();
  });

  it('driver: scales up and down, deleting removed slots once their tasks stopped', async () => {
    await c.addNodes({ id: 'n1' }, { id: 'n2' });
    await c.create({ replicas: 2 });
    await c.until(() => c.running().length === 2);
    await c.update({ replicas: 5 });
    await c.until(() => c.running().length === 5);
    expect(c.service()?.updateStatus).toBeUndefined();
    await c.update({ replicas: 1 });
    await c.until(() => c.tasks().length === 1);
    expect(c.running().map((t) => t.slot)).toEqual([1]);
  });

  it('driver: replaces a failed task in its slot after the restart delay', async () => {
    await c.addNodes({ id: 'n1' }, { id: 'n2' });
    await c.create({ replicas: 2, restart: { delay: durationFromMs(1000) } });
    await c.until(() => c.running().length === 2);
    const victim = c.running().find((t) => t.slot === 1)!;
    c.failing.add(victim.id);
    await c.until(
      () => c.store.state.get('tasks', victim.id)?.status?.state === S.TASK_STATE_FAILED,
    );
    const failedAt = Date.now();
    await c.until(() => c.running().length === 2);
    const replacement = c.running().find((t) => t.slot === 1)!;
    expect(replacement.id).not.toBe(victim.id);
    // Held in READY until the delay ended, then released.
    expect(Date.now() - failedAt).toBeGreaterThanOrEqual(900);
    expect(c.store.state.get('tasks', victim.id)?.desiredState).toBe(S.TASK_STATE_SHUTDOWN);
  });

  it('driver: does not restart a failed task when the restart condition is none', async () => {
    await c.addNodes({ id: 'n1' });
    await c.create({
      replicas: 1,
      restart: { condition: pb.RestartPolicy_Condition.CONDITION_NONE },
    });
    await c.until(() => c.running().length === 1);
    c.failing.add(c.running()[0]!.id);
    await c.settle(30);
    expect(c.tasks()).toHaveLength(1);
    expect(c.tasks()[0]!.status?.state).toBe(S.TASK_STATE_FAILED);
  });

  it('driver: trims each slot history to the cluster task history limit', async () => {
    await c.addNodes({ id: 'n1' });
    await c.create({ replicas: 1, image: 'bad', restart: { delay: durationFromMs(100) } });
    await c.settle(80);
    const slot = c.tasks((t) => t.slot === 1);
    expect(slot.length).toBeGreaterThan(0);
    expect(slot.length).toBeLessThanOrEqual(3); // limit 2, plus the task being shut down
  });

  it('driver: replaces the tasks of a node that went down on the other nodes', async () => {
    await c.addNodes({ id: 'n1' }, { id: 'n2' }, { id: 'n3' });
    await c.create({ replicas: 3 });
    await c.until(() => c.running().length === 3);
    await c.setNode('n2', (n) => ({
      ...n,
      status: { ...n.status!, state: pb.NodeStatus_State.STATE_DOWN },
    }));
    await c.until(() => c.running().length === 3 && c.running().every((t) => t.nodeId !== 'n2'));
    expect(
      c.tasks((t) => t.nodeId === 'n2').every((t) => t.desiredState === S.TASK_STATE_SHUTDOWN),
    ).toBe(true);
  });

  it('driver: replaces the tasks of a removed node and deletes them, since no agent will report them', async () => {
    await c.addNodes({ id: 'n1' }, { id: 'n2', state: pb.NodeStatus_State.STATE_DOWN });
    await c.create({ replicas: 2 });
    await c.until(() => c.running().length === 2);
    // What `node rm` does to a node's tasks (ControlApi.removeNode).
    await c.store.update((tx) => {
      for (const task of tx.list('tasks', (t) => t.nodeId === 'n1')) {
        tx.update('tasks', { ...task, desiredState: S.TASK_STATE_ORPHANED });
      }
      tx.delete('nodes', tx.get('nodes', 'n1')!);
    });
    await c.setNode('n2', (n) => ({
      ...n,
      status: { ...n.status!, state: pb.NodeStatus_State.STATE_READY },
    }));
    await c.until(() => c.running().length === 2 && c.tasks().length === 2);
    expect(c.tasks().every((t) => t.nodeId === 'n2')).toBe(true);
  });

  it('driver: drain moves tasks off the node, pause keeps them but places no new ones', async () => {
    await c.addNodes({ id: 'n1' }, { id: 'n2' });
    await c.create({ replicas: 4 });
    await c.until(() => c.running().length === 4);
    await c.setNode('n1', (n) => ({
      ...n,
      spec: { ...n.spec!, availability: pb.NodeAvailability.NODE_AVAILABILITY_PAUSE },
    }));
    await c.update({ replicas: 6 });
    await c.until(() => c.running().length === 6);
    expect(c.running().filter((t) => t.nodeId === 'n1')).toHaveLength(2);
    await c.setNode('n2', (n) => ({
      ...n,
      spec: { ...n.spec!, availability: pb.NodeAvailability.NODE_AVAILABILITY_DRAIN },
    }));
    await c.settle(20);
    // n1 is paused and n2 drained: n2's tasks stop and wait, pending, for a node.
    expect(c.running().every((t) => t.nodeId === 'n1')).toBe(true);
    const waiting = c.tasks((t) => t.status?.state === S.TASK_STATE_PENDING);
    expect(waiting).toHaveLength(4);
    expect(waiting[0]!.status?.err).toBe('no suitable node (2 nodes not available for new tasks)');
    expect(waiting[0]!.status?.message).toBe(waiting[0]!.status?.err);
    await c.setNode('n1', (n) => ({
      ...n,
      spec: { ...n.spec!, availability: pb.NodeAvailability.NODE_AVAILABILITY_ACTIVE },
    }));
    await c.until(() => c.running().length === 6 && c.running().every((t) => t.nodeId === 'n1'));
  });

  it('driver: keeps an unschedulable task pending with the reason', async () => {
    await c.addNodes({ id: 'n1' }, { id: 'n2' });
    await c.create({ replicas: 1, constraints: ['node.labels.zone==east'] });
    await c.settle(5);
    const [task] = c.tasks();
    expect(task?.status?.state).toBe(S.TASK_STATE_PENDING);
    expect(task?.status?.err).toBe(
      'no suitable node (scheduling constraints not satisfied on 2 nodes)',
    );
    await c.setNode('n2', (n) => ({
      ...n,
      spec: { ...n.spec!, annotations: { name: '', labels: { zone: 'east' } } },
    }));
    await c.until(() => c.running().length === 1);
    expect(c.running()[0]!.nodeId).toBe('n2');
  });

  it('driver: a global service follows nodes as they join, drain and leave', async () => {
    await c.addNodes({ id: 'n1' }, { id: 'n2' });
    await c.create({ global: true });
    await c.until(() => c.running().length === 2);
    await c.addNodes({ id: 'n3' });
    await c.until(() => c.running().length === 3);
    await c.setNode('n1', (n) => ({
      ...n,
      spec: { ...n.spec!, availability: pb.NodeAvailability.NODE_AVAILABILITY_DRAIN },
    }));
    await c.until(() => c.running().length === 2 && c.running().every((t) => t.nodeId !== 'n1'));
    await c.store.update((tx) => tx.delete('nodes', tx.get('nodes', 'n3')!));
    await c.until(() => c.running().length === 1 && c.running()[0]!.nodeId === 'n2');
  });

  it('driver: a rolling update replaces at most `parallelism` slots at a time and completes', async () => {
    await c.addNodes({ id: 'n1' }, { id: 'n2' });
    const update = { parallelism: 2 };
    await c.create({ replicas: 5, update });
    await c.until(() => c.running().length === 5);
    c.maxStarting = 0;
    await c.update({ replicas: 5, update, image: 'app:v2' });
    await c.until(() => c.service()?.updateStatus?.state === U.STATE_COMPLETED);
    expect(c.running('app:v2')).toHaveLength(5);
    expect(c.running('app:v1')).toHaveLength(0);
    expect(c.maxStarting).toBeLessThanOrEqual(2);
    expect(c.service()?.updateStatus?.message).toBe('update completed');
  });

  it('driver: an update whose tasks fail rolls back automatically, and a manual rollback restores the old spec', async () => {
    await c.addNodes({ id: 'n1' }, { id: 'n2' });
    const update = {
      failureAction: pb.UpdateConfig_FailureAction.FAILURE_ACTION_ROLLBACK,
      monitor: durationFromMs(2000),
    };
    await c.create({ replicas: 3, update });
    await c.until(() => c.running().length === 3);
    await c.update({ replicas: 3, update, image: 'bad' });
    await c.until(() => c.service()?.updateStatus?.state === U.STATE_ROLLBACK_COMPLETED, 400);
    expect(c.service()?.updateStatus?.message).toMatch(/^rollback completed$/);
    expect(c.running('app:v1')).toHaveLength(3);

    await c.update({ replicas: 3, update, image: 'app:v2' });
    await c.until(() => c.service()?.updateStatus?.state === U.STATE_COMPLETED, 400);
    await c.api.updateService({ serviceId: 'web', serviceVersion: 0, rollback: true });
    await c.until(() => c.service()?.updateStatus?.state === U.STATE_ROLLBACK_COMPLETED, 400);
    expect(c.running('app:v1')).toHaveLength(3);
    expect(c.running('app:v2')).toHaveLength(0);
  });

  it('driver: removing a service shuts its tasks down and deletes them', async () => {
    await c.addNodes({ id: 'n1' });
    await c.create({ replicas: 3 });
    await c.until(() => c.running().length === 3);
    await c.api.removeService({ serviceId: 'web' });
    expect(c.tasks().every((t) => t.desiredState === S.TASK_STATE_REMOVE)).toBe(true);
    await c.until(() => c.tasks().length === 0);
  });

  it('driver: a start-first update keeps every replica running throughout', async () => {
    await c.addNodes({ id: 'n1' }, { id: 'n2' });
    const update = { order: pb.UpdateConfig_Order.ORDER_START_FIRST };
    await c.create({ replicas: 3, update });
    await c.until(() => c.running().length === 3);
    c.minRunning = Number.POSITIVE_INFINITY;
    await c.update({ replicas: 3, update, image: 'app:v2' });
    await c.until(() => c.service()?.updateStatus?.state === U.STATE_COMPLETED);
    expect(c.running('app:v2')).toHaveLength(3);
    expect(c.minRunning).toBeGreaterThanOrEqual(3);
  });

  it('driver: a new leader resumes an update where the old one stopped, with no slot doubled', async () => {
    await c.addNodes({ id: 'n1' }, { id: 'n2' });
    await c.create({ replicas: 4, update: {} });
    await c.until(() => c.running().length === 4);
    await c.update({ replicas: 4, update: {}, image: 'app:v2' });
    await c.until(() => c.running('app:v2').length === 2);
    c.driver.stop();
    // Its own ID sequence: the old leader's would collide with a fresh counter's.
    const successor = new OrchestrationDriver({
      store: c.store,
      log: pino({ level: 'silent' }),
      rng: countingRng(1_000_000),
    });
    successor.start();
    try {
      await c.until(() => c.service()?.updateStatus?.state === U.STATE_COMPLETED);
      expect(c.running('app:v2')).toHaveLength(4);
      const wanted = c.tasks((t) => t.desiredState <= S.TASK_STATE_RUNNING);
      expect(new Set(wanted.map((t) => t.slot)).size).toBe(wanted.length);
    } finally {
      successor.stop();
    }
  });

  it('driver: writes again from fresh reads after a store conflict, and retries a failed pass later', async () => {
    c.driver.stop();
    const store = c.store;
    let conflicts = 1;
    let outages = 1;
    const flaky = {
      state: store.state,
      barrier: () => store.barrier(),
      watch: (options?: Parameters<typeof store.watch>[0]) => store.watch(options),
      update: async (build: (tx: StoreTx) => void) => {
        if (outages > 0) {
          outages -= 1;
          throw new Error('store unavailable');
        }
        if (conflicts > 0) {
          conflicts -= 1;
          throw new StoreConflictError('tasks', 'x', 'Update task "x": update out of sequence');
        }
        await store.update(build);
      },
    };
    const driver = new OrchestrationDriver({
      store: flaky,
      log: pino({ level: 'silent' }),
      rng: countingRng(),
    });
    driver.start();
    try {
      await c.addNodes({ id: 'n1' });
      await c.create({ replicas: 2 });
      await vi.advanceTimersByTimeAsync(100);
      expect(c.tasks()).toHaveLength(0); // the outage: nothing written, a retry armed
      await vi.advanceTimersByTimeAsync(ORCHESTRATION_RETRY_MS);
      expect(c.tasks()).toHaveLength(2); // the conflict was retried at once
      await c.until(() => c.running().length === 2);
    } finally {
      driver.stop();
    }
  });

  it('driver: places 2,000 replicas in a few large transactions', async () => {
    const nodes = Array.from({ length: 100 }, (_, i) => ({ id: `n${String(i).padStart(3, '0')}` }));
    await c.addNodes(...nodes);
    const before = c.store.state.version;
    await c.create({ replicas: 2000 });
    await vi.advanceTimersByTimeAsync(STEP_MS);
    const tasks = c.tasks();
    expect(tasks).toHaveLength(2000);
    expect(tasks.every((t) => t.status?.state === S.TASK_STATE_ASSIGNED)).toBe(true);
    // The create, then one transaction per ORCHESTRATION_BATCH_SIZE objects.
    expect(c.store.state.version - before).toBe(2);
    const perNode = new Set(nodes.map((n) => tasks.filter((t) => t.nodeId === n.id).length));
    expect([...perNode]).toEqual([20]);
  });

  it('driver: writes nothing once stopped', async () => {
    await c.addNodes({ id: 'n1' });
    c.driver.stop();
    await c.create({ replicas: 2 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(c.tasks()).toHaveLength(0);
    c.driver.start();
    await c.until(() => c.running().length === 2);
  });
});
