import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { pb } from '@shoal/api';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Dispatcher } from '../dispatcher/dispatcher.js';
import type { CallerIdentity } from '../dispatcher/dispatcher-options.js';
import { LocalClusterStore } from '../store/cluster-store.js';
import { MemoryStore } from '../store/memory-store.js';

/** A server call as grpc-js hands it to a handler, recording writes and the status. */
class FakeCall<Req> extends EventEmitter {
  readonly written: unknown[] = [];
  status: Partial<grpc.ServiceError> | 'ok' | undefined;
  cancelled = false;
  writableEnded = false;
  readonly identity: CallerIdentity = { nodeId: 'w1', role: 'worker' };

  constructor(readonly request: Req) {
    super();
    this.on('error', (status: Partial<grpc.ServiceError>) => {
      this.status = status;
      this.writableEnded = true;
    });
  }
  getPeer(): string {
    return '10.0.0.7:1';
  }
  write(message: unknown): boolean {
    this.written.push(message);
    return true;
  }
  end(): void {
    this.writableEnded = true;
    this.status ??= 'ok';
  }
  pause(): void {}
  resume(): void {}
}

let dispatcher: Dispatcher | undefined;
afterEach(() => dispatcher?.stop());

async function leader(): Promise<{ service: pb.DispatcherServer; sessionId: string }> {
  const store = new LocalClusterStore(new MemoryStore());
  await store.update((tx) => tx.create('nodes', pb.Node.fromPartial({ id: 'w1' })));
  dispatcher = await Dispatcher.create({
    store,
    identify: (call) => (call as unknown as { identity?: CallerIdentity }).identity,
    managers: () => [],
    leaderAddr: () => '10.0.0.1:2377',
    log: pino({ level: 'silent' }),
  });
  await dispatcher.start();
  const service = dispatcher.service();
  const session = new FakeCall(pb.SessionRequest.fromPartial({}));
  service.session(session as never);
  for (let i = 0; i < 50 && session.written.length === 0; i++)
    await new Promise((r) => setImmediate(r));
  return { service, sessionId: (session.written[0] as pb.SessionMessage).sessionId };
}

describe('Dispatcher log RPCs', () => {
  it('LogSubscriptions: refuses a session that is not the node’s current one', async () => {
    const { service } = await leader();
    const call = new FakeCall(pb.LogSubscriptionsRequest.fromPartial({ sessionId: 'old' }));
    service.logSubscriptions(call as never);
    expect(call.status).toMatchObject({ code: 5 /* NOT_FOUND */ });
  });

  it('LogSubscriptions: carries the broker’s subscriptions to the node and detaches when cancelled', async () => {
    const { service, sessionId } = await leader();
    const call = new FakeCall(pb.LogSubscriptionsRequest.fromPartial({ sessionId }));
    service.logSubscriptions(call as never);
    const lines = dispatcher!.logs.subscribe({
      targets: [{ taskId: 't1', nodeId: 'w1' }],
      follow: true,
    });
    expect(call.written).toMatchObject([{ taskIds: ['t1'], follow: true, close: false }]);
    call.cancelled = true;
    call.emit('cancelled');
    dispatcher!.logs.close();
    for await (const _ of lines) expect.unreachable();
  });

  it('PublishLogs: refuses lines on a stale session with NOT_FOUND', async () => {
    const { service } = await leader();
    const call = new FakeCall(undefined);
    const result = new Promise<grpc.ServiceError | null>((resolve) =>
      service.publishLogs(call as never, (error) => resolve(error as grpc.ServiceError | null)),
    );
    call.emit('data', pb.PublishLogsMessage.fromPartial({ sessionId: 'old', subscriptionId: 'x' }));
    call.emit('end');
    expect(await result).toMatchObject({ code: 5 });
  });

  it('PublishLogs: answers OK at the end of a stream on the current session', async () => {
    const { service, sessionId } = await leader();
    const call = new FakeCall(undefined);
    const result = new Promise<unknown>((resolve) =>
      service.publishLogs(call as never, (error, response) => resolve(error ?? response)),
    );
    call.emit(
      'data',
      pb.PublishLogsMessage.fromPartial({ sessionId, subscriptionId: 'gone', close: true }),
    );
    call.emit('end');
    expect(await result).toEqual({});
  });
});
