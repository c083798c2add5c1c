import { pb } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import { testNode, testTask } from '../scheduler/testing.js';
import { reconcileGlobal } from './reconcile-global.js';
import { reconcileReplicated } from './reconcile-replicated.js';
import { removeTasks } from './remove-tasks.js';
import { describeActions, sequentialIds, testService } from './testing.js';

const S = pb.TaskState;

describe('removeTasks', () => {
  it('removeTasks: marks live tasks REMOVE and deletes finished ones when a service is removed', () => {
    const tasks = [
      testTask({ id: 'run', state: S.TASK_STATE_RUNNING }),
      testTask({ id: 'stopping', state: S.TASK_STATE_RUNNING, desired: S.TASK_STATE_SHUTDOWN }),
      testTask({ id: 'gone', state: S.TASK_STATE_FAILED, desired: S.TASK_STATE_SHUTDOWN }),
      testTask({ id: 'failed', state: S.TASK_STATE_FAILED }),
      testTask({ id: 'removing', state: S.TASK_STATE_RUNNING, desired: S.TASK_STATE_REMOVE }),
      testTask({ id: 'removed', state: S.TASK_STATE_SHUTDOWN, desired: S.TASK_STATE_REMOVE }),
    ];
    expect(describeActions(removeTasks(tasks, 'service removed'))).toEqual([
      'run REMOVE (service removed)',
      'stopping REMOVE (service removed)',
      'delete gone',
      'failed REMOVE (service removed)',
      'delete removed',
    ]);
  });
});

describe('reconcile mode guard', () => {
  it('reconcileReplicated: does nothing when handed a global service', () => {
    const tasks = [testTask({ id: 't', slot: 0, nodeId: 'a' })];
    const result = reconcileReplicated(
      { service: testService({ global: true }), tasks, nodes: [], now: new Date(0) },
      { newTaskId: sequentialIds() },
    );
    expect(result.actions).toEqual([]);
  });

  it('reconcileGlobal: does nothing when handed a replicated service', () => {
    const result = reconcileGlobal(
      {
        service: testService({ replicas: 2 }),
        tasks: [],
        nodes: [testNode({ id: 'a' })],
        now: new Date(0),
      },
      { newTaskId: sequentialIds() },
    );
    expect(result.actions).toEqual([]);
  });
});
