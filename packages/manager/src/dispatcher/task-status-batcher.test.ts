import { pb } from '@shoal/api';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { type ClusterStore, LocalClusterStore } from '../store/cluster-store.js';
import { MemoryStore } from '../store/memory-store.js';
import type { StoreTx } from '../store/store-batch.js';
import { ManualClock } from './manual-clock.js';
import { TaskStatusBatcher } from './task-status-batcher.js';

const RUNNING = pb.TaskState.TASK_STATE_RUNNING;

/** A store whose writes wait until the test lets them through, counting them. */
class GatedStore implements ClusterStore {
  readonly #inner: LocalClusterStore;
  writes = 0;
  readonly #releases: (() => void)[] = [];

  constructor(inner: LocalClusterStore) {
    this.#inner = inner;
  }

  get state(): MemoryStore {
    return this.#inner.state;
  }

  barrier(): Promise<void> {
    return this.#inner.barrier();
  }

  watch(options?: Parameters<ClusterStore['watch']>[0]) {
    return this.#inner.watch(options);
  }

  async update(build: (tx: StoreTx) => void): Promise<void> {
    this.writes += 1;
    await new Promise<void>((resolve) => {
      this.#releases.push(resolve);
    });
    await this.#inner.update(build);
  }

  /** Lets the oldest write in flight finish, and what it started run. */
  async release(): Promise<void> {
    this.#releases.shift()?.();
    for (let i = 0; i < 10; i += 1) await Promise.resolve();
  }
}

async function setup(concurrency = 1, batchSize = 1000) {
  const inner = new LocalClusterStore(new MemoryStore());
  await inner.update((tx) => {
    for (const id of ['t1', 't2', 't3']) {
      tx.create('tasks', pb.Task.fromPartial({ id, nodeId: 'n1', status: { state: 0 } }));
    }
  });
  const store = new GatedStore(inner);
  const clock = new ManualClock();
  const batcher = new TaskStatusBatcher({
    store,
    clock,
    log: pino({ level: 'silent' }),
    flushMs: 100,
    batchSize,
    concurrency,
    capacity: 10_000,
    storeAttempts: 1,
  });
  const report = (taskId: string) =>
    batcher.submit('n1', [{ taskId, status: pb.TaskStatus.fromPartial({ state: RUNNING }) }]);
  return { store, clock, batcher, report };
}

describe('TaskStatusBatcher', () => {
  it('TaskStatusBatcher: writes a report that waited out a flush right after it, not a period later', async () => {
    const { store, clock, report } = await setup();
    const first = report('t1');
    clock.advance(100);
    expect(store.writes).toBe(1);
    clock.advance(50);
    const second = report('t2');
    clock.advance(100);
    expect(store.writes).toBe(1);
    await store.release();
    await first;
    expect(store.writes).toBe(2);
    await store.release();
    await second;
    expect(store.state.get('tasks', 't2')?.status?.state).toBe(RUNNING);
  });

  it('TaskStatusBatcher: gives a report queued during a flush only the rest of its wait', async () => {
    const { store, clock, report } = await setup();
    const first = report('t1');
    clock.advance(100);
    clock.advance(50);
    const second = report('t2');
    clock.advance(20);
    await store.release();
    await first;
    expect(store.writes).toBe(1);
    clock.advance(79);
    expect(store.writes).toBe(1);
    clock.advance(1);
    expect(store.writes).toBe(2);
    await store.release();
    await second;
  });

  it('TaskStatusBatcher: proposes the next full batch while one waits for its commit, up to the limit', async () => {
    const { store, report } = await setup(2, 1);
    const done = [report('t1'), report('t2'), report('t3')];
    expect(store.writes).toBe(2);
    await store.release();
    expect(store.writes).toBe(3);
    await store.release();
    await store.release();
    await Promise.all(done);
    expect(store.state.get('tasks', 't3')?.status?.state).toBe(RUNNING);
  });
});
