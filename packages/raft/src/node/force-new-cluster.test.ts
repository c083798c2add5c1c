import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodePut, KvStore } from '../bench/kv-store.js';
import { GrpcTransport } from '../transport/grpc-transport.js';
import { RaftNode } from './raft-node.js';

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const open: { node: RaftNode<number>; transport: GrpcTransport }[] = [];
let root = '';

afterEach(async () => {
  for (const { node, transport } of open.splice(0)) {
    await node.stop();
    await transport.close();
  }
  if (root) await rm(root, { recursive: true, force: true });
});

async function member(
  id: number,
  peers: Map<number, string>,
  options: { forceNewCluster?: boolean; port: number },
) {
  const transport = await GrpcTransport.create({ id, peers, listen: `127.0.0.1:${options.port}` });
  const kv = new KvStore();
  const node = await RaftNode.create({
    id,
    peers: [1, 2, 3],
    dataDir: join(root, `m${id}`),
    transport,
    stateMachine: kv,
    tickMs: 20,
    requestTimeoutMs: 3000,
    forceNewCluster: options.forceNewCluster === true,
  });
  open.push({ node, transport });
  return { node, transport, kv };
}

describe('RaftNode forceNewCluster', () => {
  it('forceNewCluster: a lone survivor keeps every committed write and serves writes again when quorum is lost', async () => {
    root = await mkdtemp(join(tmpdir(), 'shoal-raft-force-'));
    const ports = new Map<number, number>();
    for (const id of [1, 2, 3]) {
      const probe = await GrpcTransport.create({ id });
      ports.set(id, probe.port);
      await probe.close();
    }
    const peersOf = (id: number) =>
      new Map(
        [...ports].filter(([p]) => p !== id).map(([p, port]) => [p, `127.0.0.1:${port}`] as const),
      );
    const members = await Promise.all(
      [1, 2, 3].map((id) => member(id, peersOf(id), { port: ports.get(id)! })),
    );
    await waitFor(() => members.some((m) => m.node.isLeader));
    const leader = members.find((m) => m.node.isLeader)!;
    for (let i = 0; i < 5; i++)
      await leader.node.propose(encodePut(Buffer.from(`k${i}`), Buffer.from(`v${i}`)));
    await waitFor(() => members[0]!.kv.get(Buffer.from('k4')) !== undefined);
    for (const m of open.splice(0)) {
      await m.node.stop();
      await m.transport.close();
    }
    // Members 2 and 3 are gone for good; member 1 alone would never win an election.
    const survivor = await member(1, peersOf(1), { forceNewCluster: true, port: ports.get(1)! });
    expect(survivor.node.status().conf.voters).toEqual([1]);
    await waitFor(() => survivor.node.isLeader);
    for (let i = 0; i < 5; i++)
      expect(survivor.kv.get(Buffer.from(`k${i}`))?.toString()).toBe(`v${i}`);
    await survivor.node.propose(encodePut(Buffer.from('after'), Buffer.from('recovery')));
    expect(survivor.kv.get(Buffer.from('after'))?.toString()).toBe('recovery');
  });
});
