// RaftNode over an in-memory transport that can cut members off: proposals lost to a
// partition must fail with ProposalDroppedError, not hang or succeed twice.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodePut, KvStore } from '../bench/kv-store.js';
import type { Message, RaftId } from '../core/types.js';
import { LeaderChangedError, ProposalDroppedError, RaftStoppedError } from '../errors.js';
import type { RaftTransport, TransportHandler } from '../transport/raft-transport.js';
import { RaftNode } from './raft-node.js';

/** Delivers messages between members in one process; `cut` members hear nothing. */
class MemoryNetwork {
  readonly handlers = new Map<RaftId, TransportHandler>();
  readonly cut = new Set<RaftId>();
  /** Members that send but receive nothing. */
  readonly deaf = new Set<RaftId>();

  transport(id: RaftId): RaftTransport {
    return {
      start: (h) => {
        this.handlers.set(id, h);
      },
      send: (msgs: readonly Message[]) => {
        for (const m of msgs) {
          if (this.cut.has(m.from) || this.cut.has(m.to) || this.deaf.has(m.to)) continue;
          const h = this.handlers.get(m.to);
          if (h !== undefined) queueMicrotask(() => h.onMessages([m]));
        }
      },
      forwardPropose: () => Promise.reject(new Error('not used')),
      forwardReadIndex: () => Promise.reject(new Error('not used')),
      close: async () => {
        this.handlers.delete(id);
      },
    };
  }
}

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

let root = '';
let nodes: Array<RaftNode<number>> = [];

afterEach(async () => {
  for (const n of nodes) await n.stop();
  nodes = [];
  if (root) await rm(root, { recursive: true, force: true });
});

describe('RaftNode under partition', () => {
  it('RaftNode: rejects with ProposalDroppedError when a new leader overwrites the entry', async () => {
    root = await mkdtemp(join(tmpdir(), 'shoal-raft-partition-'));
    const net = new MemoryNetwork();
    const ids = [1, 2, 3];
    for (const id of ids) {
      nodes.push(
        await RaftNode.create({
          id,
          peers: ids,
          dataDir: join(root, `m${id}`),
          transport: net.transport(id),
          stateMachine: new KvStore(),
          tickMs: 10,
          requestTimeoutMs: 20_000,
        }),
      );
    }
    await waitFor(() => nodes.some((n) => n.isLeader));
    const old = nodes.find((n) => n.isLeader)!;
    await old.propose(encodePut(Buffer.from('a'), Buffer.from('1')));
    net.cut.add(old.id);
    const lost = old.propose(encodePut(Buffer.from('lost'), Buffer.from('x')));
    const others = nodes.filter((n) => n !== old);
    await waitFor(() => others.some((n) => n.isLeader));
    const next = others.find((n) => n.isLeader)!;
    await next.propose(encodePut(Buffer.from('b'), Buffer.from('2')));
    net.cut.delete(old.id);
    const err = await lost.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProposalDroppedError);
    expect((err as Error).message).toMatch(/was overwritten by a new leader before it committed/);
  });
});

describe('RaftNode forwarding across a leader change', () => {
  it('RaftNode: fails a proposal forwarded to a leader that was cut off and asks the new leader again for a read, once another leads', async () => {
    root = await mkdtemp(join(tmpdir(), 'shoal-raft-forward-'));
    const net = new MemoryNetwork();
    const ids = [1, 2, 3];
    for (const id of ids) {
      nodes.push(
        await RaftNode.create({
          id,
          peers: ids,
          dataDir: join(root, `m${id}`),
          transport: net.transport(id),
          stateMachine: new KvStore(),
          tickMs: 10,
          requestTimeoutMs: 20_000,
        }),
      );
    }
    await waitFor(() => nodes.some((n) => n.isLeader));
    const old = nodes.find((n) => n.isLeader)!;
    const follower = nodes.find((n) => !n.isLeader)!;
    await waitFor(() => follower.leaderId === old.id);
    // As a frozen host: the leader hears nothing and says nothing.
    net.cut.add(old.id);
    const started = Date.now();
    const forwarded = follower.propose(encodePut(Buffer.from('f'), Buffer.from('1')));
    const read = follower.readIndex();
    const err = await forwarded.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaderChangedError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `forwarded to leader ${old.id}, which member \\d+ replaced .*outcome unknown, retry`,
      ),
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    // A read, which changes nothing, is asked of the new leader again instead.
    expect(await read).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    // The member retried at once lands its write through the new leader.
    await follower.propose(encodePut(Buffer.from('f'), Buffer.from('2')));
  });
});

/** A KvStore that remembers at which index each key was last written. */
class RecordingKv extends KvStore {
  readonly appliedAt = new Map<string, number>();
  override apply(data: Uint8Array, index: number): number {
    const klen = Buffer.from(data).readUInt16LE(0);
    this.appliedAt.set(
      Buffer.from(data)
        .subarray(2, 2 + klen)
        .toString(),
      index,
    );
    return super.apply(data, index);
  }
}

describe('RaftNode restarts', () => {
  it('RaftNode: does not settle a new proposal with its own entry from before a restart', async () => {
    root = await mkdtemp(join(tmpdir(), 'shoal-raft-restart-'));
    const net = new MemoryNetwork();
    const ids = [1, 2, 3];
    const start = (id: number, sm: KvStore) =>
      RaftNode.create({
        id,
        peers: ids,
        dataDir: join(root, `m${id}`),
        transport: net.transport(id),
        stateMachine: sm,
        tickMs: 10,
        requestTimeoutMs: 20_000,
      });
    const kvs = new Map(ids.map((id) => [id, new RecordingKv()]));
    for (const id of ids) nodes.push(await start(id, kvs.get(id)!));
    await waitFor(() => nodes.some((n) => n.isLeader));
    const f = nodes.find((n) => !n.isLeader)!;
    await waitFor(() => f.leaderId !== 0);
    // The follower's first proposal reaches the leader and commits, but the follower
    // hears nothing back before it stops.
    net.deaf.add(f.id);
    const lost = f.propose(encodePut(Buffer.from('x'), Buffer.from('old run'))).catch((e) => e);
    const l = nodes.find((n) => n.isLeader)!;
    await waitFor(() => kvs.get(l.id)!.appliedAt.has('x'));
    await f.stop();
    expect(await lost).toBeInstanceOf(RaftStoppedError);
    nodes = nodes.filter((n) => n !== f);
    const kv = new RecordingKv();
    const again = await start(f.id, kv);
    nodes.push(again);
    // Propose the moment the restarted member learns the leader: its old entry for x
    // arrives (and is applied) right after, while the new proposal is pending.
    const mine = new Promise<number>((resolve, reject) => {
      const off = again.onEvent((e) => {
        if (e.type !== 'leaderChanged' || e.leaderId === 0) return;
        off();
        again.propose(encodePut(Buffer.from('y'), Buffer.from('new run'))).then(resolve, reject);
      });
    });
    net.deaf.delete(f.id);
    const index = await mine;
    expect(kv.appliedAt.get('x')).toBeGreaterThan(0);
    expect(index).toBe(kv.appliedAt.get('y'));
  });
});
