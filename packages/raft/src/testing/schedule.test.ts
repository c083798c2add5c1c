import { describe, expect, it } from 'vitest';
import { SafetyOracle } from './safety-oracle.js';
import { runSchedule } from './schedule.js';

describe('randomised schedules', () => {
  it('schedule: no safety, linearizability or liveness violation when 30 seeded fault schedules run', () => {
    const failures: string[] = [];
    let ops = 0;
    let memberships = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const r = runSchedule(seed);
      ops += r.operations;
      if (r.membership === 'done') memberships++;
      expect(r.operations).toBeGreaterThanOrEqual(300);
      expect(r.crashes + r.partitions).toBeGreaterThan(0);
      for (const v of r.violations) failures.push(`seed ${seed}: ${v}`);
    }
    expect(failures).toEqual([]);
    expect(memberships).toBe(30);
    expect(ops).toBeGreaterThan(30 * 300);
  }, 120_000);

  it('schedule: a run is the same when its seed is the same', () => {
    const a = runSchedule(7, { steps: 400, quietSteps: 100 });
    const b = runSchedule(7, { steps: 400, quietSteps: 100 });
    expect(a).toEqual(b);
  });
});

describe('safety oracle', () => {
  const e = (index: number, term: number, s: string) => ({
    index,
    term,
    type: 'normal' as const,
    data: new TextEncoder().encode(s),
  });

  it('safety oracle: reports Election Safety when two members lead one term', () => {
    const o = new SafetyOracle();
    o.leader(3, 1);
    o.leader(3, 1);
    o.leader(3, 2);
    expect(o.violations).toEqual(['step 0: Election Safety: 1 and 2 both led term 3']);
  });

  it('safety oracle: reports Log Matching when two logs agree on an entry but not on its prefix', () => {
    const o = new SafetyOracle();
    o.written(1, 0, [e(1, 1, 'a'), e(2, 2, 'b')]);
    o.written(2, 0, [e(1, 1, 'z'), e(2, 2, 'b')]);
    expect(o.violations[0]).toMatch(/Log Matching: member 2/);
  });

  it('safety oracle: reports Leader Completeness when a new leader lacks a committed entry', () => {
    const o = new SafetyOracle();
    o.committed(1, 1, [e(5, 1, 'a')]);
    o.newLeader(2, 2, 1, () => [e(5, 2, 'b')]);
    expect(o.violations[0]).toMatch(
      /Leader Completeness: leader 2 of term 2 lacks committed entry 5/,
    );
  });

  it('safety oracle: reports State Machine Safety when members apply different entries at one index', () => {
    const o = new SafetyOracle();
    o.applied(1, e(4, 1, 'a'), 10);
    o.applied(2, e(4, 1, 'b'), 10);
    expect(o.violations[0]).toMatch(
      /State Machine Safety: member 2 applied a different entry at index 4/,
    );
  });

  it('safety oracle: reports a double vote when a voter grants two candidates in one term', () => {
    const o = new SafetyOracle();
    o.vote(3, 5, 1);
    o.vote(3, 5, 2);
    expect(o.violations[0]).toMatch(/Vote safety: 3 granted 1 and 2 in term 5/);
  });
});
