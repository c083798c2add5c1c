import { describe, expect, it } from 'vitest';
import { Inflights, Progress } from './progress.js';

function progress(state: 'probe' | 'replicate', match: number, next: number): Progress {
  const pr = new Progress({
    id: 2,
    next,
    isLearner: false,
    maxInflightMsgs: 3,
    maxInflightBytes: 0,
  });
  pr.match = match;
  if (state === 'replicate') {
    pr.becomeReplicate();
    pr.next = next;
  }
  return pr;
}

describe('progress', () => {
  const decrCases = [
    {
      name: 'replicate: stale rejection below match',
      state: 'replicate',
      match: 5,
      next: 10,
      rejected: 5,
      hint: 5,
      ok: false,
      wantNext: 10,
    },
    {
      name: 'replicate: rejection above match',
      state: 'replicate',
      match: 5,
      next: 10,
      rejected: 9,
      hint: 9,
      ok: true,
      wantNext: 6,
    },
    {
      name: 'probe: rejection of an older probe',
      state: 'probe',
      match: 0,
      next: 10,
      rejected: 5,
      hint: 5,
      ok: false,
      wantNext: 10,
    },
    {
      name: 'probe: rejection with a hint',
      state: 'probe',
      match: 0,
      next: 10,
      rejected: 9,
      hint: 3,
      ok: true,
      wantNext: 4,
    },
    {
      name: 'probe: hint below match',
      state: 'probe',
      match: 6,
      next: 10,
      rejected: 9,
      hint: 2,
      ok: true,
      wantNext: 7,
    },
  ] as const;
  for (const c of decrCases) {
    it(`progress: maybeDecrTo moves next correctly when ${c.name}`, () => {
      const pr = progress(c.state, c.match, c.next);
      expect(pr.maybeDecrTo(c.rejected, c.hint)).toBe(c.ok);
      expect(pr.next).toBe(c.wantNext);
      expect(pr.match).toBe(c.match);
    });
  }

  it('progress: maybeUpdate never moves match backwards when acks arrive out of order', () => {
    const pr = progress('replicate', 3, 8);
    expect(pr.maybeUpdate(7)).toBe(true);
    expect(pr.maybeUpdate(5)).toBe(false);
    expect([pr.match, pr.next]).toEqual([7, 8]);
  });

  it('progress: a probing follower is paused after one append when no reply came', () => {
    const pr = progress('probe', 0, 5);
    expect(pr.isPaused()).toBe(false);
    pr.sentEntries(2, 10);
    expect(pr.isPaused()).toBe(true);
    expect(pr.next).toBe(5);
  });

  it('progress: a replicating follower is paused when its inflight window is full', () => {
    const pr = progress('replicate', 0, 1);
    for (let i = 0; i < 3; i++) pr.sentEntries(1, 1);
    expect(pr.next).toBe(4);
    expect(pr.isPaused()).toBe(true);
    pr.inflights.freeLE(1);
    pr.msgAppFlowPaused = pr.inflights.full();
    expect(pr.isPaused()).toBe(false);
  });

  it('progress: a snapshot state resumes after the snapshot when it becomes probe', () => {
    const pr = progress('probe', 2, 3);
    pr.becomeSnapshot(20);
    expect(pr.isPaused()).toBe(true);
    pr.becomeProbe();
    expect([pr.state, pr.next]).toEqual(['probe', 21]);
  });

  const inflightCases = [
    {
      name: 'count reaches capacity',
      cap: 2,
      maxBytes: 0,
      adds: [
        [1, 5],
        [2, 5],
      ],
      full: true,
    },
    {
      name: 'bytes reach the byte limit',
      cap: 10,
      maxBytes: 8,
      adds: [
        [1, 5],
        [2, 5],
      ],
      full: true,
    },
    {
      name: 'below both limits',
      cap: 10,
      maxBytes: 100,
      adds: [
        [1, 5],
        [2, 5],
      ],
      full: false,
    },
  ] as const;
  for (const c of inflightCases) {
    it(`inflights: full is ${c.full} when ${c.name}`, () => {
      const f = new Inflights(c.cap, c.maxBytes);
      for (const [i, b] of c.adds) f.add(i, b);
      expect(f.full()).toBe(c.full);
    });
  }

  it('inflights: freeLE frees every message at or below the acked index when acks slide the window', () => {
    const f = new Inflights(100, 0);
    for (let i = 1; i <= 10; i++) f.add(i * 2, 3);
    f.freeLE(9);
    expect([f.count, f.bytes]).toEqual([6, 18]);
    f.freeFirstOne();
    expect(f.count).toBe(5);
    f.freeLE(100);
    expect([f.count, f.bytes]).toEqual([0, 0]);
  });
});
