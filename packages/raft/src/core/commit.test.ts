import { describe, expect, it } from 'vitest';
import { bytes, TestNetwork } from '../testing/test-network.js';
import { MemoryStorage } from './memory-storage.js';
import { RawNode } from './raw-node.js';
import { SeededRng } from './rng.js';
import type { Message, Ready } from './types.js';

/** Persists and advances every Ready of `node`, returning the messages it sent. */
function drain(node: RawNode, storage: MemoryStorage): Message[] {
  const out: Message[] = [];
  for (let i = 0; i < 20 && node.hasReady(); i++) {
    const rd: Ready = node.ready();
    storage.append(rd.entries);
    if (rd.hardState) storage.setHardState(rd.hardState);
    out.push(...rd.messages, ...rd.messagesAfterPersist);
    node.advance(rd);
  }
  return out;
}

describe('commit', () => {
  it('commit: a leader does not commit an older-term entry by counting replicas when its own entry is not replicated', () => {
    // Raft §5.4.2, Figure 8: node 1 holds an entry of term 2 and leads term 3.
    const storage = MemoryStorage.create({ voters: [1, 2, 3], learners: [] });
    storage.append([{ index: 2, term: 2, type: 'normal', data: bytes('old') }]);
    storage.setHardState({ term: 2, vote: 0, commit: 1 });
    const node = RawNode.create({ id: 1, storage, rng: new SeededRng(1), preVote: false });
    node.campaign();
    drain(node, storage);
    node.step({ type: 'voteResponse', from: 2, to: 1, term: 3, reject: false });
    drain(node, storage);
    expect(node.status()).toMatchObject({ role: 'leader', term: 3, lastIndex: 3 });
    // Follower 2 acks the old entry only: a majority holds it, yet it must not commit.
    node.step({
      type: 'appendResponse',
      from: 2,
      to: 1,
      term: 3,
      index: 2,
      reject: false,
      rejectHint: 0,
      hintTerm: 0,
    });
    drain(node, storage);
    expect(node.status().commit).toBe(1);
    node.step({
      type: 'appendResponse',
      from: 2,
      to: 1,
      term: 3,
      index: 3,
      reject: false,
      rejectHint: 0,
      hintTerm: 0,
    });
    drain(node, storage);
    expect(node.status().commit).toBe(3);
  });

  it("commit: a new leader's empty entry commits earlier entries when no client proposes", () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.filter = (m) => (m.type === 'appendResponse' ? 'drop' : 'deliver');
    net.propose(1, 'x');
    expect(net.get(2).applied).toEqual([]);
    net.stop(1);
    net.heal();
    net.tickAll(40);
    const leader = net.leader();
    expect([2, 3]).toContain(leader);
    expect(net.get(2).applied).toEqual(['x']);
    expect(net.get(3).applied).toEqual(['x']);
  });

  it('commit: a leader ignores its own ack when its term changed before the write finished', () => {
    const storage = MemoryStorage.create({ voters: [1, 2, 3], learners: [] });
    const node = RawNode.create({
      id: 1,
      storage,
      rng: new SeededRng(1),
      preVote: false,
      checkQuorum: false,
    });
    node.campaign();
    drain(node, storage);
    node.step({ type: 'voteResponse', from: 2, to: 1, term: 1, reject: false });
    const rd = node.ready();
    expect(rd.entries).toHaveLength(1);
    storage.append(rd.entries);
    node.step({ type: 'heartbeat', from: 3, to: 1, term: 2, commit: 0, context: new Uint8Array() });
    node.advance(rd);
    node.step({
      type: 'appendResponse',
      from: 2,
      to: 1,
      term: 1,
      index: 2,
      reject: false,
      rejectHint: 0,
      hintTerm: 0,
    });
    expect(node.status()).toMatchObject({ role: 'follower', term: 2, commit: 1 });
  });

  it('commit: pending entries commit when removing an unreachable member shrinks the quorum', () => {
    const net = new TestNetwork({ voters: [1, 2] });
    net.elect(1);
    net.stop(2);
    net.propose(1, 'x');
    expect(net.get(1).applied).toEqual([]);
    net.node(1).applyConfChange({ type: 'remove', id: 2 });
    net.stabilize();
    expect(net.get(1).applied).toEqual(['x']);
  });

  it('commit: entries are applied in order exactly once when committed bytes per Ready are limited', () => {
    const storage = MemoryStorage.create({ voters: [1], learners: [] });
    const node = RawNode.create({
      id: 1,
      storage,
      rng: new SeededRng(1),
      maxCommittedBytesPerReady: 8,
    });
    node.campaign();
    drain(node, storage);
    for (let i = 0; i < 10; i++) node.propose(bytes(`e${i}xx`));
    const applied: string[] = [];
    for (let i = 0; i < 50 && node.hasReady(); i++) {
      const rd = node.ready();
      storage.append(rd.entries);
      if (rd.hardState) storage.setHardState(rd.hardState);
      const size = rd.committedEntries.reduce((n, e) => n + e.data.byteLength, 0);
      expect(size <= 8 || rd.committedEntries.length === 1).toBe(true);
      for (const e of rd.committedEntries)
        if (e.data.byteLength) applied.push(new TextDecoder().decode(e.data));
      node.advance(rd);
    }
    expect(applied).toEqual(Array.from({ length: 10 }, (_, i) => `e${i}xx`));
  });

  it('commit: heartbeats carry the commit only up to what a follower holds when it lags', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.filter = (m) => (m.type === 'append' && m.to === 3 ? 'drop' : 'deliver');
    net.propose(1, 'x');
    const from = net.sent.length;
    net.tick(1);
    const hb = net.sentOf('heartbeat', from);
    expect(hb.find((m) => m.to === 2)?.commit).toBe(net.node(1).status().commit);
    expect(hb.find((m) => m.to === 3)?.commit).toBeLessThan(net.node(1).status().commit);
  });
});
