import { describe, expect, it } from 'vitest';
import { CompactedError } from '../errors.js';
import { MemoryStorage } from './memory-storage.js';
import { limitBytes, RaftLog } from './raft-log.js';
import type { Entry } from './types.js';

function ent(index: number, term: number, size = 0): Entry {
  return { index, term, type: 'normal', data: new Uint8Array(size) };
}

/** A log whose stored entries have terms `terms` from index 2 (after the bootstrap snapshot). */
function logWith(terms: number[], unstable: number[] = []): RaftLog {
  const s = MemoryStorage.create({ voters: [1], learners: [] });
  s.append(terms.map((t, i) => ent(i + 2, t)));
  const log = new RaftLog(s, Number.MAX_SAFE_INTEGER);
  log.append(unstable.map((t, i) => ent(terms.length + 2 + i, t)));
  return log;
}

describe('raft log', () => {
  const conflictCases = [
    { name: 'entries all match', ents: [ent(2, 1), ent(3, 2)], want: 0 },
    { name: 'entries extend the log', ents: [ent(4, 3), ent(5, 4)], want: 5 },
    { name: 'a term differs', ents: [ent(3, 2), ent(4, 4)], want: 4 },
    { name: 'the first entry differs', ents: [ent(2, 4)], want: 2 },
    { name: 'no entries', ents: [], want: 0 },
  ];
  for (const c of conflictCases) {
    it(`raft log: findConflict returns ${c.want} when ${c.name}`, () => {
      expect(logWith([1, 2, 3]).findConflict(c.ents)).toBe(c.want);
    });
  }

  const appendCases = [
    {
      name: 'the previous entry matches',
      index: 3,
      logTerm: 2,
      commit: 9,
      ents: [ent(4, 4)],
      want: 4,
      last: 4,
      committed: 4,
    },
    {
      name: 'the previous term differs',
      index: 3,
      logTerm: 1,
      commit: 9,
      ents: [ent(4, 4)],
      want: undefined,
      last: 4,
      committed: 1,
    },
    {
      name: 'the previous index is beyond the log',
      index: 9,
      logTerm: 3,
      commit: 9,
      ents: [],
      want: undefined,
      last: 4,
      committed: 1,
    },
    {
      name: 'a stale append matches the held entries',
      index: 2,
      logTerm: 1,
      commit: 3,
      ents: [ent(3, 2)],
      want: 3,
      last: 4,
      committed: 3,
    },
    {
      name: 'a conflicting tail is replaced',
      index: 2,
      logTerm: 1,
      commit: 2,
      ents: [ent(3, 5)],
      want: 3,
      last: 3,
      committed: 2,
    },
  ];
  for (const c of appendCases) {
    it(`raft log: maybeAppend gives ${c.want} when ${c.name}`, () => {
      const log = logWith([1, 2, 3]);
      expect(log.maybeAppend(c.index, c.logTerm, c.commit, c.ents)).toBe(c.want);
      expect(log.lastIndex()).toBe(c.last);
      expect(log.committed).toBe(c.committed);
    });
  }

  it('raft log: maybeAppend refuses when the leader would overwrite a committed entry', () => {
    const log = logWith([1, 2, 3]);
    log.commitTo(3);
    expect(log.maybeAppend(2, 1, 3, [ent(3, 9)])).toMatch(/committed entry 3/);
    expect(log.term(3)).toBe(2);
  });

  const byTermCases = [
    { name: 'the term is above every entry', index: 6, term: 9, want: { index: 6, term: 4 } },
    { name: 'the follower holds an older term', index: 6, term: 2, want: { index: 3, term: 2 } },
    { name: 'every entry is newer', index: 6, term: 0, want: { index: 0, term: 0 } },
  ];
  for (const c of byTermCases) {
    it(`raft log: findConflictByTerm skips a whole term when ${c.name}`, () => {
      // terms by index: 1:1 (snapshot) 2:1 3:2 4:4 5:4 6:4
      expect(logWith([1, 2, 4, 4, 4]).findConflictByTerm(c.index, c.term)).toEqual(c.want);
    });
  }

  it('raft log: isUpToDate compares the last index only when the last terms are equal', () => {
    const log = logWith([1, 2, 3]);
    expect(log.isUpToDate(1, 4)).toBe(true);
    expect(log.isUpToDate(9, 2)).toBe(false);
    expect(log.isUpToDate(4, 3)).toBe(true);
    expect(log.isUpToDate(3, 3)).toBe(false);
  });

  it('raft log: slice joins stored and unstable entries when a range spans both', () => {
    const log = logWith([1, 2], [3, 3]);
    expect(log.slice(2, 6, 1e9).map((e) => [e.index, e.term])).toEqual([
      [2, 1],
      [3, 2],
      [4, 3],
      [5, 3],
    ]);
    expect(() => log.slice(1, 3, 1e9)).toThrow(CompactedError);
  });

  it('raft log: limitBytes keeps at least one entry when the first exceeds the limit', () => {
    const ents = [ent(2, 1, 10), ent(3, 1, 10), ent(4, 1, 10)];
    expect(limitBytes(ents, 5)).toHaveLength(1);
    expect(limitBytes(ents, 20)).toHaveLength(2);
    expect(limitBytes(ents, 100)).toHaveLength(3);
  });

  it('raft log: unstable entries replaced before being persisted are not marked stable when the write lands', () => {
    const log = logWith([1], [2, 2]);
    log.unstable.acceptInProgress();
    log.append([ent(4, 3)]);
    log.unstable.stableTo(4, 2);
    expect(log.unstable.nextEntries().map((e) => e.index)).toEqual([4]);
    expect(log.term(4)).toBe(3);
  });

  it('raft log: term is undefined when the index is compacted or beyond the log', () => {
    const s = MemoryStorage.create({ voters: [1], learners: [] });
    s.append([ent(2, 1), ent(3, 1), ent(4, 2)]);
    s.createSnapshot(3, { voters: [1], learners: [] }, new Uint8Array());
    s.compact(3);
    const log = new RaftLog(s, 1e9);
    expect([log.term(2), log.term(3), log.term(4), log.term(5)]).toEqual([
      undefined,
      1,
      2,
      undefined,
    ]);
    expect(log.firstIndex()).toBe(4);
  });
});
