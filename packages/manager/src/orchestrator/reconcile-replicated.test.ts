import { pb } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import { type TestNode, testNode, testTask } from '../scheduler/testing.js';
import { reconcileReplicated } from './reconcile-replicated.js';
import { describeActions, sequentialIds, type TestService, testService } from './testing.js';

const S = pb.TaskState;
const { CONDITION_NONE, CONDITION_ON_FAILURE } = pb.RestartPolicy_Condition;

interface Case {
  name: string;
  service: TestService;
  tasks: Parameters<typeof testTask>[0][];
  nodes?: TestNode[];
  nowMs?: number;
  historyLimit?: number;
  want: string[];
  wakeAtMs?: number;
}

const run = (id: string, slot: number, more: Partial<Parameters<typeof testTask>[0]> = {}) => ({
  id,
  slot,
  nodeId: 'a',
  state: S.TASK_STATE_RUNNING,
  ...more,
});
const dead = (id: string, slot: number, createdMs: number, state = S.TASK_STATE_FAILED) => ({
  id,
  slot,
  nodeId: 'a',
  state,
  desired: S.TASK_STATE_SHUTDOWN,
  createdMs,
});

const cases: Case[] = [
  {
    name: 'reconcileReplicated: creates slots 1..N when the service has no tasks',
    service: { replicas: 3 },
    tasks: [],
    want: ['create 1 RUNNING', 'create 2 RUNNING', 'create 3 RUNNING'],
  },
  {
    name: 'reconcileReplicated: does nothing when every slot has a running task',
    service: { replicas: 2 },
    tasks: [run('t1', 1), run('t2', 2)],
    want: [],
  },
  {
    name: 'reconcileReplicated: fills the lowest free slot numbers when scaling up',
    service: { replicas: 4 },
    tasks: [run('t1', 1), run('t3', 3)],
    want: ['create 2 RUNNING', 'create 4 RUNNING'],
  },
  {
    name: 'reconcileReplicated: removes the highest slots when scaling down',
    service: { replicas: 2 },
    tasks: [run('t1', 1), run('t2', 2), run('t3', 3), run('t4', 4)],
    want: ['t3 REMOVE (scaled down)', 't4 REMOVE (scaled down)'],
  },
  {
    name: 'reconcileReplicated: deletes the history of a removed slot when scaling down',
    service: { replicas: 1 },
    tasks: [run('t1', 1), dead('old2', 2, 0), run('t2', 2, { createdMs: 1 })],
    want: ['delete old2', 't2 REMOVE (scaled down)'],
  },
  {
    name: 'reconcileReplicated: deletes tasks of a removed slot once they have stopped',
    service: { replicas: 1 },
    tasks: [
      run('t1', 1),
      { ...dead('t2', 2, 0, S.TASK_STATE_SHUTDOWN), desired: S.TASK_STATE_REMOVE },
    ],
    want: ['delete t2'],
  },
  {
    name: 'reconcileReplicated: restarts a failed task held for the delay when the policy has one',
    service: { replicas: 1, restart: { delayMs: 5000 } },
    tasks: [run('t1', 1, { state: S.TASK_STATE_FAILED })],
    nowMs: 1000,
    want: ['t1 SHUTDOWN (task failed)', 'create 1 READY'],
    wakeAtMs: 6000,
  },
  {
    name: 'reconcileReplicated: restarts at once when the restart delay is 0',
    service: { replicas: 1, restart: { delayMs: 0 } },
    tasks: [run('t1', 1, { state: S.TASK_STATE_COMPLETE })],
    want: ['t1 SHUTDOWN (task completed)', 'create 1 RUNNING'],
  },
  {
    name: 'reconcileReplicated: uses Docker’s 5 s restart delay when the spec sets none',
    service: { replicas: 1 },
    tasks: [run('t1', 1, { state: S.TASK_STATE_REJECTED })],
    nowMs: 0,
    want: ['t1 SHUTDOWN (task rejected)', 'create 1 READY'],
    wakeAtMs: 5000,
  },
  {
    name: 'reconcileReplicated: keeps a restarted task held when its delay has not passed',
    service: { replicas: 1, restart: { delayMs: 5000 } },
    tasks: [
      dead('t1', 1, 0),
      {
        id: 't2',
        slot: 1,
        state: S.TASK_STATE_READY,
        desired: S.TASK_STATE_READY,
        createdMs: 1000,
      },
    ],
    nowMs: 3000,
    want: [],
    wakeAtMs: 6000,
  },
  {
    name: 'reconcileReplicated: releases a restarted task when its delay has passed',
    service: { replicas: 1, restart: { delayMs: 5000 } },
    tasks: [
      dead('t1', 1, 0),
      {
        id: 't2',
        slot: 1,
        state: S.TASK_STATE_READY,
        desired: S.TASK_STATE_READY,
        createdMs: 1000,
      },
    ],
    nowMs: 6000,
    want: ['t2 RUNNING (starting)'],
  },
  {
    name: 'reconcileReplicated: keeps a held task waiting when the slot’s old task is still running',
    service: { replicas: 1 },
    tasks: [
      { ...run('old', 1), desired: S.TASK_STATE_SHUTDOWN },
      { id: 'new', slot: 1, state: S.TASK_STATE_READY, desired: S.TASK_STATE_READY, createdMs: 1 },
    ],
    nowMs: 100_000,
    want: [],
  },
  {
    name: 'reconcileReplicated: releases a held task without delay when the old task was shut down',
    service: { replicas: 1 },
    tasks: [
      dead('old', 1, 0, S.TASK_STATE_SHUTDOWN),
      { id: 'new', slot: 1, state: S.TASK_STATE_READY, desired: S.TASK_STATE_READY, createdMs: 1 },
    ],
    nowMs: 2,
    want: ['new RUNNING (starting)'],
  },
  {
    name: 'reconcileReplicated: restarts a failed start-first new task beside the old one, held for the delay',
    service: { replicas: 1, restart: { delayMs: 5000 } },
    tasks: [run('old', 1), run('new', 1, { state: S.TASK_STATE_FAILED, createdMs: 1000 })],
    nowMs: 2000,
    want: ['new SHUTDOWN (task failed)', 'create 1 READY'],
    wakeAtMs: 7000,
  },
  {
    name: 'reconcileReplicated: releases a held restart after its delay while the start-first old task still runs',
    service: { replicas: 1, restart: { delayMs: 5000 } },
    tasks: [
      run('old', 1),
      dead('new', 1, 1000),
      {
        id: 'again',
        slot: 1,
        state: S.TASK_STATE_READY,
        desired: S.TASK_STATE_READY,
        createdMs: 2000,
      },
    ],
    nowMs: 7000,
    want: ['again RUNNING (starting)'],
  },
  {
    name: 'reconcileReplicated: shuts a failed task down without restart when the condition is none',
    service: { replicas: 1, restart: { condition: CONDITION_NONE } },
    tasks: [run('t1', 1, { state: S.TASK_STATE_FAILED })],
    want: ['t1 SHUTDOWN (task failed)'],
  },
  {
    name: 'reconcileReplicated: counts a slot ended under condition none as a replica when reconciled again',
    service: { replicas: 1, restart: { condition: CONDITION_NONE } },
    tasks: [dead('t1', 1, 0, S.TASK_STATE_COMPLETE)],
    want: [],
  },
  {
    name: 'reconcileReplicated: leaves a completed task alone when the condition is on-failure',
    service: { replicas: 1, restart: { condition: CONDITION_ON_FAILURE } },
    tasks: [run('t1', 1, { state: S.TASK_STATE_COMPLETE })],
    want: ['t1 SHUTDOWN (task completed)'],
  },
  {
    name: 'reconcileReplicated: restarts a failed task when the condition is on-failure',
    service: { replicas: 1, restart: { condition: CONDITION_ON_FAILURE, delayMs: 0 } },
    tasks: [run('t1', 1, { state: S.TASK_STATE_FAILED })],
    want: ['t1 SHUTDOWN (task failed)', 'create 1 RUNNING'],
  },
  {
    name: 'reconcileReplicated: stops restarting when max attempts are used up',
    service: { replicas: 1, restart: { maxAttempts: 2, delayMs: 0 } },
    tasks: [
      dead('t1', 1, 0),
      dead('t2', 1, 10),
      run('t3', 1, { state: S.TASK_STATE_FAILED, createdMs: 20 }),
    ],
    nowMs: 30,
    want: ['t3 SHUTDOWN (task failed)'],
  },
  {
    name: 'reconcileReplicated: restarts again when earlier attempts fall out of the window',
    service: { replicas: 1, restart: { maxAttempts: 2, delayMs: 0, windowMs: 60_000 } },
    tasks: [
      dead('t1', 1, 0),
      dead('t2', 1, 10),
      run('t3', 1, { state: S.TASK_STATE_FAILED, createdMs: 20 }),
    ],
    nowMs: 60_015,
    want: ['t3 SHUTDOWN (task failed)', 'create 1 RUNNING'],
  },
  {
    name: 'reconcileReplicated: restarts a slot left ended by max attempts when the window lets it',
    service: { replicas: 1, restart: { maxAttempts: 1, delayMs: 0, windowMs: 60_000 } },
    tasks: [dead('t1', 1, 0), dead('t2', 1, 10)],
    nowMs: 60_011,
    want: ['create 1 RUNNING'],
  },
  {
    name: 'reconcileReplicated: resets the attempt count when the spec version changes',
    service: { replicas: 1, specVersion: 2, restart: { maxAttempts: 1, delayMs: 0 } },
    tasks: [dead('t1', 1, 0), run('t2', 1, { state: S.TASK_STATE_FAILED, createdMs: 10 })],
    want: ['t2 SHUTDOWN (task failed)', 'create 1 RUNNING'],
  },
  {
    name: 'reconcileReplicated: replaces a task at once when its node is down',
    service: { replicas: 2 },
    tasks: [run('t1', 1), run('t2', 2, { nodeId: 'b' })],
    nodes: [{ id: 'a' }, { id: 'b', state: pb.NodeStatus_State.STATE_DOWN }],
    want: ['t2 SHUTDOWN (node is down)', 'create 2 RUNNING'],
  },
  {
    name: 'reconcileReplicated: replaces a task when its node is drained',
    service: { replicas: 1 },
    tasks: [run('t1', 1, { nodeId: 'b' })],
    nodes: [{ id: 'b', availability: pb.NodeAvailability.NODE_AVAILABILITY_DRAIN }],
    want: ['t1 SHUTDOWN (node is drained)', 'create 1 RUNNING'],
  },
  {
    name: 'reconcileReplicated: replaces a task when its node left the swarm',
    service: { replicas: 1 },
    tasks: [run('t1', 1, { nodeId: 'gone' })],
    nodes: [{ id: 'a' }],
    want: ['t1 SHUTDOWN (node left the swarm)', 'create 1 RUNNING'],
  },
  {
    name: 'reconcileReplicated: keeps tasks on paused or unknown nodes when reconciling',
    service: { replicas: 2 },
    tasks: [run('t1', 1, { nodeId: 'p' }), run('t2', 2, { nodeId: 'u' })],
    nodes: [
      { id: 'p', availability: pb.NodeAvailability.NODE_AVAILABILITY_PAUSE },
      { id: 'u', state: pb.NodeStatus_State.STATE_UNKNOWN },
    ],
    want: [],
  },
  {
    name: 'reconcileReplicated: replaces an orphaned task at once without counting an attempt',
    service: { replicas: 1, restart: { maxAttempts: 1 } },
    tasks: [dead('t0', 1, 0), run('t1', 1, { state: S.TASK_STATE_ORPHANED, createdMs: 1 })],
    want: ['t1 SHUTDOWN (task orphaned)', 'create 1 RUNNING'],
  },
  {
    name: 'reconcileReplicated: leaves a task not yet placed alone when it has no node',
    service: { replicas: 1 },
    tasks: [{ id: 't1', slot: 1, state: S.TASK_STATE_PENDING }],
    want: [],
  },
  {
    name: 'reconcileReplicated: deletes the oldest finished tasks when a slot exceeds the history limit',
    service: { replicas: 1 },
    tasks: [
      dead('h1', 1, 1),
      dead('h2', 1, 2),
      dead('h3', 1, 3),
      dead('h4', 1, 4),
      dead('h5', 1, 5),
      dead('h6', 1, 6),
      run('t7', 1, { createdMs: 7 }),
    ],
    want: ['delete h1', 'delete h2'],
  },
  {
    name: 'reconcileReplicated: deletes every finished task when the history limit is 0',
    service: { replicas: 1 },
    tasks: [dead('h1', 1, 1), run('t2', 1, { createdMs: 2 })],
    historyLimit: 0,
    want: ['delete h1'],
  },
  {
    name: 'reconcileReplicated: keeps max attempts plus one tasks when that is above the history limit',
    service: { replicas: 1, restart: { maxAttempts: 3 } },
    tasks: [dead('h1', 1, 1), dead('h2', 1, 2), dead('h3', 1, 3), run('t4', 1, { createdMs: 4 })],
    historyLimit: 1,
    want: [],
  },
];

describe('reconcileReplicated', () => {
  for (const c of cases) {
    it(c.name, () => {
      const result = reconcileReplicated(
        {
          service: testService(c.service),
          tasks: c.tasks.map(testTask),
          nodes: (c.nodes ?? [{ id: 'a' }]).map(testNode),
          now: new Date(c.nowMs ?? 0),
        },
        { newTaskId: sequentialIds(), taskHistoryLimit: c.historyLimit },
      );
      expect(describeActions(result.actions)).toEqual(c.want);
      expect(result.wakeAt?.getTime()).toBe(c.wakeAtMs);
    });
  }

  it('reconcileReplicated: creates tasks with the service spec, name parts and status NEW', () => {
    const service = testService({ replicas: 1, specVersion: 7 });
    const { actions } = reconcileReplicated(
      { service, tasks: [], nodes: [], now: new Date(42) },
      { newTaskId: () => 'abc' },
    );
    expect(actions).toEqual([
      {
        type: 'createTask',
        task: {
          id: 'abc',
          meta: { version: 0, createdAt: new Date(42), updatedAt: new Date(42) },
          spec: service.spec?.task,
          specVersion: 7,
          serviceId: 'svc',
          slot: 1,
          nodeId: '',
          serviceAnnotations: { name: 'web', labels: {} },
          status: { timestamp: new Date(42), state: S.TASK_STATE_NEW, message: 'created', err: '' },
          desiredState: S.TASK_STATE_RUNNING,
          networks: [],
        },
      },
    ]);
  });

  it('reconcileReplicated: converges when its actions are applied and it runs again', () => {
    const service = testService({ replicas: 3 });
    const first = reconcileReplicated(
      { service, tasks: [], nodes: [], now: new Date(0) },
      { newTaskId: sequentialIds() },
    );
    const tasks = first.actions.flatMap((a) => (a.type === 'createTask' ? [a.task] : []));
    const second = reconcileReplicated(
      { service, tasks, nodes: [], now: new Date(1) },
      { newTaskId: sequentialIds() },
    );
    expect(second.actions).toEqual([]);
  });
});
