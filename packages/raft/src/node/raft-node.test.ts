import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodePut, KvStore } from '../bench/kv-store.js';
import { NotLeaderError, RaftStoppedError } from '../errors.js';
import { GrpcTransport } from '../transport/grpc-transport.js';
import { RaftNode } from './raft-node.js';

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Member {
  id: number;
  dir: string;
  transport: GrpcTransport;
  kv: KvStore;
  node: RaftNode<number>;
}

const ids = [1, 2, 3];
let root: string;
let ports = new Map<number, number>();
let members: Member[] = [];

async function startMember(
  id: number,
  opts: { snapshotEvery?: number; retainEntries?: number } = {},
): Promise<Member> {
  const peers = new Map(ids.filter((p) => p !== id).map((p) => [p, `127.0.0.1:${ports.get(p)}`]));
  const transport = await GrpcTransport.create({
    id,
    peers,
    listen: `127.0.0.1:${ports.get(id) ?? 0}`,
  });
  const kv = new KvStore();
  const dir = join(root, `m${id}`);
  const node = await RaftNode.create({
    id,
    peers: ids,
    dataDir: dir,
    transport,
    stateMachine: kv,
    tickMs: 20,
    requestTimeoutMs: 3000,
    ...opts,
  });
  const m = { id, dir, transport, kv, node };
  members = members.filter((x) => x.id !== id);
  members.push(m);
  return m;
}

async function stopMember(m: Member, transfer = false): Promise<void> {
  await m.node.stop({ transferLeadership: transfer });
  await m.transport.close();
  members = members.filter((x) => x !== m);
}

async function startCluster(
  opts: { snapshotEvery?: number; retainEntries?: number } = {},
): Promise<void> {
  root = await mkdtemp(join(tmpdir(), 'shoal-raft-node-'));
  // Bind each transport once to learn free ports, then start for real on them.
  ports = new Map();
  for (const id of ids) {
    const t = await GrpcTransport.create({ id });
    ports.set(id, t.port);
    await t.close();
  }
  for (const id of ids) await startMember(id, opts);
}

function leader(): Member | undefined {
  return members.find((m) => m.node.isLeader);
}

const put = (k: string, v: string) => encodePut(Buffer.from(k), Buffer.from(v));

afterEach(async () => {
  for (const m of [...members]) await stopMember(m);
  if (root) await rm(root, { recursive: true, force: true });
});

describe('RaftNode', () => {
  it('RaftNode: elects one leader and applies proposals on every member when proposed on leader and follower', async () => {
    await startCluster();
    await waitFor(() => leader() !== undefined);
    const l = leader()!;
    const f = members.find((m) => m !== l)!;
    await waitFor(() => f.node.leaderId === l.id);
    const i1 = await l.node.propose(put('a', '1'));
    const i2 = await f.node.propose(put('b', '2'));
    expect(i2).toBeGreaterThan(i1);
    await waitFor(() => members.every((m) => m.kv.get(Buffer.from('b'))?.toString() === '2'));
    expect(members.map((m) => m.kv.get(Buffer.from('a'))?.toString())).toEqual(['1', '1', '1']);
    expect(members.filter((m) => m.node.isLeader)).toHaveLength(1);
  });

  it('RaftNode: serves a linearizable read on a follower after a write when using readIndex', async () => {
    await startCluster();
    await waitFor(() => leader() !== undefined);
    const l = leader()!;
    const f = members.find((m) => m !== l)!;
    await waitFor(() => f.node.leaderId === l.id);
    const index = await l.node.propose(put('k', 'v'));
    const read = await f.node.readIndex();
    expect(read).toBeGreaterThanOrEqual(index);
    expect(f.kv.get(Buffer.from('k'))?.toString()).toBe('v');
  });

  it('RaftNode: hands leadership over without waiting for an election timeout when stopped gracefully', async () => {
    await startCluster();
    await waitFor(() => leader() !== undefined);
    const l = leader()!;
    await l.node.propose(put('x', '1'));
    const others = members.filter((m) => m !== l);
    await l.node.stop({ transferLeadership: true });
    // Handed over before stop() returned: a plain stop would leave no leader until an
    // election timeout passed.
    const newLeader = l.node.leaderId;
    expect(newLeader).not.toBe(l.id);
    expect(others.map((m) => m.id)).toContain(newLeader);
    await stopMember(l);
    const next = others.find((m) => m.id === newLeader)!;
    await waitFor(() => next.node.isLeader);
    await expect(next.node.propose(put('y', '2'))).resolves.toBeGreaterThan(0);
  });

  it('RaftNode: recovers its state from the WAL and a snapshot when restarted', async () => {
    await startCluster({ snapshotEvery: 20 });
    await waitFor(() => leader() !== undefined);
    for (let i = 0; i < 50; i++) await leader()!.node.propose(put(`k${i}`, `v${i}`));
    const victim = members.find((m) => !m.node.isLeader)!;
    await waitFor(() => victim.kv.size === 50);
    await stopMember(victim);
    await leader()!.node.propose(put('after', 'restart'));
    const back = await startMember(victim.id, { snapshotEvery: 20 });
    await waitFor(() => back.kv.get(Buffer.from('after'))?.toString() === 'restart');
    expect(back.kv.get(Buffer.from('k0'))?.toString()).toBe('v0');
    expect(back.kv.size).toBe(51);
  });

  it('RaftNode: catches a member up from the leader snapshot when the log it needs was compacted', async () => {
    const opts = { snapshotEvery: 10, retainEntries: 2 };
    await startCluster(opts);
    await waitFor(() => leader() !== undefined);
    await leader()!.node.propose(put('first', '1'));
    const victim = members.find((m) => !m.node.isLeader)!;
    await waitFor(() => victim.kv.get(Buffer.from('first')) !== undefined);
    await stopMember(victim);
    // One at a time, so each proposal is its own entry and the log moves far ahead.
    for (let i = 0; i < 40; i++) await leader()!.node.propose(put(`k${i}`, `v${i}`));
    const l = leader()!;
    expect(l.node.status().firstIndex).toBeGreaterThan(victim.node.status().lastIndex + 1);
    const back = await startMember(victim.id, opts);
    await waitFor(() => back.node.appliedIndex >= l.node.appliedIndex);
    expect(back.kv.get(Buffer.from('k39'))?.toString()).toBe('v39');
    expect(back.kv.get(Buffer.from('first'))?.toString()).toBe('1');
    // Its log now starts after the leader's snapshot, not at the beginning.
    expect(back.node.status().firstIndex).toBeGreaterThan(10);
  });

  it('RaftNode: rejects proposals with RaftStoppedError when the node is stopped', async () => {
    await startCluster();
    const m = members[0]!;
    await stopMember(m);
    const err = await m.node.propose(put('a', 'b')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RaftStoppedError);
    expect(err).not.toBeInstanceOf(NotLeaderError);
  });
});
