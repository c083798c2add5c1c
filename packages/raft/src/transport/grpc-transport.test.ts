import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message, RaftId } from '../core/types.js';
import { NotLeaderError } from '../errors.js';
import { GrpcTransport } from './grpc-transport.js';
import type { TransportHandler } from './raft-transport.js';

/** Polls `cond` every 10 ms for at most `ms`. */
async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function recorder(over: Partial<TransportHandler> = {}) {
  const got: Message[] = [];
  const batches: number[] = [];
  const unreachable: RaftId[] = [];
  const handler: TransportHandler = {
    onMessages: (ms) => {
      batches.push(ms.length);
      got.push(...ms);
    },
    onUnreachable: (p) => unreachable.push(p),
    onPropose: async () => 0,
    onReadIndex: async () => 0,
    ...over,
  };
  return { got, batches, unreachable, handler };
}

function hb(from: number, to: number, commit: number): Message {
  return { type: 'heartbeat', from, to, term: 1, commit, context: new Uint8Array() };
}

const open: GrpcTransport[] = [];
async function transport(id: number, peers: Array<[number, string]> = [], listen?: string) {
  const t = await GrpcTransport.create({
    id,
    peers: new Map(peers),
    ...(listen ? { listen } : {}),
    queueCapacity: 64,
  });
  open.push(t);
  return t;
}

afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

describe('GrpcTransport', () => {
  it('GrpcTransport: delivers messages in order, batched, when sent in one turn', async () => {
    const b = await transport(2);
    const a = await transport(1, [[2, `127.0.0.1:${b.port}`]]);
    const rb = recorder();
    b.start(rb.handler);
    a.start(recorder().handler);
    a.send(Array.from({ length: 50 }, (_, i) => hb(1, 2, i)));
    await waitFor(() => rb.got.length === 50);
    expect(rb.got.map((m) => (m.type === 'heartbeat' ? m.commit : -1))).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
    expect(rb.batches).toEqual([50]);
  });

  it('GrpcTransport: reports the peer unreachable and reconnects when the peer restarts', async () => {
    const b = await transport(2);
    const port = b.port;
    const a = await transport(1, [[2, `127.0.0.1:${port}`]]);
    const ra = recorder();
    a.start(ra.handler);
    const rb = recorder();
    b.start(rb.handler);
    a.send([hb(1, 2, 1)]);
    await waitFor(() => rb.got.length === 1);
    await b.close();
    // Keep sending until the broken stream is noticed.
    for (let i = 0; i < 500 && ra.unreachable.length === 0; i++) {
      a.send([hb(1, 2, 2)]);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(ra.unreachable).toContain(2);
    const b2 = await transport(2, [], `127.0.0.1:${port}`);
    const rb2 = recorder();
    b2.start(rb2.handler);
    for (let i = 0; i < 800 && rb2.got.length === 0; i++) {
      a.send([hb(1, 2, 3)]);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(rb2.got.length).toBeGreaterThan(0);
  });

  it('GrpcTransport: drops messages, reports unreachable and logs once when the peer queue is full', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'warn' }, { write: (s: string) => lines.push(JSON.parse(s)) });
    // Messages queued in one turn are flushed together at its end, so 100 sent at once
    // meet a queue of 64.
    const a = await GrpcTransport.create({
      id: 1,
      peers: new Map([[2, '127.0.0.1:1']]),
      queueCapacity: 64,
      logger,
    });
    open.push(a);
    const ra = recorder();
    a.start(ra.handler);
    a.send(Array.from({ length: 100 }, (_, i) => hb(1, 2, i)));
    expect(ra.unreachable).toEqual(Array.from({ length: 36 }, () => 2));
    expect(
      lines.filter((l) => l.msg === 'raft send queue full: dropping messages for peer'),
    ).toEqual([expect.objectContaining({ peer: 2, capacity: 64 })]);
  });

  it('GrpcTransport: forwards a proposal to the leader and returns its index', async () => {
    const seen: string[] = [];
    const leader = await transport(2);
    leader.start(
      recorder({
        onPropose: async (data) => {
          seen.push(Buffer.from(data).toString());
          return 42;
        },
        onReadIndex: async () => 17,
      }).handler,
    );
    const f = await transport(1, [[2, `127.0.0.1:${leader.port}`]]);
    f.start(recorder().handler);
    expect(await f.forwardPropose(2, Buffer.from('put a 1'))).toBe(42);
    expect(await f.forwardReadIndex(2)).toBe(17);
    expect(seen).toEqual(['put a 1']);
  });

  it('GrpcTransport: rebuilds NotLeaderError with the known leader when the target is not leader', async () => {
    const notLeader = await transport(2);
    notLeader.start(
      recorder({
        onPropose: async () => {
          throw new NotLeaderError(3);
        },
      }).handler,
    );
    const f = await transport(1, [[2, `127.0.0.1:${notLeader.port}`]]);
    f.start(recorder().handler);
    const err = await f.forwardPropose(2, Buffer.from('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotLeaderError);
    expect(err).toMatchObject({ code: 'SHOAL_RAFT_NOT_LEADER', leaderId: 3 });
  });

  it('GrpcTransport: rejects with the abort reason when the caller aborts a forward', async () => {
    const slow = await transport(2);
    slow.start(
      recorder({
        onPropose: (_d, signal) =>
          new Promise((_r, rej) => signal.addEventListener('abort', () => rej(signal.reason))),
      }).handler,
    );
    const f = await transport(1, [[2, `127.0.0.1:${slow.port}`]]);
    f.start(recorder().handler);
    const ac = new AbortController();
    const p = f.forwardPropose(2, Buffer.from('x'), { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('client gave up')), 50);
    await expect(p).rejects.toThrow('client gave up');
  });
});
