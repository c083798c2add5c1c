import { pb } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../store/memory-store.js';
import type { StoreEvent } from '../store/store-watch.js';
import { NodeEventFilter } from './node-event-filter.js';

function taskEvent(type: 'create' | 'update' | 'delete', id: string, nodeId: string): StoreEvent {
  return { type, table: 'tasks', object: pb.Task.fromPartial({ id, nodeId }), version: 1 };
}

describe('NodeEventFilter', () => {
  it('NodeEventFilter: lets through a task until the event that takes it off the node', () => {
    const filter = new NodeEventFilter('n1', new MemoryStore());
    const seen = [
      taskEvent('create', 't1', 'n2'),
      taskEvent('update', 't1', 'n1'),
      taskEvent('update', 't1', 'n1'),
      taskEvent('update', 't1', 'n2'),
      taskEvent('update', 't1', 'n2'),
      taskEvent('create', 't2', 'n1'),
      taskEvent('delete', 't2', 'n1'),
      taskEvent('delete', 't2', 'n1'),
    ].map(filter.accept);
    expect(seen).toEqual([false, true, true, true, false, true, true, false]);
  });

  it('NodeEventFilter: knows the tasks bound to the node when the watch starts', () => {
    const store = new MemoryStore();
    store.apply(1, {
      proposalId: 'p1',
      actions: [
        {
          kind: pb.StoreAction_Kind.KIND_CREATE,
          object: {
            object: { $case: 'task', task: pb.Task.fromPartial({ id: 't1', nodeId: 'n1' }) },
          },
        },
      ],
    });
    const filter = new NodeEventFilter('n1', store);
    expect(filter.accept(taskEvent('update', 't1', 'n2'))).toBe(true);
    expect(filter.accept({ type: 'reset', version: 2 })).toBe(true);
    expect(
      filter.accept({
        type: 'update',
        table: 'nodes',
        object: pb.Node.fromPartial({ id: 'n1' }),
        version: 3,
      }),
    ).toBe(false);
  });
});
