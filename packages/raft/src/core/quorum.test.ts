import { describe, expect, it } from 'vitest';
import { committedIndex, hasQuorum, quorumSize, voteResult } from './quorum.js';

describe('quorum', () => {
  const commitCases = [
    { name: 'single voter', voters: [1], match: [5], want: 5 },
    { name: 'three voters, two agree', voters: [1, 2, 3], match: [5, 4, 1], want: 4 },
    { name: 'three voters, all differ', voters: [1, 2, 3], match: [9, 2, 7], want: 7 },
    { name: 'four voters need three', voters: [1, 2, 3, 4], match: [9, 9, 2, 1], want: 2 },
    { name: 'five voters', voters: [1, 2, 3, 4, 5], match: [10, 8, 6, 4, 2], want: 6 },
    { name: 'no voters commit nothing', voters: [], match: [], want: 0 },
  ];
  for (const c of commitCases) {
    it(`quorum: commit index is the quorum-th largest match when ${c.name}`, () => {
      const m = new Map(c.voters.map((id, i) => [id, c.match[i]!]));
      expect(committedIndex(c.voters, (id) => m.get(id) ?? 0)).toBe(c.want);
    });
  }

  const voteCases = [
    {
      name: 'a majority granted',
      votes: [
        [1, true],
        [2, true],
      ] as const,
      want: 'won',
    },
    {
      name: 'a majority refused',
      votes: [
        [2, false],
        [3, false],
      ] as const,
      want: 'lost',
    },
    {
      name: 'answers are missing',
      votes: [
        [1, true],
        [2, false],
      ] as const,
      want: 'pending',
    },
    { name: 'nobody answered', votes: [] as const, want: 'pending' },
  ];
  for (const c of voteCases) {
    it(`quorum: a 3-voter election is ${c.want} when ${c.name}`, () => {
      expect(voteResult([1, 2, 3], new Map(c.votes))).toBe(c.want);
    });
  }

  it('quorum: a majority is more than half when counting voters', () => {
    expect([1, 2, 3, 4, 5, 6].map(quorumSize)).toEqual([1, 2, 2, 3, 3, 4]);
    expect(hasQuorum([1, 2, 3, 4], (id) => id <= 2)).toBe(false);
    expect(hasQuorum([1, 2, 3, 4], (id) => id <= 3)).toBe(true);
  });
});
