// Shape checks of messages arriving from the network, before they reach the state
// machine. A peer with a bug (or a corrupted frame) must not crash or corrupt us: each
// check returns the reason to refuse, or undefined when the message is well formed.
// Checks that need our state (membership, indexes beyond our log) live in the core.

import type { Entry, Message, RaftId } from './types.js';

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

function checkEntries(entries: unknown, first: number, maxTerm: number): string | undefined {
  if (!Array.isArray(entries)) return 'entries is not an array';
  let prevTerm = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as Entry;
    if (typeof e !== 'object' || e === null) return 'entry is not an object';
    if (e.type !== 'normal' && e.type !== 'confChange') return 'entry has an unknown type';
    if (!isBytes(e.data)) return 'entry data is not bytes';
    if (first < 0) continue; // proposals: index and term are assigned by the leader
    if (!isIndex(e.index) || !isIndex(e.term)) return 'entry index or term is not a natural number';
    if (e.index !== first + i) return 'entries are not contiguous after the append index';
    if (e.term < prevTerm || e.term > maxTerm)
      return 'entry terms are not monotonic up to the message term';
    prevTerm = e.term;
  }
  return undefined;
}

/** Why `m` is malformed for member `self`, or undefined when it is well formed. */
export function checkMessage(m: Message, self: RaftId): string | undefined {
  if (typeof m !== 'object' || m === null) return 'message is not an object';
  if (!isIndex(m.from) || m.from === 0) return 'from is not a member id';
  if (m.from === self) return 'message claims to come from this member';
  if (m.to !== self) return 'message is addressed to another member';
  if (!isIndex(m.term)) return 'term is not a natural number';
  switch (m.type) {
    case 'append':
      if (!isIndex(m.index) || !isIndex(m.logTerm) || !isIndex(m.commit)) {
        return 'append index, logTerm or commit is not a natural number';
      }
      if (m.logTerm > m.term) return 'append logTerm is above the message term';
      return (
        checkEntries(m.entries, m.index + 1, m.term) ?? checkLogTermOrder(m.entries, m.logTerm)
      );
    case 'appendResponse':
      if (!isIndex(m.index) || !isIndex(m.rejectHint) || !isIndex(m.hintTerm)) {
        return 'appendResponse index or hint is not a natural number';
      }
      return typeof m.reject === 'boolean' ? undefined : 'appendResponse reject is not a boolean';
    case 'heartbeat':
      if (!isIndex(m.commit)) return 'heartbeat commit is not a natural number';
      return isBytes(m.context) ? undefined : 'heartbeat context is not bytes';
    case 'heartbeatResponse':
      return isBytes(m.context) ? undefined : 'heartbeatResponse context is not bytes';
    case 'vote':
    case 'preVote':
      if (!isIndex(m.index) || !isIndex(m.logTerm))
        return 'vote index or logTerm is not a natural number';
      if (m.term === 0) return 'vote request has term 0';
      if (m.logTerm > m.term) return 'vote logTerm is above the message term';
      return undefined;
    case 'voteResponse':
    case 'preVoteResponse':
      return typeof m.reject === 'boolean' ? undefined : 'vote response reject is not a boolean';
    case 'snapshot': {
      const meta = m.snapshot?.meta;
      if (meta === undefined || !isIndex(meta.index) || !isIndex(meta.term)) {
        return 'snapshot meta is malformed';
      }
      if (meta.term > m.term) return 'snapshot term is above the message term';
      if (!Array.isArray(meta.conf?.voters) || !Array.isArray(meta.conf?.learners)) {
        return 'snapshot conf is malformed';
      }
      if (!meta.conf.voters.every(isIndex) || !meta.conf.learners.every(isIndex)) {
        return 'snapshot conf holds a bad id';
      }
      return isBytes(m.snapshot.data) ? undefined : 'snapshot data is not bytes';
    }
    case 'timeoutNow':
      return undefined;
    case 'propose':
      return checkEntries(m.entries, -1, 0);
    case 'readIndex':
      return isBytes(m.context) ? undefined : 'readIndex context is not bytes';
    case 'readIndexResponse':
      if (!isIndex(m.index)) return 'readIndexResponse index is not a natural number';
      return isBytes(m.context) ? undefined : 'readIndexResponse context is not bytes';
    case 'transferLeader':
      return isIndex(m.target) && m.target !== 0
        ? undefined
        : 'transferLeader target is not a member id';
    default:
      return 'message has an unknown type';
  }
}

function checkLogTermOrder(entries: readonly Entry[], logTerm: number): string | undefined {
  const first = entries[0];
  return first !== undefined && first.term < logTerm
    ? 'first entry term is below the append logTerm'
    : undefined;
}
