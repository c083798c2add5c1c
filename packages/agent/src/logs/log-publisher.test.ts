import * as grpc from '@grpc/grpc-js';
import { pb } from '@shoal/api';
import {
  ControlApi,
  controlService,
  Dispatcher,
  LocalClusterStore,
  MemoryStore,
  ServiceLogs,
} from '@shoal/manager';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentSession } from '../session/agent-session.js';
import type { LogLine } from './docker-log-frames.js';
import { LogPublisher } from './log-publisher.js';
import type { TaskLogReadOptions, TaskLogSource } from './task-log-source.js';

const log = pino({ level: 'silent' });
const RUNNING = pb.TaskState.TASK_STATE_RUNNING;

/** Lines per task; with follow, more come from `more` until the read is aborted. */
class FakeLogSource implements TaskLogSource {
  readonly lines = new Map<string, string[]>();
  readonly reads: Array<{ taskId: string; follow: boolean; tail: number }> = [];
  aborted = 0;

  async *read(taskId: string, options: TaskLogReadOptions): AsyncIterable<readonly LogLine[]> {
    this.reads.push({ taskId, follow: options.follow, tail: options.tail });
    const all = this.lines.get(taskId);
    if (!all) throw new Error(`Read logs: no container for task "${taskId}" on this node`);
    const lines = options.tail >= 0 ? all.slice(-options.tail) : all;
    // Two batches, as two engine reads would give.
    const mid = Math.ceil(lines.length / 2);
    for (const batch of [lines.slice(0, mid), lines.slice(mid)]) {
      yield batch.map((text) => ({
        stream: 'stdout' as const,
        timestamp: new Date(1_000),
        data: Buffer.from(text),
      }));
    }
    if (!options.follow) return;
    await new Promise<void>((resolve) => {
      if (options.signal.aborted) resolve();
      options.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    this.aborted++;
  }
}

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

/** A leader (dispatcher + Control service) over insecure gRPC and one agent, w1. */
async function setUp() {
  const store = new LocalClusterStore(new MemoryStore());
  await store.update((tx) => {
    tx.create('nodes', pb.Node.fromPartial({ id: 'w1' }));
    tx.create(
      'services',
      pb.Service.fromPartial({ id: 'svc1', spec: { annotations: { name: 'web' } } }),
    );
    for (const [id, slot] of [
      ['t1', 1],
      ['t2', 2],
    ] as const) {
      tx.create(
        'tasks',
        pb.Task.fromPartial({
          id,
          serviceId: 'svc1',
          slot,
          nodeId: 'w1',
          status: { state: RUNNING },
        }),
      );
    }
    tx.create(
      'tasks',
      pb.Task.fromPartial({
        id: 't3',
        serviceId: 'svc1',
        slot: 3,
        status: { state: pb.TaskState.TASK_STATE_PENDING },
      }),
    );
  });
  const dispatcher = await Dispatcher.create({
    store,
    identify: () => ({ nodeId: 'w1', role: 'worker' }),
    managers: () => [],
    leaderAddr: () => undefined,
    log,
  });
  const control = new ControlApi({ store, newJoinToken: () => 'x', now: () => new Date() });
  const logs = new ServiceLogs({ store, broker: () => dispatcher.logs });
  const server = new grpc.Server();
  server.addService(pb.DispatcherService, dispatcher.service());
  server.addService(
    pb.ControlService,
    controlService(() => control, log, { logs: () => logs }),
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  const addr = `127.0.0.1:${port}`;
  cleanups.push(() => server.forceShutdown());
  await dispatcher.start();
  cleanups.push(() => dispatcher.stop());
  const credentials = grpc.credentials.createInsecure();
  const session = await AgentSession.start({
    managers: [addr],
    credentials,
    description: pb.NodeDescription.fromPartial({ hostname: 'w1' }),
    log,
  });
  cleanups.push(() => session.close());
  const source = new FakeLogSource();
  const publisher = LogPublisher.start({ session, credentials, source, log });
  cleanups.push(() => publisher.close());
  const client = new pb.ControlClient(addr, credentials);
  cleanups.push(() => client.close());
  await until(() => dispatcher.sessionCount === 1 && session.sessionId !== undefined);
  return { dispatcher, source, publisher, client };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error('until: condition not met in 2 s');
}

function text(messages: pb.LogMessage[]): string[] {
  return messages.map((m) => `${m.taskId}@${m.nodeId} ${Buffer.from(m.data).toString()}`).sort();
}

describe('LogPublisher', () => {
  it('LogPublisher: a service’s logs reach the Control caller and the call ends when not following', async () => {
    const { source, client } = await setUp();
    source.lines.set('t1', ['one', 'two']);
    source.lines.set('t2', ['three']);
    const got: pb.LogMessage[] = [];
    for await (const m of client.serviceLogs(
      pb.ServiceLogsRequest.fromPartial({ service: 'web', tail: -1 }),
    ) as AsyncIterable<pb.LogMessage>) {
      got.push(m);
    }
    expect(text(got)).toEqual(['t1@w1 one', 't1@w1 two', 't2@w1 three']);
    expect(got[0]!.timestamp).toEqual(new Date(1_000));
    expect(source.reads.map((r) => r.taskId).sort()).toEqual(['t1', 't2']);
  });

  it('LogPublisher: passes tail and one task when a task is named', async () => {
    const { source, client } = await setUp();
    source.lines.set('t1', ['a', 'b', 'c']);
    const got: pb.LogMessage[] = [];
    for await (const m of client.serviceLogs(
      pb.ServiceLogsRequest.fromPartial({ task: 't1', tail: 2 }),
    ) as AsyncIterable<pb.LogMessage>) {
      got.push(m);
    }
    expect(text(got)).toEqual(['t1@w1 b', 't1@w1 c']);
    expect(source.reads).toEqual([{ taskId: 't1', follow: false, tail: 2 }]);
  });

  it('LogPublisher: still ends the call when a task has no container on its node', async () => {
    const { source, client } = await setUp();
    source.lines.set('t1', ['a']);
    const got: pb.LogMessage[] = [];
    for await (const m of client.serviceLogs(
      pb.ServiceLogsRequest.fromPartial({ service: 'web', tail: -1 }),
    ) as AsyncIterable<pb.LogMessage>) {
      got.push(m);
    }
    expect(text(got)).toEqual(['t1@w1 a']);
  });

  it('LogPublisher: cancelling a follow stops the node’s reads', async () => {
    const { source, client, dispatcher, publisher } = await setUp();
    source.lines.set('t1', ['a']);
    source.lines.set('t2', ['b']);
    const call = client.serviceLogs(
      pb.ServiceLogsRequest.fromPartial({ service: 'web', follow: true, tail: -1 }),
    );
    const got: pb.LogMessage[] = [];
    await new Promise<void>((resolve) => {
      call.on('data', (m: pb.LogMessage) => {
        got.push(m);
        if (got.length === 2) resolve();
      });
    });
    call.on('error', () => {});
    expect(text(got)).toEqual(['t1@w1 a', 't2@w1 b']);
    call.cancel();
    await until(() => source.aborted === 2);
    await until(() => publisher.activeCount === 0 && dispatcher.logs.subscriptionCount === 0);
  });

  it('LogPublisher: refuses an unknown service with NOT_FOUND', async () => {
    const { client } = await setUp();
    const call = client.serviceLogs(
      pb.ServiceLogsRequest.fromPartial({ service: 'nope', tail: -1 }),
    );
    const error = await new Promise<grpc.ServiceError>((resolve) => {
      call.on('data', () => {});
      call.on('error', resolve);
    });
    expect(error.code).toBe(grpc.status.NOT_FOUND);
    expect(error.details).toBe('Read logs: no such service: "nope"');
  });
});
