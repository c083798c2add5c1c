import { describe, expect, it } from 'vitest';
import { checkLinearizable } from './linearizability.js';
import { SimCluster } from './sim-cluster.js';

/** Steps until `done` holds (at most `max` steps); returns whether it did. */
function stepUntil(sim: SimCluster, done: () => boolean, max = 200): boolean {
  for (let i = 0; i < max; i++) {
    if (done()) return true;
    sim.step();
  }
  return done();
}

function cluster(seed = 1): SimCluster {
  const sim = new SimCluster({ seed, voters: [1, 2, 3] });
  expect(stepUntil(sim, () => sim.leader() !== 0)).toBe(true);
  return sim;
}

describe('persistence', () => {
  it('persistence: unsynced entries are lost when the leader crashes before its disk syncs', () => {
    const sim = cluster();
    const leader = sim.leader();
    const before = sim.get(leader).disk.load().lastIndex();
    for (const id of [1, 2, 3]) sim.stallDisk(id, 50);
    expect(sim.invoke(1, leader, { kind: 'put', key: 'k', value: 'v' })).toBe(true);
    sim.step();
    expect(sim.get(leader).storage.lastIndex()).toBeGreaterThan(before);
    sim.crash(leader);
    sim.restart(leader);
    expect(sim.get(leader).storage.lastIndex()).toBe(before);
    expect(sim.history[0]?.ret).toBe(Number.POSITIVE_INFINITY);
    expect(sim.oracle.violations).toEqual([]);
  });

  it('persistence: an acknowledged write survives when every member crashes at once', () => {
    const sim = cluster(2);
    const leader = sim.leader();
    sim.invoke(1, leader, { kind: 'put', key: 'k', value: 'kept' });
    expect(stepUntil(sim, () => sim.isIdle(1))).toBe(true);
    expect(sim.history[0]?.ret).toBeLessThan(Number.POSITIVE_INFINITY);
    for (const id of [1, 2, 3]) sim.stallDisk(id, 5);
    for (const id of [1, 2, 3]) sim.crash(id);
    for (const id of [1, 2, 3]) sim.restart(id);
    expect(stepUntil(sim, () => sim.leader() !== 0)).toBe(true);
    sim.invoke(2, sim.leader(), { kind: 'get', key: 'k' });
    expect(stepUntil(sim, () => sim.isIdle(2))).toBe(true);
    expect(sim.history[1]?.output).toBe('kept');
    expect(sim.oracle.violations).toEqual([]);
  });

  it('persistence: a granted vote survives a crash when the voter restarts in the same term', () => {
    const sim = cluster(3);
    const leader = sim.leader();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const hs = sim.get(follower).disk.durableHardState();
    sim.crash(follower);
    sim.restart(follower);
    expect(sim.get(follower).raw.status()).toMatchObject({ term: hs.term, vote: hs.vote });
  });

  it('persistence: no committed write is lost when members restart one after another', () => {
    const sim = cluster(4);
    for (let i = 0; i < 5; i++) {
      sim.invoke(1, sim.leader(), { kind: 'put', key: 'k', value: `v${i}` });
      stepUntil(sim, () => sim.isIdle(1));
    }
    for (const id of [1, 2, 3]) {
      sim.crash(id);
      for (let i = 0; i < 20; i++) sim.step();
      sim.restart(id);
      stepUntil(sim, () => sim.leader() !== 0);
    }
    sim.invoke(2, sim.leader(), { kind: 'get', key: 'k' });
    expect(stepUntil(sim, () => sim.isIdle(2))).toBe(true);
    expect(sim.history.at(-1)?.output).toBe('v4');
    expect(sim.oracle.violations).toEqual([]);
  });
});

describe('stale reads', () => {
  it('read index: a deposed leader cut off with its client never serves a stale read when a new leader took a write', () => {
    const sim = new SimCluster({ seed: 11 });
    expect(stepUntil(sim, () => sim.leader() !== 0)).toBe(true);
    const old = sim.leader();
    sim.invoke(1, old, { kind: 'put', key: 'k', value: 'v1' });
    expect(stepUntil(sim, () => sim.isIdle(1))).toBe(true);
    const others = [1, 2, 3, 4, 5].filter((id) => id !== old);
    sim.net.partition([old], others);
    sim.slowClock(old, 10, 200);
    expect(stepUntil(sim, () => others.includes(sim.findLeader()))).toBe(true);
    sim.invoke(2, sim.findLeader(), { kind: 'put', key: 'k', value: 'v2' });
    expect(stepUntil(sim, () => sim.isIdle(2))).toBe(true);
    expect(sim.get(old).raw.status().role).toBe('leader');
    sim.invoke(3, old, { kind: 'get', key: 'k' });
    for (let i = 0; i < 60; i++) sim.step();
    const read = sim.history.find((op) => op.client === 3);
    expect(read).toBeUndefined();
    expect(checkLinearizable(sim.history).ok).toBe(true);
    expect(sim.oracle.violations).toEqual([]);
  });
});
