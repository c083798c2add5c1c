import { pb } from '@shoal/api';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { BoundedQueue } from './bounded-queue.js';
import { LogBroker } from './log-broker.js';

const log = pino({ level: 'silent' });

function line(taskId: string, text: string): pb.LogMessage {
  return {
    taskId,
    nodeId: '',
    serviceId: 's',
    timestamp: new Date(0),
    stream: pb.LogMessage_Stream.STREAM_STDOUT,
    data: Buffer.from(text),
  };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function publish(
  subscriptionId: string,
  messages: pb.LogMessage[],
  close = false,
): pb.PublishLogsMessage {
  return { sessionId: 'x', subscriptionId, messages, close, error: '' };
}

describe('BoundedQueue', () => {
  it('BoundedQueue: push waits when the queue is full', async () => {
    const q = new BoundedQueue<number>(1);
    await q.push(1);
    let second = false;
    const pushed = q.push(2).then(() => {
      second = true;
    });
    await Promise.resolve();
    expect(second).toBe(false);
    const it = q[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe(1);
    await pushed;
    expect(second).toBe(true);
    q.end();
    expect((await it.next()).value).toBe(2);
    expect((await it.next()).done).toBe(true);
  });

  it('BoundedQueue: close drops items and releases waiting producers when the consumer leaves', async () => {
    const q = new BoundedQueue<number>(1);
    await q.push(1);
    const waiting = q.push(2);
    q.close();
    expect(await waiting).toBe(false);
    expect(q.size).toBe(0);
  });

  it('BoundedQueue: rejects a capacity below one', () => {
    expect(() => new BoundedQueue(0)).toThrow(
      new RangeError('Create queue: capacity must be a positive integer: got 0'),
    );
  });
});

describe('LogBroker', () => {
  it('LogBroker: asks each node for its tasks and ends when every node is done without follow', async () => {
    const broker = new LogBroker({ log });
    const asked: Array<[string, pb.LogSubscription]> = [];
    broker.attachNode('n1', (s) => asked.push(['n1', s]));
    broker.attachNode('n2', (s) => asked.push(['n2', s]));
    const lines = collect(
      broker.subscribe({
        targets: [
          { taskId: 't1', nodeId: 'n1' },
          { taskId: 't2', nodeId: 'n2' },
          { taskId: 't3', nodeId: 'n1' },
        ],
        tail: 10,
      }),
    );
    expect(asked.map(([n, s]) => [n, s.taskIds, s.tail, s.follow])).toEqual([
      ['n1', ['t1', 't3'], 10, false],
      ['n2', ['t2'], 10, false],
    ]);
    const id = asked[0]![1].id;
    await broker.publish('n1', publish(id, [line('t1', 'a'), line('t3', 'b')], true));
    await broker.publish('n2', publish(id, [line('t2', 'c')], true));
    const got = await lines;
    expect(got.map((m) => [m.nodeId, m.taskId, Buffer.from(m.data).toString()])).toEqual([
      ['n1', 't1', 'a'],
      ['n1', 't3', 'b'],
      ['n2', 't2', 'c'],
    ]);
    expect(broker.subscriptionCount).toBe(0);
  });

  it('LogBroker: drops lines of tasks the node was not asked for when a node publishes them', async () => {
    const broker = new LogBroker({ log });
    let id = '';
    broker.attachNode('n1', (s) => {
      id = s.id;
    });
    const lines = collect(broker.subscribe({ targets: [{ taskId: 't1', nodeId: 'n1' }] }));
    await broker.publish('n2', publish(id, [line('t1', 'x')], true));
    await broker.publish('n1', publish(id, [line('t9', 'y'), line('t1', 'z')], true));
    expect((await lines).map((m) => Buffer.from(m.data).toString())).toEqual(['z']);
  });

  it('LogBroker: counts a node without a stream as done when not following', async () => {
    const broker = new LogBroker({ log });
    expect(
      await collect(broker.subscribe({ targets: [{ taskId: 't1', nodeId: 'gone' }] })),
    ).toEqual([]);
  });

  it('LogBroker: tells the nodes to stop when the subscriber aborts a follow', async () => {
    const broker = new LogBroker({ log });
    const asked: pb.LogSubscription[] = [];
    broker.attachNode('n1', (s) => asked.push(s));
    const controller = new AbortController();
    const lines = collect(
      broker.subscribe({
        targets: [{ taskId: 't1', nodeId: 'n1' }],
        follow: true,
        signal: controller.signal,
      }),
    );
    await broker.publish('n1', publish(asked[0]!.id, [line('t1', 'a')]));
    controller.abort();
    await lines;
    expect(asked.map((s) => s.close)).toEqual([false, true]);
    expect(broker.subscriptionCount).toBe(0);
  });

  it('LogBroker: hands open follow subscriptions to a node when it attaches again', async () => {
    const broker = new LogBroker({ log });
    const first: pb.LogSubscription[] = [];
    const detach = broker.attachNode('n1', (s) => first.push(s));
    const controller = new AbortController();
    const lines = collect(
      broker.subscribe({
        targets: [{ taskId: 't1', nodeId: 'n1' }],
        follow: true,
        signal: controller.signal,
      }),
    );
    detach();
    const second: pb.LogSubscription[] = [];
    broker.attachNode('n1', (s) => second.push(s));
    expect(second.map((s) => [s.id, s.taskIds])).toEqual([[first[0]!.id, ['t1']]]);
    controller.abort();
    await lines;
  });

  it('LogBroker: a slow subscriber makes the publisher wait when the queue is full', async () => {
    const broker = new LogBroker({ log, capacity: 1 });
    let id = '';
    broker.attachNode('n1', (s) => {
      id = s.id;
    });
    const it = broker
      .subscribe({ targets: [{ taskId: 't1', nodeId: 'n1' }] })
      [Symbol.asyncIterator]();
    let isPublished = false;
    const published = broker
      .publish('n1', publish(id, [line('t1', 'a'), line('t1', 'b')], true))
      .then(() => {
        isPublished = true;
      });
    await new Promise((resolve) => setImmediate(resolve));
    expect(isPublished).toBe(false);
    expect(Buffer.from((await it.next()).value.data).toString()).toBe('a');
    await published;
    expect(Buffer.from((await it.next()).value.data).toString()).toBe('b');
    expect((await it.next()).done).toBe(true);
  });

  it('LogBroker: ends every subscription when closed', async () => {
    const broker = new LogBroker({ log });
    broker.attachNode('n1', () => {});
    const lines = collect(
      broker.subscribe({ targets: [{ taskId: 't1', nodeId: 'n1' }], follow: true }),
    );
    broker.close();
    expect(await lines).toEqual([]);
  });
});
