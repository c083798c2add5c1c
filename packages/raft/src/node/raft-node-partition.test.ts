// RaftNode over an in-memory transport that can cut members off: proposals lost to a
// partition must fail with ProposalDroppedError, not hang or succeed twice.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodePut, KvStore } from '../bench/kv-store.js';
import type { Message, RaftId } from '../core/types.js';
import { ProposalDroppedError } from '../errors.js';
import type { RaftTransport, TransportHandler } from '../transport/raft-transport.js';
import { RaftNode } from './raft-node.js';

/** Delivers messages between members in one process; `cut` members hear nothing. */
class MemoryNetwork {
  readonly handlers = new Map<RaftId, TransportHandler>();
  readonly cut = new Set<RaftId>();

  transport(id: RaftId): RaftTransport {
    return {
      start: (h) => {
        this.handlers.set(id, h);
      },
      send: (msgs: readonly Message[]) => {
        for (const m of msgs) {
          if (this.cut.has(m.from) || this.cut.has(m.to)) continue;
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
