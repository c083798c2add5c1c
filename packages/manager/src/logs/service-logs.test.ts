import { pb, ShoalError } from '@shoal/api';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LocalClusterStore } from '../store/cluster-store.js';
import { MemoryStore } from '../store/memory-store.js';
import { LogBroker } from './log-broker.js';
import { logTargets, ServiceLogs } from './service-logs.js';

const S = pb.TaskState;

async function storeWithTasks(): Promise<LocalClusterStore> {
  const store = new LocalClusterStore(new MemoryStore());
  await store.update((tx) => {
    tx.create(
      'services',
      pb.Service.fromPartial({ id: 'svc1', spec: { annotations: { name: 'web' } } }),
    );
    tx.create(
      'services',
      pb.Service.fromPartial({ id: 'svc2', spec: { annotations: { name: 'db' } } }),
    );
    const task = (
      id: string,
      serviceId: string,
      slot: number,
      nodeId: string,
      state: pb.TaskState,
    ) =>
      tx.create('tasks', pb.Task.fromPartial({ id, serviceId, slot, nodeId, status: { state } }));
    task('t2', 'svc1', 2, 'n2', S.TASK_STATE_RUNNING);
    task('t1', 'svc1', 1, 'n1', S.TASK_STATE_SHUTDOWN);
    task('t3', 'svc1', 3, '', S.TASK_STATE_PENDING);
    task('t4', 'svc2', 1, 'n1', S.TASK_STATE_RUNNING);
  });
  return store;
}

const request = (partial: Partial<pb.ServiceLogsRequest>) =>
  pb.ServiceLogsRequest.fromPartial(partial);

describe('logTargets', () => {
  it('logTargets: lists a service’s tasks that were given to a node, by slot', async () => {
    const store = await storeWithTasks();
    expect(logTargets(store, request({ service: 'web' }))).toEqual([
      { taskId: 't1', nodeId: 'n1' },
      { taskId: 't2', nodeId: 'n2' },
    ]);
  });

  it('logTargets: names one task when a task is asked for', async () => {
    const store = await storeWithTasks();
    expect(logTargets(store, request({ task: 't4' }))).toEqual([{ taskId: 't4', nodeId: 'n1' }]);
  });

  it('logTargets: refuses an unknown service with NOT_FOUND', async () => {
    const store = await storeWithTasks();
    const error = (() => {
      try {
        logTargets(store, request({ service: 'nope' }));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ShoalError);
    expect(error).toMatchObject({
      code: 'SHOAL_NOT_FOUND',
      message: 'Read logs: no such service: "nope"',
    });
  });
});

describe('ServiceLogs', () => {
  async function drain(logs: ServiceLogs, r: pb.ServiceLogsRequest): Promise<pb.LogMessage[]> {
    const out: pb.LogMessage[] = [];
    for await (const m of logs.read(r, new AbortController().signal)) out.push(m);
    return out;
  }

  it('ServiceLogs: a follower without forward refuses with UNAVAILABLE', async () => {
    const logs = new ServiceLogs({ store: await storeWithTasks(), broker: () => undefined });
    await expect(drain(logs, request({ service: 'web' }))).rejects.toMatchObject({
      code: 'SHOAL_UNAVAILABLE',
      message: 'Read logs: this manager is not the leader: ask the leader',
    });
  });

  it('ServiceLogs: a follower forwards the request to the leader', async () => {
    const seen: pb.ServiceLogsRequest[] = [];
    const line = pb.LogMessage.fromPartial({ taskId: 't2', data: Buffer.from('x') });
    const logs = new ServiceLogs({
      store: await storeWithTasks(),
      broker: () => undefined,
      forward: async function* (r) {
        seen.push(r);
        yield line;
      },
    });
    expect(await drain(logs, request({ service: 'web', follow: true }))).toEqual([line]);
    expect(seen).toEqual([request({ service: 'web', follow: true })]);
  });

  it('ServiceLogs: the leader ends at once when no task has a node', async () => {
    const store = new LocalClusterStore(new MemoryStore());
    await store.update((tx) =>
      tx.create(
        'services',
        pb.Service.fromPartial({ id: 's', spec: { annotations: { name: 'x' } } }),
      ),
    );
    const broker = new LogBroker({ log: pino({ level: 'silent' }) });
    const logs = new ServiceLogs({ store, broker: () => broker });
    expect(await drain(logs, request({ service: 'x' }))).toEqual([]);
  });

  it('ServiceLogs: refuses a request naming neither a service nor a task', async () => {
    const logs = new ServiceLogs({ store: await storeWithTasks(), broker: () => undefined });
    await expect(drain(logs, request({}))).rejects.toMatchObject({
      code: 'SHOAL_INVALID_ARGUMENT',
      message: 'Read logs: no service or task named: give one',
    });
  });
});
