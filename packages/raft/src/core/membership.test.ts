import { describe, expect, it } from 'vitest';
import { ProposalDroppedError } from '../errors.js';
import { caught, TestNetwork } from '../testing/test-network.js';

const ELECTION = 10;

function dropped(fn: () => void): ProposalDroppedError | undefined {
  const err = caught(fn);
  if (err === undefined || err instanceof ProposalDroppedError) return err;
  throw err;
}

describe('membership', () => {
  it('membership: a second change is refused when one is pending', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.add(4);
    net.node(1).proposeConfChange({ type: 'addLearner', id: 4 });
    const err = dropped(() => net.node(1).proposeConfChange({ type: 'remove', id: 3 }));
    expect(err?.reason).toBe('a membership change is pending');
    net.stabilize();
    net.node(1).proposeConfChange({ type: 'remove', id: 3 });
    net.stabilize();
    expect(net.node(1).status().conf).toEqual({ voters: [1, 2], learners: [4] });
  });

  it('membership: a fresh leader refuses a change when it has not committed an entry of its term', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.filter = (m) => (m.type === 'appendResponse' ? 'hold' : 'deliver');
    net.elect(1);
    expect(net.node(1).status().role).toBe('leader');
    const err = dropped(() => net.node(1).proposeConfChange({ type: 'remove', id: 3 }));
    expect(err?.reason).toBe('a membership change is pending');
    net.filter = () => 'deliver';
    net.release();
    net.node(1).proposeConfChange({ type: 'remove', id: 3 });
  });

  it('membership: a learner counts toward quorum only when it has been promoted', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.add(4);
    net.node(1).proposeConfChange({ type: 'addLearner', id: 4 });
    net.stabilize();
    net.tickAll(2);
    net.stop(2);
    net.stop(3);
    net.propose(1, 'needs-a-voter');
    expect(net.get(1).applied).toEqual([]);
    expect(net.get(4).storage.lastIndex()).toBe(net.get(1).storage.lastIndex());
    net.restart(2);
    net.tickAll(2);
    expect(net.get(1).applied).toEqual(['needs-a-voter']);
    net.node(1).proposeConfChange({ type: 'promote', id: 4 });
    net.stabilize();
    // Voters are now 1–4 with 3 down: the write needs 4's ack to reach three.
    net.propose(1, 'with-4');
    expect(net.get(1).applied).toEqual(['needs-a-voter', 'with-4']);
  });

  it('membership: a learner never campaigns when its election timeout passes or it gets timeoutNow', () => {
    const net = new TestNetwork({ voters: [1, 2], learners: [3] });
    const from = net.sent.length;
    net.tick(3, ELECTION * 5);
    net.send({ type: 'timeoutNow', from: 1, to: 3, term: 0 });
    expect(net.node(3).status().role).toBe('follower');
    expect(net.sent.slice(from).filter((m) => m.from === 3)).toEqual([]);
  });

  it('membership: a learner answers vote requests when a candidate asks it', () => {
    const net = new TestNetwork({ voters: [1, 2], learners: [3] });
    const from = net.sent.length;
    net.send({ type: 'vote', from: 1, to: 3, term: 1, index: 1, logTerm: 1, force: false });
    const answer = net.sentOf('voteResponse', from).find((m) => m.from === 3);
    expect(answer?.reject).toBe(false);
  });

  it('membership: removing a follower shrinks the quorum when the change applies', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.node(1).proposeConfChange({ type: 'remove', id: 3 });
    net.stabilize();
    for (const id of [1, 2]) expect(net.node(id).status().conf.voters).toEqual([1, 2]);
    net.stop(3);
    net.propose(1, 'x');
    expect(net.get(2).applied).toEqual(['x']);
  });

  it('membership: a removed leader steps down when it applies its own removal and another takes over', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.node(1).proposeConfChange({ type: 'remove', id: 1 });
    net.stabilize();
    expect(net.node(1).status().role).toBe('follower');
    net.tickAll(ELECTION * 4);
    const leader = net.leader();
    expect([2, 3]).toContain(leader);
    net.propose(leader, 'after');
    expect(net.get(leader === 2 ? 3 : 2).applied).toEqual(['after']);
  });

  it('membership: the cluster term stays when a removed member keeps campaigning', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.filter = (m) => (m.to === 3 ? 'drop' : 'deliver');
    net.node(1).proposeConfChange({ type: 'remove', id: 3 });
    net.stabilize();
    net.filter = () => 'deliver';
    net.isolate(3);
    net.tickAll(ELECTION * 3);
    net.heal();
    net.tickAll(ELECTION * 6);
    expect(net.leader()).toBe(1);
    expect(net.node(1).status().term).toBe(1);
    expect(net.node(2).status().term).toBe(1);
  });

  it('membership: removing the last connected follower cannot commit when two followers are isolated', () => {
    const net = new TestNetwork({ voters: [1, 2, 3, 4, 5] });
    net.elect(1);
    net.isolate(4);
    net.isolate(5);
    net.cut(1, 3);
    net.node(1).proposeConfChange({ type: 'remove', id: 2 });
    net.stabilize();
    expect(net.node(1).status().conf.voters).toEqual([1, 2, 3, 4, 5]);
  });

  it('membership: adding a member that exists is refused when proposed twice', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.add(4);
    net.node(1).proposeConfChange({ type: 'addLearner', id: 4 });
    net.stabilize();
    expect(
      dropped(() => net.node(1).proposeConfChange({ type: 'addLearner', id: 4 }))?.reason,
    ).toBe('member 4 already exists');
    net.add(5);
    net.node(1).proposeConfChange({ type: 'addLearner', id: 5 });
    net.stabilize();
    expect(net.node(1).status().conf.learners).toEqual([4, 5]);
  });

  it('membership: a forwarded change that cannot apply becomes a no-op when the leader gets it', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    const before = net.node(1).status().lastIndex;
    net.node(2).proposeConfChange({ type: 'promote', id: 9 });
    net.stabilize();
    expect(net.node(1).status().lastIndex).toBe(before + 1);
    expect(net.node(1).status().conf.voters).toEqual([1, 2, 3]);
  });
});
