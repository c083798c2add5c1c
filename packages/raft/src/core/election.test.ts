import { describe, expect, it } from 'vitest';
import { NotLeaderError } from '../errors.js';
import { bytes, caught, TestNetwork } from '../testing/test-network.js';
import { MemoryStorage } from './memory-storage.js';
import { RawNode } from './raw-node.js';
import { SeededRng } from './rng.js';

const plain = { preVote: false, checkQuorum: false };

describe('election', () => {
  for (const n of [3, 5]) {
    it(`election: a member becomes leader at term 1 when it campaigns in a healthy ${n}-member cluster`, () => {
      const ids = Array.from({ length: n }, (_, i) => i + 1);
      const net = new TestNetwork({ voters: ids });
      net.elect(1);
      expect(net.leader()).toBe(1);
      for (const id of ids) {
        const st = net.node(id).status();
        expect([st.term, st.leader]).toEqual([1, 1]);
        if (id !== 1) expect(st.role).toBe('follower');
      }
    });
  }

  it('election: a pre-candidate keeps its term when a majority is down', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.stop(2);
    net.stop(3);
    net.elect(1);
    expect(net.node(1).status()).toMatchObject({ role: 'preCandidate', term: 0 });
  });

  it('election: a candidate wins when two of five members are down', () => {
    const net = new TestNetwork({ voters: [1, 2, 3, 4, 5] });
    net.stop(4);
    net.stop(5);
    net.elect(1);
    expect(net.leader()).toBe(1);
  });

  it('election: a member with a shorter log loses when the others hold longer logs', () => {
    const net = new TestNetwork({ voters: [1, 2, 3], node: plain });
    net.elect(1);
    net.isolate(3);
    net.propose(1, 'x');
    net.heal();
    net.filter = (m) => (m.to === 3 && m.type === 'append' ? 'drop' : 'deliver');
    net.elect(3);
    expect(net.node(3).status().role).toBe('follower');
    expect(net.leader()).not.toBe(3);
  });

  it('election: each member wins in turn when it campaigns with an up-to-date log', () => {
    const net = new TestNetwork({ voters: [1, 2, 3], node: { checkQuorum: false } });
    for (const id of [1, 2, 3, 1]) {
      net.elect(id);
      expect(net.leader()).toBe(id);
      for (const other of [1, 2, 3]) expect(net.node(other).status().leader).toBe(id);
    }
  });

  it('election: the cluster settles on one leader when two candidates campaign at once', () => {
    const net = new TestNetwork({ voters: [1, 2, 3], node: plain });
    net.cut(1, 3);
    net.node(1).campaign();
    net.node(3).campaign();
    net.stabilize();
    net.heal();
    net.tickAll(60);
    const leaders = [1, 2, 3].filter((id) => net.node(id).status().role === 'leader');
    expect(leaders).toHaveLength(1);
    const term = net.node(leaders[0]!).status().term;
    for (const id of [1, 2, 3])
      expect(net.node(id).status()).toMatchObject({ term, leader: leaders[0] });
  });

  it('election: an isolated candidate becomes follower when the leader of its term appends to it', () => {
    const net = new TestNetwork({ voters: [1, 2, 3], node: plain });
    net.isolate(3);
    net.elect(3);
    expect(net.node(3).status()).toMatchObject({ role: 'candidate', term: 1 });
    net.heal();
    net.cut(3, 1);
    net.cut(3, 2);
    net.elect(1);
    net.heal();
    net.propose(1, 'x');
    net.tick(1, 2);
    expect(net.node(3).status()).toMatchObject({ role: 'follower', leader: 1, term: 1 });
    expect(net.get(3).applied).toEqual(['x']);
  });

  it("election: a deposed leader's append is ignored when its term is older", () => {
    const net = new TestNetwork({ voters: [1, 2, 3], node: plain });
    net.elect(1);
    net.elect(2);
    const before = net.node(3).status();
    net.send({
      type: 'append',
      from: 1,
      to: 3,
      term: 1,
      index: before.lastIndex,
      logTerm: 2,
      entries: [],
      commit: before.lastIndex,
    });
    net.send({
      type: 'append',
      from: 1,
      to: 3,
      term: 1,
      index: 1,
      logTerm: 1,
      entries: [{ index: 2, term: 1, type: 'normal', data: bytes('stale') }],
      commit: 2,
    });
    expect(net.node(3).status()).toMatchObject({ term: 2, leader: 2, lastIndex: before.lastIndex });
    expect(net.get(3).applied).toEqual([]);
  });

  for (const role of ['follower', 'candidate', 'leader'] as const) {
    it(`election: a ${role} steps down and votes when a higher-term candidate with a longer log asks`, () => {
      const net = new TestNetwork({ voters: [1, 2, 3], node: plain });
      if (role === 'leader') net.elect(1);
      if (role === 'candidate') {
        net.isolate(1);
        net.elect(1);
        net.heal();
      }
      const st = net.node(1).status();
      expect(st.role).toBe(role);
      net.isolate(1);
      net.heal();
      const from = net.sent.length;
      net.filter = (m) => (m.from === 1 && m.to === 2 ? 'hold' : 'deliver');
      net.send({
        type: 'vote',
        from: 2,
        to: 1,
        term: st.term + 5,
        index: st.lastIndex + 1,
        logTerm: st.term + 1,
        force: false,
      });
      expect(net.node(1).status()).toMatchObject({ role: 'follower', term: st.term + 5, vote: 2 });
      expect(net.held.filter((m) => m.type === 'voteResponse' && !m.reject)).toHaveLength(1);
      expect(net.sent.length).toBeGreaterThan(from);
    });
  }

  it('election: a member refuses a second candidate in the same term when its vote survived a restart', () => {
    const net = new TestNetwork({ voters: [1, 2, 3], node: plain });
    net.filter = (m) => (m.from === 3 ? 'hold' : 'deliver');
    net.send({ type: 'vote', from: 1, to: 3, term: 5, index: 1, logTerm: 1, force: false });
    net.stop(3);
    net.restart(3);
    net.send({ type: 'vote', from: 2, to: 3, term: 5, index: 1, logTerm: 1, force: false });
    const answers = net.held.filter((m) => m.type === 'voteResponse');
    expect(answers.map((m) => [m.to, m.type === 'voteResponse' && m.reject])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(net.node(3).status().vote).toBe(1);
  });

  it('election: follower timeouts cover every tick in [T, 2T) when drawn with many seeds', () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 300; seed++) {
      const node = RawNode.create({
        id: 1,
        storage: MemoryStorage.create({ voters: [1, 2, 3], learners: [] }),
        rng: new SeededRng(seed),
        electionTick: 5,
      });
      let ticks = 0;
      while (node.status().role === 'follower' && ticks < 100) {
        node.tick();
        ticks++;
      }
      seen.add(ticks);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([5, 6, 7, 8, 9]);
  });

  it('election: a single voter leads and commits a proposal only after persisting it when it campaigns', () => {
    const storage = MemoryStorage.create({ voters: [1], learners: [] });
    const node = RawNode.create({ id: 1, storage, rng: new SeededRng(1) });
    node.campaign();
    // Pre-vote and vote each need our own (persisted) vote: two Ready cycles to lead.
    for (let i = 0; i < 4 && node.status().role !== 'leader'; i++) {
      const rd = node.ready();
      if (rd.hardState) storage.setHardState(rd.hardState);
      node.advance(rd);
    }
    expect(node.status().role).toBe('leader');
    node.propose(bytes('x'));
    const rd1 = node.ready();
    expect(rd1.entries.map((e) => e.data.byteLength)).toEqual([0, 1]);
    expect(rd1.committedEntries).toEqual([]);
    storage.append(rd1.entries);
    node.advance(rd1);
    const rd2 = node.ready();
    expect(rd2.committedEntries.map((e) => e.index)).toEqual([2, 3]);
    expect(rd2.hardState?.commit).toBe(3);
    node.advance(rd2);
    expect(node.hasReady()).toBe(false);
  });

  it('election: the winner overwrites a newer uncommitted entry when it wins a later term', () => {
    // etcd TestLeaderElectionOverwriteNewerLogs: 1 and 2 hold a term-1 entry, 3 a term-2
    // entry, 4 and 5 voted in term 2 with empty logs.
    const net = new TestNetwork({ voters: [1, 2, 3, 4, 5], node: plain });
    const seed = (id: number, term: number, entryTerm: number | undefined, vote: number) => {
      const m = net.get(id);
      if (entryTerm !== undefined) {
        m.storage.append([
          { index: 2, term: entryTerm, type: 'normal', data: bytes(`t${entryTerm}`) },
        ]);
      }
      m.storage.setHardState({ term, vote, commit: 1 });
      net.restart(id);
    };
    seed(1, 1, 1, 0);
    seed(2, 1, 1, 0);
    seed(3, 2, 2, 3);
    seed(4, 2, undefined, 3);
    seed(5, 2, undefined, 3);
    net.elect(1);
    expect(net.node(1).status()).toMatchObject({ role: 'follower', term: 2 });
    net.elect(1);
    expect(net.node(1).status()).toMatchObject({ role: 'leader', term: 3 });
    for (const id of [1, 2, 3, 4, 5]) {
      expect(
        net
          .node(id)
          .logEntries(2, 4)
          .map((e) => e.term),
      ).toEqual([1, 3]);
    }
  });

  it('election: propose throws NotLeaderError with leader 0 when no leader is known', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    const err = caught(() => net.node(1).propose(bytes('x')));
    expect(err).toBeInstanceOf(NotLeaderError);
    expect(err).toMatchObject({ code: 'SHOAL_RAFT_NOT_LEADER', leaderId: 0 });
    expect((err as Error).message).toBe(
      'Propose failed: this member is not the leader and no leader is known',
    );
  });
});
