import { pb } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import { testTask } from '../scheduler/testing.js';
import { LocalClusterStore } from '../store/cluster-store.js';
import { MemoryStore } from '../store/memory-store.js';
import { ChangeSet, TASK_MESSAGES, writeChange } from './task-changes.js';

const S = pb.TaskState;
const NOW = new Date('2026-11-25T12:00:00Z');

async function storeWith(...tasks: pb.Task[]): Promise<LocalClusterStore> {
  const store = new LocalClusterStore(new MemoryStore());
  await store.update((tx) => {
    for (const task of tasks) tx.create('tasks', task);
  });
  return store;
}

/** Records changes on the store's tasks, lets `meanwhile` write, then writes the changes. */
async function writeAfter(
  store: LocalClusterStore,
  record: (changes: ChangeSet) => void,
  meanwhile: (task: pb.Task) => pb.Task,
): Promise<void> {
  const working = new Map(store.state.list('tasks').map((t) => [t.id, t] as const));
  const changes = new ChangeSet(working, NOW);
  record(changes);
  await store.update((tx) => {
    for (const task of tx.list('tasks')) tx.update('tasks', meanwhile(task));
  });
  await store.update((tx) => {
    for (const chunk of changes.chunks(10)) for (const c of chunk) writeChange(tx, c, NOW);
  });
}

describe('ChangeSet', () => {
  const cases: {
    name: string;
    task: pb.Task;
    record: (changes: ChangeSet) => void;
    meanwhile: (task: pb.Task) => pb.Task;
    want: { state: pb.TaskState; desired: pb.TaskState; nodeId: string };
  }[] = [
    {
      name: 'a desired state change keeps the status an agent reported meanwhile',
      task: testTask({ id: 't', nodeId: 'n1', state: S.TASK_STATE_STARTING }),
      record: (c) =>
        c.apply([
          {
            type: 'setDesiredState',
            taskId: 't',
            desiredState: S.TASK_STATE_SHUTDOWN,
            reason: 'updating',
          },
        ]),
      meanwhile: (t) => ({ ...t, status: { ...t.status!, state: S.TASK_STATE_RUNNING } }),
      want: { state: S.TASK_STATE_RUNNING, desired: S.TASK_STATE_SHUTDOWN, nodeId: 'n1' },
    },
    {
      name: 'desired states never move back',
      task: testTask({
        id: 't',
        nodeId: 'n1',
        state: S.TASK_STATE_READY,
        desired: S.TASK_STATE_READY,
      }),
      record: (c) =>
        c.apply([
          {
            type: 'setDesiredState',
            taskId: 't',
            desiredState: S.TASK_STATE_RUNNING,
            reason: 'released',
          },
        ]),
      meanwhile: (t) => ({ ...t, desiredState: S.TASK_STATE_REMOVE }),
      want: { state: S.TASK_STATE_READY, desired: S.TASK_STATE_REMOVE, nodeId: 'n1' },
    },
    {
      name: 'a placement applies only to a task still waiting for a node',
      task: testTask({ id: 't', state: S.TASK_STATE_PENDING }),
      record: (c) => c.assign('t', 'n2'),
      meanwhile: (t) => ({ ...t, desiredState: S.TASK_STATE_SHUTDOWN }),
      want: { state: S.TASK_STATE_PENDING, desired: S.TASK_STATE_SHUTDOWN, nodeId: '' },
    },
    {
      name: 'a placement binds the node and marks the task ASSIGNED',
      task: testTask({ id: 't', state: S.TASK_STATE_NEW }),
      record: (c) => {
        c.markPending('t');
        c.assign('t', 'n2');
      },
      meanwhile: (t) => t,
      want: { state: S.TASK_STATE_ASSIGNED, desired: S.TASK_STATE_RUNNING, nodeId: 'n2' },
    },
  ];
  for (const c of cases) {
    it(`ChangeSet: ${c.name}`, async () => {
      const store = await storeWith(c.task);
      await writeAfter(store, c.record, c.meanwhile);
      const task = store.state.get('tasks', 't')!;
      expect({
        state: task.status?.state,
        desired: task.desiredState,
        nodeId: task.nodeId,
      }).toEqual(c.want);
    });
  }

  it('ChangeSet: a task created and deleted in one pass is never written; an unschedulable one says why once', async () => {
    const store = await storeWith(testTask({ id: 'p', state: S.TASK_STATE_PENDING }));
    const working = new Map(store.state.list('tasks').map((t) => [t.id, t] as const));
    const changes = new ChangeSet(working, NOW);
    changes.apply([
      { type: 'createTask', task: testTask({ id: 'x', state: S.TASK_STATE_NEW }) },
      { type: 'deleteTask', taskId: 'x' },
    ]);
    changes.unschedulable('p', 'no suitable node');
    expect(changes.size).toBe(1);
    await store.update((tx) => {
      for (const chunk of changes.chunks(10)) for (const c of chunk) writeChange(tx, c, NOW);
    });
    expect(store.state.get('tasks', 'x')).toBeUndefined();
    expect(store.state.get('tasks', 'p')?.status).toMatchObject({
      state: S.TASK_STATE_PENDING,
      message: 'no suitable node',
      err: 'no suitable node',
    });
    const again = new ChangeSet(
      new Map(store.state.list('tasks').map((t) => [t.id, t] as const)),
      NOW,
    );
    again.unschedulable('p', 'no suitable node');
    expect(again.isEmpty).toBe(true);
    expect(TASK_MESSAGES.pending).toBe('pending task scheduling');
  });
});
