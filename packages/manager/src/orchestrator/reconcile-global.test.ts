import { pb } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import { type TestNode, type TestTask, testNode, testTask } from '../scheduler/testing.js';
import { reconcileGlobal } from './reconcile-global.js';
import { describeActions, sequentialIds, type TestService, testService } from './testing.js';

const S = pb.TaskState;
const { STATE_DOWN, STATE_UNKNOWN } = pb.NodeStatus_State;
const { NODE_AVAILABILITY_DRAIN, NODE_AVAILABILITY_PAUSE } = pb.NodeAvailability;

const on = (id: string, nodeId: string, more: Partial<TestTask> = {}): TestTask => ({
  id,
  nodeId,
  state: S.TASK_STATE_RUNNING,
  ...more,
});

const cases: {
  name: string;
  service?: TestService;
  nodes: TestNode[];
  tasks: TestTask[];
  nowMs?: number;
  want: string[];
  wakeAtMs?: number;
}[] = [
  {
    name: 'reconcileGlobal: creates one task per ready active node when the service is new',
    nodes: [{ id: 'b' }, { id: 'a' }],
    tasks: [],
    want: ['create @a RUNNING', 'create @b RUNNING'],
  },
  {
    name: 'reconcileGlobal: does nothing when every eligible node has its task',
    nodes: [{ id: 'a' }, { id: 'b' }],
    tasks: [on('ta', 'a'), on('tb', 'b')],
    want: [],
  },
  {
    name: 'reconcileGlobal: gives a task to a node that joins',
    nodes: [{ id: 'a' }, { id: 'c' }],
    tasks: [on('ta', 'a')],
    want: ['create @c RUNNING'],
  },
  {
    name: 'reconcileGlobal: shuts the task down when its node leaves the swarm',
    nodes: [{ id: 'a' }],
    tasks: [on('ta', 'a'), on('tb', 'b')],
    want: ['tb SHUTDOWN (node left the swarm)'],
  },
  {
    name: 'reconcileGlobal: deletes stopped tasks of a node that left the swarm',
    nodes: [{ id: 'a' }],
    tasks: [
      on('ta', 'a'),
      on('tb', 'b', { state: S.TASK_STATE_SHUTDOWN, desired: S.TASK_STATE_SHUTDOWN }),
    ],
    want: ['delete tb'],
  },
  {
    name: 'reconcileGlobal: shuts the task down without replacement when its node is drained',
    nodes: [{ id: 'a', availability: NODE_AVAILABILITY_DRAIN }],
    tasks: [on('ta', 'a')],
    want: ['ta SHUTDOWN (node is drained)'],
  },
  {
    name: 'reconcileGlobal: shuts the task down when its node is down',
    nodes: [{ id: 'a', state: STATE_DOWN }],
    tasks: [on('ta', 'a')],
    want: ['ta SHUTDOWN (node is down)'],
  },
  {
    name: 'reconcileGlobal: keeps the task but adds none when a node is paused',
    nodes: [
      { id: 'a', availability: NODE_AVAILABILITY_PAUSE },
      { id: 'b', availability: NODE_AVAILABILITY_PAUSE },
    ],
    tasks: [on('ta', 'a')],
    want: [],
  },
  {
    name: 'reconcileGlobal: keeps the task but adds none when a node’s status is unknown',
    nodes: [
      { id: 'a', state: STATE_UNKNOWN },
      { id: 'b', state: STATE_UNKNOWN },
    ],
    tasks: [on('ta', 'a')],
    want: [],
  },
  {
    name: 'reconcileGlobal: places tasks only on nodes that satisfy the constraints',
    service: { global: true, constraints: ['node.labels.edge==true'] },
    nodes: [{ id: 'a', labels: { edge: 'true' } }, { id: 'b' }],
    tasks: [],
    want: ['create @a RUNNING'],
  },
  {
    name: 'reconcileGlobal: shuts the task down when a label change breaks the constraints',
    service: { global: true, constraints: ['node.labels.edge==true'] },
    nodes: [{ id: 'a', labels: { edge: 'false' } }],
    tasks: [on('ta', 'a')],
    want: ['ta SHUTDOWN (node no longer satisfies the constraints)'],
  },
  {
    name: 'reconcileGlobal: restarts a failed task on its node after the restart delay',
    service: { global: true, restart: { delayMs: 2000 } },
    nodes: [{ id: 'a' }],
    tasks: [on('ta', 'a', { state: S.TASK_STATE_FAILED })],
    nowMs: 100,
    want: ['ta SHUTDOWN (task failed)', 'create @a READY'],
    wakeAtMs: 2100,
  },
  {
    name: 'reconcileGlobal: does not restart a failed task when the node is paused',
    service: { global: true, restart: { delayMs: 0 } },
    nodes: [{ id: 'a', availability: NODE_AVAILABILITY_PAUSE }],
    tasks: [on('ta', 'a', { state: S.TASK_STATE_FAILED })],
    want: ['ta SHUTDOWN (task failed)'],
  },
  {
    name: 'reconcileGlobal: leaves a node alone when its task completed and the condition is none',
    service: { global: true, restart: { condition: pb.RestartPolicy_Condition.CONDITION_NONE } },
    nodes: [{ id: 'a' }],
    tasks: [on('ta', 'a', { state: S.TASK_STATE_COMPLETE, desired: S.TASK_STATE_SHUTDOWN })],
    want: [],
  },
  {
    name: 'reconcileGlobal: gives a node a task again when it comes back from drain',
    nodes: [{ id: 'a' }],
    tasks: [on('ta', 'a', { state: S.TASK_STATE_SHUTDOWN, desired: S.TASK_STATE_SHUTDOWN })],
    want: ['create @a RUNNING'],
  },
  {
    name: 'reconcileGlobal: trims each node’s history to the limit',
    nodes: [{ id: 'a' }],
    tasks: [
      ...[1, 2, 3, 4, 5].map((n) =>
        on(`h${n}`, 'a', {
          state: S.TASK_STATE_FAILED,
          desired: S.TASK_STATE_SHUTDOWN,
          createdMs: n,
        }),
      ),
      on('ta', 'a', { createdMs: 6 }),
    ],
    want: ['delete h1'],
  },
];

describe('reconcileGlobal', () => {
  for (const c of cases) {
    it(c.name, () => {
      const result = reconcileGlobal(
        {
          service: testService(c.service ?? { global: true }),
          tasks: c.tasks.map(testTask),
          nodes: c.nodes.map(testNode),
          now: new Date(c.nowMs ?? 0),
        },
        { newTaskId: sequentialIds() },
      );
      expect(describeActions(result.actions)).toEqual(c.want);
      expect(result.wakeAt?.getTime()).toBe(c.wakeAtMs);
    });
  }

  it('reconcileGlobal: creates tasks in slot 0 with their node preset', () => {
    const { actions } = reconcileGlobal(
      {
        service: testService({ global: true }),
        tasks: [],
        nodes: [testNode({ id: 'a' })],
        now: new Date(0),
      },
      { newTaskId: () => 'x' },
    );
    expect(actions[0]).toMatchObject({
      type: 'createTask',
      task: { id: 'x', slot: 0, nodeId: 'a' },
    });
  });
});
