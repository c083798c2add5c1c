import { describe, expect, it } from 'vitest';
import { TestNetwork } from '../testing/test-network.js';

function compactedCluster(): TestNetwork {
  const net = new TestNetwork({ voters: [1, 2, 3] });
  net.elect(1);
  net.isolate(3);
  for (let i = 0; i < 10; i++) net.propose(1, `p${i}`);
  net.compact(1);
  return net;
}

describe('snapshot', () => {
  it("snapshot: a follower installs the leader's snapshot when its next entry was compacted", () => {
    const net = compactedCluster();
    const snapIndex = net.get(1).storage.snapshot().meta.index;
    net.heal();
    net.tickAll(3);
    expect(net.sentOf('snapshot').map((m) => m.to)).toEqual([3]);
    expect(net.get(3).storage.snapshot().meta.index).toBe(snapIndex);
    expect(net.get(3).applied).toEqual(net.get(1).applied);
    net.propose(1, 'after');
    expect(net.get(3).applied.at(-1)).toBe('after');
    expect(net.node(1).status().progress[3]?.state).toBe('replicate');
  });

  it('snapshot: replication to a follower pauses while its snapshot is pending and resumes in probe when it fails', () => {
    const net = compactedCluster();
    net.heal();
    net.filter = (m) => (m.type === 'snapshot' ? 'drop' : 'deliver');
    net.tickAll(2);
    expect(net.node(1).status().progress[3]?.state).toBe('snapshot');
    const from = net.sent.length;
    net.propose(1, 'more');
    expect(net.sentOf('append', from).filter((m) => m.to === 3)).toHaveLength(0);
    net.node(1).reportSnapshot(3, false);
    expect(net.node(1).status().progress[3]).toMatchObject({ state: 'probe', pendingSnapshot: 0 });
    net.filter = () => 'deliver';
    net.tickAll(4);
    expect(net.get(3).applied).toEqual(net.get(1).applied);
  });

  it('snapshot: a follower ignores a snapshot older than its commit when it arrives late', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    for (let i = 0; i < 5; i++) net.propose(1, `p${i}`);
    const before = net.node(2).status();
    net.send({
      type: 'snapshot',
      from: 1,
      to: 2,
      term: 1,
      snapshot: {
        meta: { index: 3, term: 1, conf: { voters: [1, 2, 3], learners: [] } },
        data: new TextEncoder().encode('[]'),
      },
    });
    expect(net.node(2).status()).toMatchObject({
      commit: before.commit,
      lastIndex: before.lastIndex,
    });
    expect(net.get(2).applied).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
  });

  it('snapshot: a restored snapshot carries the learners when the configuration has them', () => {
    const net = new TestNetwork({ voters: [1, 2], learners: [3] });
    net.elect(1);
    for (let i = 0; i < 5; i++) net.propose(1, `p${i}`);
    net.compact(1);
    net.add(4);
    net.node(1).proposeConfChange({ type: 'addLearner', id: 4 });
    net.stabilize();
    net.tickAll(3);
    expect(net.node(4).status().conf).toEqual({ voters: [1, 2], learners: [3, 4] });
    expect(net.get(4).applied).toEqual(net.get(1).applied);
  });

  it('snapshot: hard state, configuration and data are kept when a member restarts from snapshot plus log', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    for (let i = 0; i < 5; i++) net.propose(1, `p${i}`);
    net.compact(2);
    net.propose(1, 'tail');
    const before = net.node(2).status();
    net.stop(2);
    net.restart(2);
    net.stabilize();
    const after = net.node(2).status();
    expect([after.term, after.vote, after.commit, after.conf]).toEqual([
      before.term,
      before.vote,
      before.commit,
      before.conf,
    ]);
    expect(after.applied).toBe(before.applied);
    expect(net.get(2).applied).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'tail']);
  });

  it('snapshot: a new member learns the initial configuration from a snapshot when it joins empty', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.propose(1, 'x');
    net.add(4);
    net.node(1).proposeConfChange({ type: 'addLearner', id: 4 });
    net.stabilize();
    net.tickAll(3);
    net.node(1).proposeConfChange({ type: 'promote', id: 4 });
    net.stabilize();
    net.tickAll(2);
    expect(net.sentOf('snapshot').map((m) => m.to)).toEqual([4]);
    expect(net.node(4).status().conf).toEqual({ voters: [1, 2, 3, 4], learners: [] });
    expect(net.get(4).applied).toEqual(['x']);
  });
});
