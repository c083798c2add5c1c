// Majority decisions over the voters (etcd-io/raft quorum/majority.go). Learners never
// count. With single-server changes a configuration is one majority, never joint.

import type { RaftId } from './types.js';

/** Outcome of tallying votes so far. */
export type VoteResult = 'won' | 'lost' | 'pending';

/** The size of a majority of `voters` members. */
export function quorumSize(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/**
 * The highest index replicated on a majority of voters: the quorum-th largest match.
 * An empty configuration commits nothing (returns 0).
 */
export function committedIndex(voters: readonly RaftId[], matchOf: (id: RaftId) => number): number {
  if (voters.length === 0) return 0;
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[quorumSize(voters.length) - 1]!;
}

/** Tally of votes: won once a majority said yes, lost once a majority cannot be reached. */
export function voteResult(
  voters: readonly RaftId[],
  votes: ReadonlyMap<RaftId, boolean>,
): VoteResult {
  if (voters.length === 0) return 'won';
  let yes = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) yes++;
  }
  const q = quorumSize(voters.length);
  if (yes >= q) return 'won';
  if (yes + missing >= q) return 'pending';
  return 'lost';
}

/** Whether a majority of voters satisfies `active`. */
export function hasQuorum(voters: readonly RaftId[], active: (id: RaftId) => boolean): boolean {
  let n = 0;
  for (const id of voters) if (active(id)) n++;
  return n >= quorumSize(voters.length);
}
