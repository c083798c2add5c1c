import { pb } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import { LocalClusterStore } from '../store/cluster-store.js';
import { MemoryStore } from '../store/memory-store.js';
import type { StoreEvent } from '../store/store-watch.js';
import { TaskNodeRouter } from './task-node-router.js';

function taskEvent(type: 'create' | 'update' | 'delete', id: string, nodeId: string): StoreEvent {
  return { type, table: 'tasks', object: pb.Task.fromPartial({ id, nodeId }), version: 1 };
}

function createTask(store: MemoryStore, version: number, id: string, nodeId: string): void {
  store.apply(version, {
    proposalId: `p${version}`,
    actions: [
      {
        kind: pb.StoreAction_Kind.KIND_CREATE,
        object: { object: { $case: 'task', task: pb.Task.fromPartial({ id, nodeId }) } },
      },
    ],
  });
}

describe('TaskNodeRouter', () => {
  it('TaskNodeRouter: routes a task to its node, and to the node it leaves on the move', () => {
    const router = new TaskNodeRouter();
    router.reset(new MemoryStore());
    const keys = [
      taskEvent('create', 't1', ''),
      taskEvent('update', 't1', 'n1'),
      taskEvent('update', 't1', 'n1'),
      taskEvent('update', 't1', 'n2'),
      taskEvent('update', 't1', 'n2'),
      taskEvent('delete', 't1', 'n2'),
      taskEvent('delete', 't1', 'n2'),
    ].map((e) => router.keysOf(e));
    expect(keys).toEqual([[], ['n1'], ['n1'], ['n1', 'n2'], ['n2'], ['n2'], []]);
  });

  it('TaskNodeRouter: knows where tasks are bound when it starts, and sends resets and networks to all', () => {
    const store = new MemoryStore();
    createTask(store, 1, 't1', 'n1');
    const router = new TaskNodeRouter();
    router.reset(store);
    expect(router.keysOf(taskEvent('update', 't1', 'n2'))).toEqual(['n1', 'n2']);
    expect(router.keysOf({ type: 'reset', version: 2 })).toBe('all');
    expect(
      router.keysOf({
        type: 'create',
        table: 'networks',
        object: pb.Network.fromPartial({ id: 'net' }),
        version: 3,
      }),
    ).toBe('all');
    expect(
      router.keysOf({
        type: 'update',
        table: 'nodes',
        object: pb.Node.fromPartial({ id: 'n1' }),
        version: 3,
      }),
    ).toEqual([]);
  });

  it('TaskNodeRouter: through store watches, each node sees its own tasks only', async () => {
    const store = new LocalClusterStore(new MemoryStore());
    await store.update((tx) =>
      tx.create('tasks', pb.Task.fromPartial({ id: 'old', nodeId: 'n1' })),
    );
    const router = new TaskNodeRouter();
    const n1 = store.watch({ route: { router, key: 'n1' } });
    const n2 = store.watch({ route: { router, key: 'n2' } });
    await store.update((tx) => tx.create('tasks', pb.Task.fromPartial({ id: 't2', nodeId: 'n2' })));
    await store.update((tx) =>
      tx.update('tasks', { ...store.state.get('tasks', 'old')!, nodeId: 'n2' }),
    );
    const ids = async (watch: AsyncIterableIterator<StoreEvent>, count: number) => {
      const seen: string[] = [];
      for (let i = 0; i < count; i += 1) {
        const { value } = await watch.next();
        seen.push(value.type === 'reset' ? 'reset' : `${value.object.id}@${value.version}`);
      }
      return seen;
    };
    expect(await ids(n1, 1)).toEqual(['old@3']);
    expect(await ids(n2, 2)).toEqual(['t2@2', 'old@3']);
    await n1.return?.();
    await n2.return?.();
  });

  it('TaskNodeRouter: a routed watch cannot resume from the past', () => {
    const store = new MemoryStore();
    createTask(store, 1, 't1', 'n1');
    expect(() =>
      store.watch({ fromVersion: 0, route: { router: new TaskNodeRouter(), key: 'n1' } }),
    ).toThrow(/routed watch starts at the current version 1: got 0/);
  });
});
