import { pb } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import { testTask } from '../scheduler/testing.js';
import { isSameTaskSpec } from './task-spec-equal.js';
import { hasTaskEnded, isTaskFinished, isTaskWanted, taskName } from './task-state.js';
import { testContainerSpec } from './testing.js';

const S = pb.TaskState;

describe('task state', () => {
  const cases: {
    name: string;
    input: { state: pb.TaskState; desired: pb.TaskState };
    want: { wanted: boolean; ended: boolean; finished: boolean };
  }[] = [
    {
      name: 'task state: wanted and not ended when running and desired running',
      input: { state: S.TASK_STATE_RUNNING, desired: S.TASK_STATE_RUNNING },
      want: { wanted: true, ended: false, finished: false },
    },
    {
      name: 'task state: wanted when held in READY',
      input: { state: S.TASK_STATE_READY, desired: S.TASK_STATE_READY },
      want: { wanted: true, ended: false, finished: false },
    },
    {
      name: 'task state: ended and finished when failed while still desired running',
      input: { state: S.TASK_STATE_FAILED, desired: S.TASK_STATE_RUNNING },
      want: { wanted: true, ended: true, finished: true },
    },
    {
      name: 'task state: not finished when told to stop but still running',
      input: { state: S.TASK_STATE_RUNNING, desired: S.TASK_STATE_SHUTDOWN },
      want: { wanted: false, ended: false, finished: false },
    },
    {
      name: 'task state: finished when stopped before it reached a node',
      input: { state: S.TASK_STATE_PENDING, desired: S.TASK_STATE_SHUTDOWN },
      want: { wanted: false, ended: false, finished: true },
    },
    {
      name: 'task state: not finished when assigned and told to stop',
      input: { state: S.TASK_STATE_ASSIGNED, desired: S.TASK_STATE_REMOVE },
      want: { wanted: false, ended: false, finished: false },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const task = testTask({ id: 't', ...c.input });
      expect({
        wanted: isTaskWanted(task),
        ended: hasTaskEnded(task),
        finished: isTaskFinished(task),
      }).toEqual(c.want);
    });
  }

  it('taskName: names replicated tasks by slot and global tasks by node', () => {
    const annotations = { name: 'web', labels: {} };
    expect(taskName({ ...testTask({ id: 't', slot: 2 }), serviceAnnotations: annotations })).toBe(
      'web.2',
    );
    expect(
      taskName({ ...testTask({ id: 't', nodeId: 'n1' }), serviceAnnotations: annotations }),
    ).toBe('web.n1');
  });
});

describe('isSameTaskSpec', () => {
  const base = (labels: Record<string, string>, image = 'a'): pb.TaskSpec => ({
    container: testContainerSpec(image, labels),
    networks: [],
    forceUpdate: 0,
  });
  const cases: {
    name: string;
    input: [pb.TaskSpec | undefined, pb.TaskSpec | undefined];
    want: boolean;
  }[] = [
    {
      name: 'isSameTaskSpec: equal when only the order of map keys differs',
      input: [base({ x: '1', y: '2' }), base({ y: '2', x: '1' })],
      want: true,
    },
    {
      name: 'isSameTaskSpec: different when the image differs',
      input: [base({}, 'a'), base({}, 'b')],
      want: false,
    },
    {
      name: 'isSameTaskSpec: different when force update was bumped',
      input: [base({}), { ...base({}), forceUpdate: 1 }],
      want: false,
    },
    {
      name: 'isSameTaskSpec: equal when an absent field meets its default',
      input: [base({}), { ...base({}), placement: undefined }],
      want: true,
    },
    {
      name: 'isSameTaskSpec: different when one spec is missing',
      input: [base({}), undefined],
      want: false,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(isSameTaskSpec(...c.input)).toBe(c.want);
    });
  }
});
