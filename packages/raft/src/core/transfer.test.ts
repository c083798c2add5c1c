import { describe, expect, it } from 'vitest';
import { ProposalDroppedError } from '../errors.js';
import { bytes, TestNetwork } from '../testing/test-network.js';

const ELECTION = 10;

describe('leadership transfer', () => {
  it('transfer: the transferee leads the next term when it is up to date', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.propose(1, 'x');
    net.node(1).transferLeader(2);
    net.stabilize();
    expect(net.leader()).toBe(2);
    expect(net.node(2).status().term).toBe(2);
    expect(net.node(1).status()).toMatchObject({ role: 'follower', leader: 2 });
  });

  it('transfer: the transfer succeeds under the check-quorum lease when a follower asks for it', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.tickAll(2);
    net.node(3).transferLeader(2);
    net.stabilize();
    expect(net.leader()).toBe(2);
    expect(net.sentOf('vote').every((m) => m.from !== 2 || m.force)).toBe(true);
  });

  it('transfer: the leader first catches the transferee up when it lags', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.filter = (m) => (m.to === 3 && m.type === 'append' ? 'drop' : 'deliver');
    for (let i = 0; i < 5; i++) net.propose(1, `p${i}`);
    net.filter = () => 'deliver';
    net.node(1).transferLeader(3);
    net.stabilize();
    net.tickAll(2);
    expect(net.leader()).toBe(3);
    expect(net.get(3).applied).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
  });

  it('transfer: the transfer aborts after an election timeout and refuses proposals meanwhile when the transferee is unreachable', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(3);
    net.node(1).transferLeader(3);
    net.stabilize();
    expect(net.node(1).status().leadTransferee).toBe(3);
    expect(() => net.node(1).propose(bytes('x'))).toThrow(ProposalDroppedError);
    expect(() => net.node(1).propose(bytes('x'))).toThrow(
      'Propose failed: proposal dropped: leadership transfer in progress',
    );
    net.tick(1, ELECTION);
    expect(net.node(1).status()).toMatchObject({ leadTransferee: 0, role: 'leader' });
    net.node(1).propose(bytes('x'));
  });

  it('transfer: nothing happens when the target is self, a non-member or a learner', () => {
    const net = new TestNetwork({ voters: [1, 2, 3], learners: [4] });
    net.elect(1);
    for (const target of [1, 9, 4]) {
      net.node(1).transferLeader(target);
      net.stabilize();
      expect(net.node(1).status()).toMatchObject({ role: 'leader', leadTransferee: 0, term: 1 });
    }
  });

  it('transfer: a second transfer replaces the first when it names another member', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(3);
    net.node(1).transferLeader(3);
    net.stabilize();
    net.heal();
    net.node(1).transferLeader(2);
    net.stabilize();
    expect(net.leader()).toBe(2);
  });

  it('transfer: the transfer aborts when the transferee is removed', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.isolate(3);
    net.node(1).transferLeader(3);
    net.node(1).applyConfChange({ type: 'remove', id: 3 });
    expect(net.node(1).status().leadTransferee).toBe(0);
  });

  it('transfer: a removed member does nothing when it gets timeoutNow', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.node(1).proposeConfChange({ type: 'remove', id: 3 });
    net.stabilize();
    const from = net.sent.length;
    net.send({ type: 'timeoutNow', from: 1, to: 3, term: 1 });
    expect(net.sent.slice(from).filter((m) => m.from === 3)).toEqual([]);
    expect(net.leader()).toBe(1);
  });
});
