// The cores driven together against a fake cluster, step by step on a fake clock, the
// way the leader's driver will run them: reconcile, update, allocate, schedule, and
// agents that move tasks along. Checks that they converge and keep their promises.
import { pb } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import { schedule } from '../scheduler/schedule.js';
import { type TestNode, testNode } from '../scheduler/testing.js';
import type { OrchestratorAction } from './orchestrator-action.js';
import { reconcileGlobal } from './reconcile-global.js';
import { reconcileReplicated } from './reconcile-replicated.js';
import { sequentialIds, type TestService, testService } from './testing.js';
import { planUpdate } from './updater.js';

const S = pb.TaskState;
const U = pb.UpdateStatus_State;
const STEP_MS = 500;

class FakeCluster {
  readonly tasks = new Map<string, pb.Task>();
  nodes: pb.Node[];
  service: pb.Service;
  nowMs = 0;
  readonly newTaskId = sequentialIds();
  /** Most tasks of one slot executing at once, and fewest running tasks, seen so far. */
  maxExecutingPerSlot = 0;
  minRunning = Number.POSITIVE_INFINITY;

  constructor(service: pb.Service, nodes: TestNode[]) {
    this.service = service;
    this.nodes = nodes.map(testNode);
  }

  get now(): Date {
    return new Date(this.nowMs);
  }

  apply(actions: readonly OrchestratorAction[]): void {
    for (const a of actions) {
      if (a.type === 'createTask') this.tasks.set(a.task.id, a.task);
      else if (a.type === 'deleteTask') this.tasks.delete(a.taskId);
      else this.tasks.set(a.taskId, { ...this.tasks.get(a.taskId)!, desiredState: a.desiredState });
    }
  }

  setState(task: pb.Task, state: pb.TaskState): void {
    this.tasks.set(task.id, { ...task, status: { ...task.status!, state, timestamp: this.now } });
  }

  step(): void {
    const list = () => [...this.tasks.values()];
    const input = () => ({
      service: this.service,
      tasks: list(),
      nodes: this.nodes,
      now: this.now,
    });
    const options = { newTaskId: this.newTaskId };
    const isGlobal = this.service.spec?.mode?.$case === 'global';
    this.apply((isGlobal ? reconcileGlobal : reconcileReplicated)(input(), options).actions);
    const plan = planUpdate(input(), options);
    this.apply(plan.actions);
    if (plan.service) this.service = plan.service;
    // Allocator, then scheduler.
    for (const t of list())
      if (t.status?.state === S.TASK_STATE_NEW) this.setState(t, S.TASK_STATE_PENDING);
    const pending = list().filter((t) => t.status?.state === S.TASK_STATE_PENDING);
    const { assignments } = schedule({
      tasks: pending,
      nodes: this.nodes,
      allTasks: list(),
      now: this.now,
    });
    for (const { taskId, nodeId } of assignments) {
      const t = this.tasks.get(taskId)!;
      this.tasks.set(taskId, {
        ...t,
        nodeId,
        status: { ...t.status!, state: S.TASK_STATE_ASSIGNED, timestamp: this.now },
      });
    }
    // Agents: one state change per step; images named "bad" crash once started.
    for (const t of list()) {
      const node = this.nodes.find((n) => n.id === t.nodeId);
      if (!node || node.status?.state !== pb.NodeStatus_State.STATE_READY) continue;
      const state = t.status!.state;
      if (
        t.desiredState > S.TASK_STATE_RUNNING &&
        state <= S.TASK_STATE_RUNNING &&
        state >= S.TASK_STATE_ASSIGNED
      ) {
        this.setState(t, S.TASK_STATE_SHUTDOWN);
      } else if (state === S.TASK_STATE_ASSIGNED) {
        this.setState(t, S.TASK_STATE_READY);
      } else if (state === S.TASK_STATE_READY && t.desiredState === S.TASK_STATE_RUNNING) {
        this.setState(t, S.TASK_STATE_RUNNING);
      } else if (state === S.TASK_STATE_RUNNING && t.spec?.container?.image === 'bad') {
        this.setState(t, S.TASK_STATE_FAILED);
      }
    }
    this.observe();
    this.nowMs += STEP_MS;
  }

  observe(): void {
    const executing = new Map<number, number>();
    let running = 0;
    for (const t of this.tasks.values()) {
      const state = t.status!.state;
      if (state === S.TASK_STATE_RUNNING) {
        running += 1;
        executing.set(t.slot, (executing.get(t.slot) ?? 0) + 1);
      }
    }
    this.maxExecutingPerSlot = Math.max(this.maxExecutingPerSlot, ...executing.values());
    if (this.nowMs > 0) this.minRunning = Math.min(this.minRunning, running);
  }

  runUntil(done: () => boolean, maxSteps = 400): void {
    for (let i = 0; i < maxSteps && !done(); i += 1) this.step();
    expect(done()).toBe(true);
  }

  running(): pb.Task[] {
    return [...this.tasks.values()].filter((t) => t.status?.state === S.TASK_STATE_RUNNING);
  }

  images(): string[] {
    return this.running()
      .map((t) => t.spec?.container?.image ?? '')
      .sort();
  }

  /** What `service update --image` does: new spec, old one kept, status reset. */
  updateImage(image: string, change: Partial<TestService> = {}): void {
    const next = testService({ replicas: 3, image, ...change });
    this.service = {
      ...this.service,
      previousSpec: this.service.spec,
      spec: next.spec,
      specVersion: this.service.specVersion + 1,
      updateStatus: undefined,
    };
  }
}

const threeNodes = [{ id: 'a' }, { id: 'b' }, { id: 'c' }];
const update = { monitorMs: 2000 };

describe('control loop', () => {
  it('control loop: converges to one running task per node when a service of 3 is created', () => {
    const cluster = new FakeCluster(testService({ replicas: 3, update }), threeNodes);
    cluster.runUntil(() => cluster.running().length === 3);
    expect(
      cluster
        .running()
        .map((t) => t.nodeId)
        .sort(),
    ).toEqual(['a', 'b', 'c']);
    expect(
      cluster
        .running()
        .map((t) => t.slot)
        .sort(),
    ).toEqual([1, 2, 3]);
  });

  it('control loop: completes a stop-first update without two tasks of a slot running at once', () => {
    const cluster = new FakeCluster(
      testService({ replicas: 3, image: 'app:v1', update }),
      threeNodes,
    );
    cluster.runUntil(() => cluster.running().length === 3);
    cluster.updateImage('app:v2', { update });
    cluster.runUntil(() => cluster.service.updateStatus?.state === U.STATE_COMPLETED);
    expect(cluster.images()).toEqual(['app:v2', 'app:v2', 'app:v2']);
    expect(cluster.maxExecutingPerSlot).toBe(1);
  });

  it('control loop: keeps every replica running through a start-first update', () => {
    const startFirst = { ...update, order: pb.UpdateConfig_Order.ORDER_START_FIRST };
    const cluster = new FakeCluster(
      testService({ replicas: 3, image: 'app:v1', update: startFirst }),
      threeNodes,
    );
    cluster.runUntil(() => cluster.running().length === 3);
    cluster.minRunning = Number.POSITIVE_INFINITY;
    cluster.updateImage('app:v2', { update: startFirst });
    cluster.runUntil(() => cluster.service.updateStatus?.state === U.STATE_COMPLETED);
    expect(cluster.images()).toEqual(['app:v2', 'app:v2', 'app:v2']);
    expect(cluster.minRunning).toBeGreaterThanOrEqual(3);
  });

  it('control loop: rolls back to the previous image when the new one crashes and the action is rollback', () => {
    const rollback = {
      ...update,
      failureAction: pb.UpdateConfig_FailureAction.FAILURE_ACTION_ROLLBACK,
    };
    const cluster = new FakeCluster(
      testService({ replicas: 3, image: 'app:v1', update: rollback }),
      threeNodes,
    );
    cluster.runUntil(() => cluster.running().length === 3);
    cluster.updateImage('bad', { update: rollback });
    cluster.runUntil(() => cluster.service.updateStatus?.state === U.STATE_ROLLBACK_COMPLETED);
    expect(cluster.service.spec?.task?.container?.image).toBe('app:v1');
    cluster.runUntil(() => cluster.running().length === 3);
    expect(cluster.images()).toEqual(['app:v1', 'app:v1', 'app:v1']);
  });

  it('control loop: pauses a crashing update after one slot when the action is pause', () => {
    const cluster = new FakeCluster(
      testService({ replicas: 3, image: 'app:v1', update }),
      threeNodes,
    );
    cluster.runUntil(() => cluster.running().length === 3);
    cluster.updateImage('bad', { update, restart: { delayMs: 1000 } });
    cluster.runUntil(() => cluster.service.updateStatus?.state === U.STATE_PAUSED);
    expect(cluster.service.updateStatus?.message).toMatch(
      /^update paused due to failure or early termination of task new\d+$/,
    );
    // The updater had moved on to the next slot before the crash showed (as Docker's
    // does: the monitor catches failures after the fact); from the pause on it stops.
    const badSlots = () =>
      new Set(
        [...cluster.tasks.values()]
          .filter(
            (t) => t.desiredState <= S.TASK_STATE_RUNNING && t.spec?.container?.image === 'bad',
          )
          .map((t) => t.slot),
      ).size;
    const before = badSlots();
    for (let i = 0; i < 50; i += 1) cluster.step();
    expect(badSlots()).toBe(before);
    expect(before).toBeLessThan(3);
    expect(cluster.images()).toContain('app:v1');
  });

  it('control loop: pauses a crash-looping update when restart delay and monitor keep Docker defaults', () => {
    const cluster = new FakeCluster(testService({ replicas: 3, image: 'app:v1' }), threeNodes);
    cluster.runUntil(() => cluster.running().length === 3);
    cluster.updateImage('bad', {});
    cluster.runUntil(() => cluster.service.updateStatus?.state === U.STATE_PAUSED);
  });

  it('control loop: moves tasks off a node that goes down', () => {
    const cluster = new FakeCluster(testService({ replicas: 3, update }), threeNodes);
    cluster.runUntil(() => cluster.running().length === 3);
    cluster.nodes = cluster.nodes.map((n) =>
      n.id === 'c' ? { ...n, status: { ...n.status!, state: pb.NodeStatus_State.STATE_DOWN } } : n,
    );
    cluster.runUntil(() => cluster.running().filter((t) => t.nodeId !== 'c').length === 3);
    const placed = cluster
      .running()
      .filter((t) => t.nodeId !== 'c')
      .map((t) => t.nodeId);
    expect(new Set(placed)).toEqual(new Set(['a', 'b']));
  });

  it('control loop: restarts a crashing task no more than max attempts', () => {
    const cluster = new FakeCluster(
      testService({ replicas: 1, image: 'bad', restart: { maxAttempts: 3, delayMs: 1000 } }),
      [{ id: 'a' }],
    );
    for (let i = 0; i < 200; i += 1) cluster.step();
    // The first task and three restarts, nothing more.
    expect(cluster.tasks.size).toBe(4);
    expect([...cluster.tasks.values()].every((t) => t.status?.state === S.TASK_STATE_FAILED)).toBe(
      true,
    );
  });

  it('control loop: follows nodes joining and draining when the service is global', () => {
    const cluster = new FakeCluster(testService({ global: true, update }), [
      { id: 'a' },
      { id: 'b' },
    ]);
    cluster.runUntil(() => cluster.running().length === 2);
    cluster.nodes = [...cluster.nodes, testNode({ id: 'c' })];
    cluster.runUntil(() => cluster.running().length === 3);
    cluster.nodes = cluster.nodes.map((n) =>
      n.id === 'a'
        ? { ...n, spec: { ...n.spec!, availability: pb.NodeAvailability.NODE_AVAILABILITY_DRAIN } }
        : n,
    );
    cluster.runUntil(() => cluster.running().length === 2);
    expect(
      cluster
        .running()
        .map((t) => t.nodeId)
        .sort(),
    ).toEqual(['b', 'c']);
  });

  it('control loop: spreads a global update node by node and completes it', () => {
    const cluster = new FakeCluster(
      testService({ global: true, image: 'app:v1', update }),
      threeNodes,
    );
    cluster.runUntil(() => cluster.running().length === 3);
    const next = testService({ global: true, image: 'app:v2', update });
    cluster.service = {
      ...cluster.service,
      previousSpec: cluster.service.spec,
      spec: next.spec,
      specVersion: 2,
    };
    cluster.runUntil(() => cluster.service.updateStatus?.state === U.STATE_COMPLETED);
    expect(cluster.images()).toEqual(['app:v2', 'app:v2', 'app:v2']);
  });
});
