import { pb } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import { planAdoption } from './adoption.js';
import type { ContainerInfo } from './container-runtime.js';

const S = pb.TaskState;

function container(
  id: string,
  taskId: string | undefined,
  partial: Partial<ContainerInfo> = {},
): ContainerInfo {
  return {
    id,
    name: `web.1.${taskId}`,
    labels: taskId
      ? { 'org.shoal.task.id': taskId, 'org.shoal.node.id': 'n1' }
      : { 'org.shoal.node.id': 'n1' },
    status: 'running',
    exitCode: 0,
    oomKilled: false,
    error: '',
    pid: 7,
    startedAt: '2026-01-01T00:00:00Z',
    finishedAt: '0001-01-01T00:00:00Z',
    health: undefined,
    stopSignal: '',
    stopGraceMs: 10_000,
    ...partial,
  };
}

function task(id: string, state: pb.TaskState, desired = S.TASK_STATE_RUNNING): pb.Task {
  return pb.Task.fromPartial({
    id,
    desiredState: desired,
    status: { state, message: 'm', err: '' },
  });
}

/** Decisions in a form that is easy to compare: `adopt t1 c1 RUNNING report`. */
function summary(decisions: ReturnType<typeof planAdoption>): string[] {
  return decisions
    .map((d) =>
      d.type === 'remove'
        ? `remove ${d.container.id}: ${d.reason}`
        : `adopt ${d.taskId} ${d.container.id} ${S[d.observation.state]}${d.report ? ' report' : ''}`,
    )
    .sort();
}

describe('planAdoption', () => {
  const cases: {
    name: string;
    containers: ContainerInfo[];
    tasks: pb.Task[];
    want: string[];
  }[] = [
    {
      name: 'keeps a running container of a running task without a report',
      containers: [container('c1', 't1')],
      tasks: [task('t1', S.TASK_STATE_RUNNING)],
      want: ['adopt t1 c1 TASK_STATE_RUNNING'],
    },
    {
      name: 'reports RUNNING when the manager last heard STARTING',
      containers: [container('c1', 't1')],
      tasks: [task('t1', S.TASK_STATE_STARTING)],
      want: ['adopt t1 c1 TASK_STATE_RUNNING report'],
    },
    {
      name: 'adopts a created container as READY',
      containers: [container('c1', 't1', { status: 'created', pid: 0 })],
      tasks: [task('t1', S.TASK_STATE_PREPARING)],
      want: ['adopt t1 c1 TASK_STATE_READY report'],
    },
    {
      name: 'reports the exit of a container that died while the agent was away',
      containers: [container('c1', 't1', { status: 'exited', exitCode: 2 })],
      tasks: [task('t1', S.TASK_STATE_RUNNING)],
      want: ['adopt t1 c1 TASK_STATE_FAILED report'],
    },
    {
      name: "keeps the manager's word on a finished task",
      containers: [container('c1', 't1', { status: 'exited', exitCode: 2 })],
      tasks: [task('t1', S.TASK_STATE_SHUTDOWN, S.TASK_STATE_SHUTDOWN)],
      want: ['adopt t1 c1 TASK_STATE_SHUTDOWN'],
    },
    {
      name: 'removes containers of tasks no longer assigned and unlabelled ones',
      containers: [container('c1', 't1'), container('c2', 'gone'), container('c3', undefined)],
      tasks: [task('t1', S.TASK_STATE_RUNNING)],
      want: [
        'adopt t1 c1 TASK_STATE_RUNNING',
        'remove c2: task not assigned to this node',
        'remove c3: task not assigned to this node',
      ],
    },
    {
      name: 'keeps the running one of two containers of a task',
      containers: [container('c1', 't1', { status: 'exited', exitCode: 1 }), container('c2', 't1')],
      tasks: [task('t1', S.TASK_STATE_RUNNING)],
      want: ['adopt t1 c2 TASK_STATE_RUNNING', 'remove c1: another container runs the task'],
    },
    {
      name: 'adopts nothing when the engine holds no container',
      containers: [],
      tasks: [task('t1', S.TASK_STATE_RUNNING)],
      want: [],
    },
  ];
  for (const { name, containers, tasks, want } of cases) {
    it(`planAdoption: ${name}`, () => {
      expect(summary(planAdoption(containers, new Map(tasks.map((t) => [t.id, t]))))).toEqual(want);
    });
  }
});
