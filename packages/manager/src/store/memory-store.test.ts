import { pb } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import { MemoryStore, type WatchRouter } from './memory-store.js';
import { StoreTx } from './store-batch.js';
import { StoreConflictError, WatchCompactedError, WatchOverflowError } from './store-errors.js';
import type { StoreEvent } from './store-watch.js';

function service(id: string, name: string, version = 0): pb.Service {
  return pb.Service.fromPartial({ id, meta: { version }, spec: { annotations: { name } } });
}

function node(id: string, hostname: string): pb.Node {
  return pb.Node.fromPartial({ id, description: { hostname } });
}

/** Applies a transaction the way a Raft entry would: encoded, decoded, at `index`. */
function commit(
  store: MemoryStore,
  index: number,
  build: (tx: StoreTx) => void,
  proposalId = `p${index}`,
) {
  const tx = new StoreTx(store);
  build(tx);
  const wire = pb.StoreBatch.encode(tx.toBatch(proposalId)).finish();
  return store.apply(index, pb.StoreBatch.decode(wire));
}

/** Applies task status reports as a batch of another member would bring them, at `index`. */
function applyReports(
  store: MemoryStore,
  index: number,
  reports: readonly (readonly [string, string, pb.TaskStatus])[],
) {
  const batch: pb.StoreBatch = {
    proposalId: `p${index}`,
    actions: reports.map(([taskId, nodeId, status]) => ({
      kind: pb.StoreAction_Kind.KIND_TASK_STATUS,
      object: undefined,
      taskStatus: { taskId, nodeId, status },
    })),
  };
  return store.apply(index, pb.StoreBatch.decode(pb.StoreBatch.encode(batch).finish()));
}

async function take(iterator: AsyncIterator<StoreEvent>, count: number): Promise<StoreEvent[]> {
  const events: StoreEvent[] = [];
  for (let i = 0; i < count; i++) {
    const next = await iterator.next();
    if (next.done) break;
    events.push(next.value);
  }
  return events;
}

describe('MemoryStore', () => {
  it('MemoryStore: stamps written objects with the Raft index as their version', () => {
    const store = new MemoryStore();
    expect(commit(store, 3, (tx) => tx.create('services', service('s1', 'web')))).toMatchObject({
      ok: true,
      version: 3,
    });
    expect(store.version).toBe(3);
    expect(store.get('services', 's1')?.meta?.version).toBe(3);
  });

  it('MemoryStore: refuses an update read at an old version and changes nothing', () => {
    const store = new MemoryStore();
    commit(store, 1, (tx) => tx.create('services', service('s1', 'web')));
    commit(store, 2, (tx) =>
      tx.update('services', {
        ...store.get('services', 's1')!,
        spec: { annotations: { name: 'web', labels: { a: '1' } } },
      }),
    );
    const stale = commit(store, 3, (tx) => {
      tx.create('nodes', node('n1', 'lab-m1'));
      tx.update('services', service('s1', 'web', 1));
    });
    expect(stale.ok).toBe(false);
    expect(!stale.ok && stale.error).toBeInstanceOf(StoreConflictError);
    expect(!stale.ok && stale.error.message).toBe(
      'Update service "s1": update out of sequence: read at version 1, stored version is 2',
    );
    expect(store.get('nodes', 'n1')).toBeUndefined();
    expect(store.get('services', 's1')?.spec?.annotations?.labels).toEqual({ a: '1' });
    expect(store.version).toBe(3);
  });

  const conflicts: {
    name: string;
    setup: (tx: StoreTx) => void;
    batch: (tx: StoreTx) => void;
    error: string;
  }[] = [
    {
      name: 'a create of an existing ID',
      setup: (tx) => tx.create('services', service('s1', 'a')),
      batch: (tx) => tx.create('services', service('s1', 'b')),
      error: 'Create service: ID "s1" already exists',
    },
    {
      name: 'an update of a missing object',
      setup: () => {},
      batch: (tx) => tx.update('tasks', pb.Task.fromPartial({ id: 't9' })),
      error: 'Update task: no such task: "t9"',
    },
    {
      name: 'a delete of a missing object',
      setup: () => {},
      batch: (tx) => tx.delete('networks', pb.Network.fromPartial({ id: 'x' })),
      error: 'Delete network: no such network: "x"',
    },
    {
      name: 'a taken service name',
      setup: (tx) => tx.create('services', service('s1', 'web')),
      batch: (tx) => tx.create('services', service('s2', 'web')),
      error: 'Create service: name "web" is already in use by service "s1"',
    },
    {
      name: 'one name claimed twice in a batch',
      setup: () => {},
      batch: (tx) => {
        tx.create('services', service('s1', 'api'));
        tx.create('services', service('s2', 'api'));
      },
      error: 'Create service: name "api" is already in use by service "s1"',
    },
    {
      name: 'an object changed twice in a batch',
      setup: () => {},
      batch: (tx) => {
        tx.create('nodes', node('n1', 'a'));
        tx.create('nodes', node('n1', 'b'));
      },
      error: 'Apply store batch: node "n1" is changed twice in one batch',
    },
  ];
  for (const c of conflicts) {
    it(`MemoryStore: refuses the whole batch for ${c.name}`, () => {
      const store = new MemoryStore();
      commit(store, 1, c.setup);
      const before = store.snapshot();
      const result = commit(store, 2, c.batch);
      expect(result.ok).toBe(false);
      expect(!result.ok && result.error.message).toBe(c.error);
      const after = pb.StoreSnapshot.decode(store.snapshot());
      expect({ ...after, version: 1 }).toEqual(pb.StoreSnapshot.decode(before));
    });
  }

  it('MemoryStore: frees a name when its holder is deleted in the same batch', () => {
    const store = new MemoryStore();
    commit(store, 1, (tx) => tx.create('services', service('s1', 'web')));
    const result = commit(store, 2, (tx) => {
      tx.delete('services', store.get('services', 's1')!);
      tx.create('services', service('s2', 'web'));
    });
    expect(result.ok).toBe(true);
    expect(store.list('services').map((s) => s.id)).toEqual(['s2']);
  });

  it('MemoryStore: ignores a replayed index below its version', () => {
    const store = new MemoryStore();
    commit(store, 5, (tx) => tx.create('nodes', node('n1', 'a')));
    expect(commit(store, 4, (tx) => tx.create('nodes', node('n2', 'b'))).ok).toBe(true);
    expect(store.list('nodes')).toHaveLength(1);
  });

  it('MemoryStore: applies every batch of one Raft entry when proposals share an index', () => {
    const store = new MemoryStore();
    commit(store, 5, (tx) => tx.create('nodes', node('n1', 'a')));
    expect(commit(store, 7, (tx) => tx.create('nodes', node('n2', 'b'))).ok).toBe(true);
    expect(commit(store, 7, (tx) => tx.create('nodes', node('n3', 'c'))).ok).toBe(true);
    expect(
      store
        .list('nodes')
        .map((n) => n.id)
        .sort(),
    ).toEqual(['n1', 'n2', 'n3']);
    // Two updates of one object read at the same version: the second one conflicts.
    const read = store.get('nodes', 'n2')!;
    expect(
      commit(store, 8, (tx) => tx.update('nodes', { ...read, role: pb.NodeRole.NODE_ROLE_MANAGER }))
        .ok,
    ).toBe(true);
    const second = commit(store, 8, (tx) =>
      tx.update('nodes', { ...read, role: pb.NodeRole.NODE_ROLE_WORKER }),
    );
    expect(second.ok).toBe(false);
    expect(store.get('nodes', 'n2')?.role).toBe(pb.NodeRole.NODE_ROLE_MANAGER);
  });

  it('MemoryStore: restores a snapshot to an equal store', () => {
    const store = new MemoryStore();
    commit(store, 1, (tx) => {
      tx.create('nodes', node('n1', 'lab-m1'));
      tx.create('services', service('s1', 'web'));
      tx.create(
        'clusters',
        pb.Cluster.fromPartial({ id: 'c1', spec: { annotations: { name: 'default' } } }),
      );
    });
    commit(store, 2, (tx) =>
      tx.create('tasks', pb.Task.fromPartial({ id: 't1', serviceId: 's1', slot: 1 })),
    );
    const copy = new MemoryStore();
    copy.restore(store.snapshot());
    expect(copy.version).toBe(2);
    expect(copy.snapshot()).toEqual(store.snapshot());
    expect(copy.get('tasks', 't1')?.serviceId).toBe('s1');
  });
});

describe('MemoryStore watches', () => {
  it('watch: delivers changes after the version it started at', async () => {
    const store = new MemoryStore();
    commit(store, 1, (tx) => tx.create('nodes', node('n1', 'a')));
    const watch = store.watch();
    commit(store, 2, (tx) => tx.create('services', service('s1', 'web')));
    commit(store, 3, (tx) => tx.delete('nodes', store.get('nodes', 'n1')!));
    const events = await take(watch, 2);
    await watch.return?.();
    expect(events.map((e) => [e.type, e.version])).toEqual([
      ['create', 2],
      ['delete', 3],
    ]);
  });

  it('watch: resumes from an older version by replaying the history', async () => {
    const store = new MemoryStore();
    for (let i = 1; i <= 5; i++)
      commit(store, i, (tx) => tx.create('nodes', node(`n${i}`, `h${i}`)));
    const watch = store.watch({ fromVersion: 3 });
    const events = await take(watch, 2);
    await watch.return?.();
    expect(events.map((e) => e.type !== 'reset' && e.object.id)).toEqual(['n4', 'n5']);
  });

  it('watch: refuses to resume from before the kept history', () => {
    const store = new MemoryStore({ historyEvents: 2 });
    for (let i = 1; i <= 5; i++)
      commit(store, i, (tx) => tx.create('nodes', node(`n${i}`, `h${i}`)));
    expect(() => store.watch({ fromVersion: 1 })).toThrow(WatchCompactedError);
    expect(() => store.watch({ fromVersion: 1 })).toThrow(
      'Resume watch: version 1 is older than the history kept (from 3): list again and watch from the listed version',
    );
    expect(() => store.watch({ fromVersion: 3 })).not.toThrow();
  });

  it('watch: closes a watcher that lags more than its capacity, after the events it holds', async () => {
    const store = new MemoryStore({ watchCapacity: 2 });
    const watch = store.watch();
    for (let i = 1; i <= 4; i++)
      commit(store, i, (tx) => tx.create('nodes', node(`n${i}`, `h${i}`)));
    expect((await watch.next()).value?.version).toBe(1);
    expect((await watch.next()).value?.version).toBe(2);
    await expect(watch.next()).rejects.toBeInstanceOf(WatchOverflowError);
    expect((await watch.next()).done).toBe(true);
  });

  it('watch: filters events and tells watchers of a restore with a reset', async () => {
    const store = new MemoryStore();
    const watch = store.watch({ filter: (e) => e.type === 'reset' || e.table === 'services' });
    commit(store, 1, (tx) => {
      tx.create('nodes', node('n1', 'a'));
      tx.create('services', service('s1', 'web'));
    });
    const other = new MemoryStore();
    commit(other, 7, (tx) => tx.create('nodes', node('n2', 'b')));
    store.restore(other.snapshot());
    const events = await take(watch, 2);
    await watch.return?.();
    expect(events.map((e) => [e.type, e.version])).toEqual([
      ['create', 1],
      ['reset', 7],
    ]);
  });

  it('watch: a waiting reader wakes on the next change', async () => {
    const store = new MemoryStore();
    const watch = store.watch();
    const pending = watch.next();
    commit(store, 1, (tx) => tx.create('nodes', node('n1', 'a')));
    expect((await pending).value).toMatchObject({ type: 'create', table: 'nodes', version: 1 });
    await watch.return?.();
  });

  // A router keyed by the node's hostname, counting its calls.
  function hostnameRouter() {
    const calls = { reset: 0, keysOf: 0 };
    const router: WatchRouter = {
      reset: () => {
        calls.reset += 1;
      },
      keysOf: (event) => {
        calls.keysOf += 1;
        if (event.type === 'reset') return 'all';
        return event.table === 'nodes' ? [event.object.description?.hostname ?? ''] : [];
      },
    };
    return { router, calls };
  }

  it('watch: a routed watcher gets only the events of its key, and resets', async () => {
    const store = new MemoryStore();
    const { router, calls } = hostnameRouter();
    const a = store.watch({ route: { router, key: 'a' } });
    const b = store.watch({ route: { router, key: 'b' } });
    commit(store, 1, (tx) => {
      tx.create('nodes', node('n1', 'a'));
      tx.create('nodes', node('n2', 'b'));
      tx.create('nodes', node('n3', 'a'));
    });
    const other = new MemoryStore();
    commit(other, 7, (tx) => tx.create('nodes', node('n9', 'b')));
    store.restore(other.snapshot());
    const seen = async (watch: AsyncIterator<StoreEvent>, count: number) =>
      (await take(watch, count)).map((e) => (e.type === 'reset' ? 'reset' : e.object.id));
    expect(await seen(a, 3)).toEqual(['n1', 'n3', 'reset']);
    expect(await seen(b, 2)).toEqual(['n2', 'reset']);
    // Once when routing started, once for the snapshot; one call per event for both.
    expect(calls).toEqual({ reset: 2, keysOf: 3 });
    await a.return?.();
    await b.return?.();
  });

  it('watch: a router without watchers is no longer called', async () => {
    const store = new MemoryStore();
    const { router, calls } = hostnameRouter();
    const a = store.watch({ route: { router, key: 'a' } });
    await a.return?.();
    commit(store, 1, (tx) => tx.create('nodes', node('n1', 'a')));
    expect(calls.keysOf).toBe(0);
    const again = store.watch({ route: { router, key: 'a' } });
    commit(store, 2, (tx) => tx.create('nodes', node('n2', 'a')));
    expect(calls).toEqual({ reset: 2, keysOf: 1 });
    await again.return?.();
  });

  it('MemoryStore: merges task status reports forward only and skips stale ones without a conflict', async () => {
    const { ASSIGNED, STARTING, RUNNING } = {
      ASSIGNED: pb.TaskState.TASK_STATE_ASSIGNED,
      STARTING: pb.TaskState.TASK_STATE_STARTING,
      RUNNING: pb.TaskState.TASK_STATE_RUNNING,
    };
    const store = new MemoryStore();
    const spec = pb.TaskSpec.fromPartial({ container: { image: 'app:v1' } });
    commit(store, 1, (tx) =>
      tx.create(
        'tasks',
        pb.Task.fromPartial({ id: 't1', nodeId: 'n1', spec, status: { state: ASSIGNED } }),
      ),
    );
    const watch = store.watch();
    const report = (state: pb.TaskState) =>
      pb.TaskStatus.fromPartial({ state, message: `report ${state}` });
    expect(commit(store, 2, (tx) => tx.updateTaskStatus('t1', 'n1', report(RUNNING))).ok).toBe(
      true,
    );
    const running = store.get('tasks', 't1')!;
    expect(running.status?.state).toBe(RUNNING);
    expect(running.meta?.version).toBe(2);
    expect(running.spec?.container?.image).toBe('app:v1');
    // Going back, from another node, for a task that does not exist: a proposer's
    // transaction leaves such a report out, and one that became stale on its way through
    // Raft is skipped on apply, not refused.
    const stale = [
      ['t1', 'n1', STARTING],
      ['t1', 'n2', RUNNING],
      ['gone', 'n1', RUNNING],
    ] as const;
    const tx = new StoreTx(store);
    expect(
      stale.map(([taskId, nodeId, state]) => tx.updateTaskStatus(taskId, nodeId, report(state))),
    ).toEqual([false, false, false]);
    expect(tx.isEmpty).toBe(true);
    stale.forEach(([taskId, nodeId, state], i) => {
      expect(applyReports(store, 3 + i, [[taskId, nodeId, report(state)]]).ok).toBe(true);
    });
    expect(store.get('tasks', 't1')).toBe(running);
    const events = await take(watch, 1);
    await watch.return?.();
    expect(events.map((e) => [e.type, e.version])).toEqual([['update', 2]]);
  });

  it('MemoryStore: refuses a batch whose task status report names no task, or one task twice', () => {
    const store = new MemoryStore();
    commit(store, 1, (tx) => tx.create('tasks', pb.Task.fromPartial({ id: 't1', nodeId: 'n1' })));
    const status = pb.TaskStatus.fromPartial({ state: pb.TaskState.TASK_STATE_RUNNING });
    const noTask = applyReports(store, 2, [['', 'n1', status]]);
    expect(noTask.ok ? '' : noTask.error.message).toMatch(/names no task or no status/);
    const twice = applyReports(store, 3, [
      ['t1', 'n1', status],
      ['t1', 'n1', { ...status, message: 'again' }],
    ]);
    expect(twice.ok ? '' : twice.error.message).toMatch(/task "t1" is changed twice in one batch/);
    expect(store.get('tasks', 't1')?.status?.state ?? 0).toBe(0);
  });
});
