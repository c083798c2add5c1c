import { describe, expect, it } from 'vitest';
import { NotLeaderError } from '../errors.js';
import { bytes, TestNetwork } from '../testing/test-network.js';

const ELECTION = 10;
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

describe('read index', () => {
  it('read index: the leader answers with its commit index when a heartbeat quorum confirms it', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.propose(1, 'x');
    net.filter = (m) => (m.type === 'heartbeatResponse' ? 'hold' : 'deliver');
    net.node(1).readIndex(bytes('r1'));
    net.stabilize();
    expect(net.get(1).readStates).toEqual([]);
    net.filter = () => 'deliver';
    net.release();
    expect(net.get(1).readStates.map((r) => [r.index, dec(r.context)])).toEqual([
      [net.node(1).status().commit, 'r1'],
    ]);
  });

  it('read index: a new leader defers reads when it has not committed an entry of its term', () => {
    const net = new TestNetwork({ voters: [1, 2, 3], node: { checkQuorum: false } });
    net.elect(1);
    net.propose(1, 'x');
    net.filter = (m) => (m.type === 'appendResponse' ? 'hold' : 'deliver');
    net.elect(2);
    expect(net.node(2).status()).toMatchObject({ role: 'leader', term: 2 });
    net.node(2).readIndex(bytes('early'));
    net.tickAll(1);
    expect(net.get(2).readStates).toEqual([]);
    net.filter = () => 'deliver';
    net.release();
    net.tickAll(1);
    const rs = net.get(2).readStates;
    expect(rs.map((r) => dec(r.context))).toEqual(['early']);
    expect(rs[0]!.index).toBe(net.node(2).status().commit);
    expect(net.node(2).logTerm(rs[0]!.index)).toBe(2);
  });

  it("read index: a follower gets the leader's index when it forwards a read", () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.propose(1, 'x');
    net.node(3).readIndex(bytes('f'));
    net.stabilize();
    expect(net.get(3).readStates.map((r) => [r.index, dec(r.context)])).toEqual([
      [net.node(1).status().commit, 'f'],
    ]);
  });

  it('read index: a follower throws NotLeaderError when no leader is known', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    expect(() => net.node(2).readIndex(bytes('r'))).toThrow(NotLeaderError);
  });

  it('read index: an isolated old leader never answers a read when a new leader committed a write', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.propose(1, 'old');
    net.isolate(1);
    net.node(1).readIndex(bytes('stale?'));
    net.tickAll(ELECTION * 4);
    const leader = net.leader();
    expect([2, 3]).toContain(leader);
    net.propose(leader, 'new');
    expect(net.get(1).readStates).toEqual([]);
    expect(net.node(1).status().role).not.toBe('leader');
  });

  it('read index: a duplicate context is answered once when asked twice before confirmation', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.node(1).readIndex(bytes('dup'));
    net.node(1).readIndex(bytes('dup'));
    net.node(1).readIndex(bytes('other'));
    net.stabilize();
    expect(net.get(1).readStates.map((r) => dec(r.context))).toEqual(['dup', 'other']);
  });

  it('read index: learners are not counted when confirming a read', () => {
    const net = new TestNetwork({ voters: [1, 2, 3], learners: [4] });
    net.elect(1);
    net.isolate(2);
    net.cut(1, 3);
    net.node(1).readIndex(bytes('q'));
    net.stabilize();
    expect(net.get(1).readStates).toEqual([]);
    net.heal();
    net.tickAll(1);
    expect(net.get(1).readStates.map((r) => dec(r.context))).toEqual(['q']);
  });

  it('read index: a single voter answers at once when it has committed in its term', () => {
    const net = new TestNetwork({ voters: [1] });
    net.elect(1);
    net.node(1).readIndex(bytes('solo'));
    net.stabilize();
    expect(net.get(1).readStates.map((r) => dec(r.context))).toEqual(['solo']);
  });
});
