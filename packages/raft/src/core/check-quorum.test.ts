import { describe, expect, it } from 'vitest';
import { TestNetwork } from '../testing/test-network.js';

const ELECTION = 10;

describe('pre-vote and check-quorum', () => {
  it('pre-vote: an isolated follower inflates its term and deposes the leader on heal when pre-vote is off', () => {
    const net = new TestNetwork({
      voters: [1, 2, 3],
      node: { preVote: false, checkQuorum: false },
    });
    net.elect(1);
    net.isolate(3);
    net.tickAll(ELECTION * 6);
    const term3 = net.node(3).status().term;
    expect(term3).toBeGreaterThan(2);
    net.heal();
    net.tickAll(ELECTION * 4);
    expect(net.node(1).status().term).toBeGreaterThanOrEqual(term3);
  });

  it('pre-vote: an isolated follower keeps its term and the leader keeps leading when pre-vote is on', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(3);
    net.tickAll(ELECTION * 6);
    expect(net.node(3).status().term).toBe(1);
    net.heal();
    net.tickAll(ELECTION * 3);
    expect(net.leader()).toBe(1);
    for (const id of [1, 2, 3]) expect(net.node(id).status()).toMatchObject({ term: 1, leader: 1 });
  });

  it('pre-vote: a member behind on the log is denied when it asks for pre-votes', () => {
    const net = new TestNetwork({ voters: [1, 2, 3], node: { checkQuorum: false } });
    net.elect(1);
    net.filter = (m) => (m.to === 3 && m.type === 'append' ? 'drop' : 'deliver');
    net.propose(1, 'x');
    net.elect(3);
    expect(net.node(3).status()).toMatchObject({ role: 'follower', term: 1 });
    expect(net.leader()).toBe(1);
    net.elect(2);
    expect(net.leader()).toBe(2);
  });

  it('check-quorum: voters ignore pre-votes when they heard from the leader within the election timeout', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.elect(2);
    expect(net.node(2).status().role).toBe('preCandidate');
    expect(net.leader()).toBe(1);
    // Once the leader is gone and the lease ran out, the same campaign succeeds.
    net.stop(1);
    net.tickAll(ELECTION * 3);
    expect([2, 3]).toContain(net.leader());
  });

  it('check-quorum: a leader steps down when it hears from no follower for an election timeout', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(1);
    net.tick(1, ELECTION * 2);
    expect(net.node(1).status()).toMatchObject({ role: 'follower', leader: 0, term: 1 });
  });

  it('check-quorum: a leader stays leader when a quorum keeps answering', () => {
    const net = new TestNetwork({ voters: [1, 2, 3, 4, 5] });
    net.elect(1);
    net.stop(4);
    net.stop(5);
    net.tickAll(ELECTION * 10);
    expect(net.leader()).toBe(1);
    expect(net.node(1).status().term).toBe(1);
  });

  it('check-quorum: a candidate stranded at a higher term is freed when it rejoins', () => {
    const net = new TestNetwork({ voters: [1, 2, 3], node: { preVote: false } });
    net.elect(1);
    net.isolate(3);
    net.tickAll(ELECTION * 5);
    const stranded = net.node(3).status().term;
    expect(stranded).toBeGreaterThan(1);
    net.heal();
    net.tickAll(ELECTION * 6);
    const leader = net.leader();
    expect(leader).not.toBe(0);
    const term = net.node(leader).status().term;
    expect(term).toBeGreaterThanOrEqual(stranded);
    for (const id of [1, 2, 3]) expect(net.node(id).status()).toMatchObject({ term, leader });
  });

  it('check-quorum: the leader stays when only the link between it and one follower is cut', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.cut(1, 3);
    net.tickAll(ELECTION * 10);
    expect(net.leader()).toBe(1);
    expect(net.node(1).status().term).toBe(1);
    expect(net.node(2).status().term).toBe(1);
  });

  it('check-quorum: the others keep their leader when a follower is disconnected then stopped', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(3);
    net.tickAll(ELECTION);
    net.stop(3);
    net.tickAll(ELECTION * 5);
    expect(net.leader()).toBe(1);
    expect(net.node(2).status().term).toBe(1);
  });

  it('pre-vote: the next election succeeds when a pre-vote round splits', () => {
    const net = new TestNetwork({ voters: [1, 2, 3, 4] });
    net.cut(1, 2);
    net.cut(3, 4);
    net.cut(1, 4);
    net.cut(2, 3);
    net.node(1).campaign();
    net.node(2).campaign();
    net.stabilize();
    expect(net.leader()).toBe(0);
    net.heal();
    net.tickAll(ELECTION * 4);
    expect(net.leader()).not.toBe(0);
  });

  it('pre-vote: the cluster still elects a leader when pre-vote is on for some members only', () => {
    const net = new TestNetwork({ voters: [1, 2, 3], perNode: (id) => ({ preVote: id !== 2 }) });
    net.tickAll(ELECTION * 4);
    const first = net.leader();
    expect(first).not.toBe(0);
    net.stop(first);
    net.tickAll(ELECTION * 4);
    expect(net.leader()).not.toBe(0);
    expect(net.leader()).not.toBe(first);
  });

  it('pre-vote: the others still elect a leader when a lagging member rejoins as the leader is cut off', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(3);
    net.propose(1, 'x');
    net.heal();
    net.isolate(1);
    net.tickAll(ELECTION * 6);
    const leader = net.leader();
    expect([2, 3]).toContain(leader);
    expect(net.get(leader).applied).toEqual(['x']);
  });
});
