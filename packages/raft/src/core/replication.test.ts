import { describe, expect, it } from 'vitest';
import { ProposalDroppedError } from '../errors.js';
import { bytes, caught, TestNetwork } from '../testing/test-network.js';
import { MemoryStorage } from './memory-storage.js';
import { RawNode } from './raw-node.js';
import { SeededRng } from './rng.js';
import type { Entry, Message } from './types.js';

const ELECTION = 10;

/** Entries with the given terms from index 2 (after the bootstrap snapshot). */
function entries(terms: number[]): Entry[] {
  return terms.map((term, i) => ({
    index: i + 2,
    term,
    type: 'normal',
    data: bytes(`t${term}.${i + 2}`),
  }));
}

/** Replaces member `id`'s log by entries of `terms` at `term`, then restarts it. */
function seedLog(net: TestNetwork, id: number, terms: number[], term: number): void {
  const m = net.get(id);
  m.storage.append(entries(terms));
  m.storage.setHardState({ term, vote: 0, commit: 1 });
  net.restart(id);
}

/** An append of term 1 from member 1 to member 2 after the bootstrap entry. */
function appendFrom1(ents: Entry[], commit: number): Message {
  return { type: 'append', from: 1, to: 2, term: 1, index: 1, logTerm: 1, entries: ents, commit };
}

function logOf(net: TestNetwork, id: number): [number, number][] {
  const s = net.get(id).storage;
  return s.entries(s.firstIndex(), s.lastIndex() + 1, 1e9).map((e) => [e.index, e.term]);
}

describe('replication', () => {
  // Raft paper Figure 7: the leader's log and six followers (a)–(f), shifted by one index.
  const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const followers: Record<string, number[]> = {
    a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
    b: [1, 1, 1, 4],
    c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    e: [1, 1, 1, 4, 4, 4, 4],
    f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  };
  for (const [name, log] of Object.entries(followers)) {
    it(`replication: a new leader makes the follower log equal its own when the follower is Figure 7 (${name})`, () => {
      const net = new TestNetwork({ voters: [1, 2, 3], node: { checkQuorum: false } });
      seedLog(net, 1, leaderLog, 7);
      seedLog(net, 2, log, Math.max(...log));
      seedLog(net, 3, leaderLog, 7);
      net.elect(1);
      expect(net.leader()).toBe(1);
      net.propose(1, 'new');
      net.tickAll(3);
      expect(logOf(net, 2)).toEqual(logOf(net, 1));
      expect(net.get(2).applied).toEqual(net.get(1).applied);
    });
  }

  it('replication: a follower keeps its longer log when a stale append matches what it holds', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    for (const d of ['a', 'b', 'c']) net.propose(1, d);
    const before = net.node(2).status().lastIndex;
    net.send(appendFrom1(net.node(1).logEntries(2, 4), 2));
    expect(net.node(2).status().lastIndex).toBe(before);
  });

  it('replication: a follower commits only up to the last new entry when the leader commit is higher', () => {
    const node = RawNode.create({
      id: 2,
      storage: MemoryStorage.create({ voters: [1, 2, 3], learners: [] }),
      rng: new SeededRng(1),
    });
    node.step(appendFrom1(entries([1]), 10));
    expect(node.status()).toMatchObject({ commit: 2, lastIndex: 2, leader: 1 });
  });

  it('replication: the leader finds the divergence point in a few round trips when a follower has a long divergent tail', () => {
    const net = new TestNetwork({ voters: [1, 2, 3], node: { checkQuorum: false } });
    seedLog(net, 1, [1, ...Array(5).fill(3)], 3);
    seedLog(net, 3, [1, ...Array(5).fill(3)], 3);
    seedLog(net, 2, [1, ...Array(60).fill(2)], 2);
    const from = net.sent.length;
    net.elect(1);
    net.tickAll(2);
    const rejects = net.sentOf('appendResponse', from).filter((m) => m.from === 2 && m.reject);
    expect(rejects.length).toBeLessThanOrEqual(3);
    expect(logOf(net, 2)).toEqual(logOf(net, 1));
  });

  it('replication: an entry commits and the follower learns the commit when its ack is lost', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.filter = (m) => (m.type === 'appendResponse' && m.from === 2 ? 'drop' : 'deliver');
    net.propose(1, 'x');
    expect(net.get(1).applied).toEqual(['x']);
    net.heal();
    net.tickAll(2);
    expect(net.get(2).applied).toEqual(['x']);
  });

  it('replication: the leader stops sending appends when the inflight window is full', () => {
    const net = new TestNetwork({
      voters: [1, 2],
      node: { maxInflightMsgs: 2, checkQuorum: false },
    });
    net.elect(1);
    net.filter = (m) => (m.type === 'appendResponse' && m.from === 2 ? 'hold' : 'deliver');
    const from = net.sent.length;
    for (let i = 0; i < 6; i++) net.node(1).propose(bytes(`p${i}`));
    net.stabilize();
    expect(net.sentOf('append', from).filter((m) => m.to === 2)).toHaveLength(2);
    net.filter = () => 'deliver';
    net.release();
    expect(net.get(1).applied).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5']);
  });

  it('replication: appends batch many entries per message when the size limit allows', () => {
    const net = new TestNetwork({
      voters: [1, 2],
      node: { maxSizePerMsg: 10, checkQuorum: false },
    });
    net.elect(1);
    net.isolate(2);
    for (let i = 0; i < 12; i++) net.node(1).propose(bytes('abcd'));
    net.stabilize();
    net.heal();
    const from = net.sent.length;
    net.tickAll(3);
    const sizes = net
      .sentOf('append', from)
      .filter((m) => m.entries.length > 0)
      .map((m) => m.entries.length);
    expect(Math.max(...sizes)).toBe(2);
    expect(net.get(2).applied).toHaveLength(12);
  });

  it('replication: a probing follower gets one append per heartbeat when it does not answer', () => {
    const net = new TestNetwork({ voters: [1, 2, 3], node: { checkQuorum: false } });
    net.elect(1);
    net.isolate(3);
    net.node(1).reportUnreachable(3);
    expect(net.node(1).status().progress[3]?.state).toBe('probe');
    const from = net.sent.length;
    for (let i = 0; i < 5; i++) net.propose(1, `p${i}`);
    net.tickAll(3);
    expect(net.sentOf('append', from).filter((m) => m.to === 3)).toHaveLength(1);
    expect(net.node(1).status().progress[3]?.state).toBe('probe');
    net.heal();
    net.tickAll(2);
    expect(net.node(1).status().progress[3]?.state).toBe('replicate');
    expect(net.get(3).applied).toHaveLength(5);
  });

  it('replication: a proposal on a follower is forwarded and committed when a leader is known', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.propose(3, 'via-follower');
    for (const id of [1, 2, 3]) expect(net.get(id).applied).toEqual(['via-follower']);
  });

  it('replication: a forwarded proposal is dropped when it reaches a member that is not the leader', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.send({
      type: 'propose',
      from: 3,
      to: 2,
      term: 0,
      entries: [{ index: 0, term: 0, type: 'normal', data: bytes('lost') }],
    });
    expect(net.get(2).rejected).toContain(
      'propose dropped: forwarded to a member that is not the leader',
    );
    expect(net.get(1).applied).toEqual([]);
  });

  it('replication: a proposal to a leader without quorum never commits and is overwritten when it is partitioned', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(1);
    net.propose(1, 'doomed');
    expect(net.get(1).applied).toEqual([]);
    net.tickAll(ELECTION * 4);
    const leader = net.leader();
    expect([2, 3]).toContain(leader);
    net.propose(leader, 'kept');
    net.heal();
    net.tickAll(ELECTION * 2);
    for (const id of [1, 2, 3]) expect(net.get(id).applied).toEqual(['kept']);
  });

  it('replication: the leader drops proposals when uncommitted bytes exceed the limit', () => {
    const net = new TestNetwork({ voters: [1, 2, 3], node: { maxUncommittedBytes: 10 } });
    net.elect(1);
    net.isolate(1);
    net.node(1).propose(bytes('12345678'));
    const err = caught(() => net.node(1).propose(bytes('12345678')));
    expect(err).toBeInstanceOf(ProposalDroppedError);
    expect(err).toMatchObject({
      code: 'SHOAL_RAFT_PROPOSAL_DROPPED',
      reason: 'too much uncommitted data',
    });
    expect((err as Error).message).toBe(
      'Propose failed: proposal dropped: too much uncommitted data',
    );
    net.node(1).propose(new Uint8Array());
    net.heal();
    net.stabilize();
    net.tickAll(2);
    expect(net.get(1).applied).toEqual(['12345678']);
    net.node(1).propose(bytes('12345678'));
  });

  it('replication: a follower catches up through the log when it was disconnected for a while', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(3);
    for (let i = 0; i < 30; i++) net.propose(1, `p${i}`);
    net.heal();
    net.tickAll(3);
    expect(net.get(3).applied).toEqual(net.get(1).applied);
    expect(net.sentOf('snapshot')).toHaveLength(0);
  });
});
