// The leader's side of log replication (Raft §5.3, etcd-io/raft raft.go and design.md):
// sending appends and snapshots under flow control, handling acks and rejections,
// advancing the commit index, heartbeats, ReadIndex and leadership transfer.

import type { Progress } from './progress.js';
import { committedIndex, hasQuorum } from './quorum.js';
import { entriesBytes } from './raft-log.js';
import type { MessageOf, RaftState } from './raft-state.js';
import type { Entry, RaftId, Snapshot } from './types.js';

const EMPTY = new Uint8Array();

/** Most append messages sent to one follower in one go (a bound on every loop). */
const MAX_SENDS_PER_ACK = 1024;

/** A follower acked or rejected an append: move its progress, maybe commit, send more. @internal */
export function handleAppendResponse(
  r: RaftState,
  m: MessageOf<'appendResponse'>,
  pr: Progress,
): void {
  pr.recentActive = true;
  if (m.reject) {
    let probe = m.rejectHint;
    if (m.hintTerm > 0) probe = r.log.findConflictByTerm(m.rejectHint, m.hintTerm).index;
    if (pr.maybeDecrTo(m.index, probe)) {
      if (pr.state === 'replicate') pr.becomeProbe();
      maybeSendAppend(r, m.from, true);
    }
    return;
  }
  if (m.index > r.log.lastIndex()) {
    r.reject('append ack beyond the leader log', m);
    return;
  }
  if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === 'probe')) {
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot' && pr.match + 1 >= r.log.firstIndex()) {
      // The follower caught up past our compaction point: back to the log (F03, F04).
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index);
    }
    if (maybeCommit(r)) {
      releasePendingReads(r);
      bcastAppend(r);
    }
    if (m.from !== r.id) {
      for (let i = 0; i < MAX_SENDS_PER_ACK && maybeSendAppend(r, m.from, false); i++) {}
    }
    if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) {
      r.send({ from: r.id, type: 'timeoutNow', to: m.from, term: r.term });
    }
  }
}

/** A follower answered a heartbeat: resume it, and count it for pending reads. @internal */
export function handleHeartbeatResponse(
  r: RaftState,
  m: MessageOf<'heartbeatResponse'>,
  pr: Progress,
): void {
  pr.recentActive = true;
  pr.msgAppFlowPaused = false;
  // A live follower with a full window: free a slot so a lost append gets retried (C07).
  if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
  if (pr.match < r.log.lastIndex() || pr.state === 'probe') {
    maybeSendAppend(r, m.from, true);
  }
  if (m.context.byteLength === 0) return;
  const acks = r.readOnly.recvAck(m.from, m.context);
  if (acks === undefined || !hasQuorum(r.conf.voters, (id) => acks.has(id))) return;
  for (const req of r.readOnly.advance(m.context)) {
    answerRead(r, req.from, req.index, req.context);
  }
}

/** Delivers a confirmed read: locally as a ReadState, or to the follower that asked. @internal */
export function answerRead(r: RaftState, from: RaftId, index: number, context: Uint8Array): void {
  if (from === r.id) r.readStates.push({ index, context });
  else
    r.send({
      from: r.id,
      type: 'readIndexResponse',
      to: from,
      term: r.term,
      index,
      context,
    });
}

/** Whether the commit index points at an entry of the current term. @internal */
export function committedEntryInCurrentTerm(r: RaftState): boolean {
  return r.log.term(r.log.committed) === r.term;
}

/** Starts (or defers) a ReadIndex round for a read. @internal */
export function leaderReadIndex(r: RaftState, from: RaftId, context: Uint8Array): void {
  if (!committedEntryInCurrentTerm(r)) {
    // Our commit index may lag the previous leader's until an entry of our term
    // commits (thesis §6.4 step 1): defer the read until then.
    r.pendingReadIndex.push({ from, context });
    return;
  }
  if (r.conf.voters.length === 1 && r.isVoter()) {
    answerRead(r, from, r.log.committed, context);
    return;
  }
  r.readOnly.addRequest(r.log.committed, from, context);
  r.readOnly.recvAck(r.id, context);
  bcastHeartbeat(r, context);
}

/** Starts the reads deferred until an entry of this term committed. @internal */
export function releasePendingReads(r: RaftState): void {
  if (r.pendingReadIndex.length === 0 || !committedEntryInCurrentTerm(r)) return;
  const reads = r.pendingReadIndex;
  r.pendingReadIndex = [];
  for (const read of reads) leaderReadIndex(r, read.from, read.context);
}

/** Begins handing leadership to `target` (thesis §3.10). @internal */
export function leaderTransfer(r: RaftState, target: RaftId): void {
  const pr = r.progress.get(target);
  if (target === r.id || pr === undefined || pr.isLearner) return;
  if (r.leadTransferee === target) return;
  r.electionElapsed = 0;
  r.leadTransferee = target;
  if (pr.match === r.log.lastIndex()) {
    r.send({ from: r.id, type: 'timeoutNow', to: target, term: r.term });
  } else {
    maybeSendAppend(r, target, true);
  }
}

/** Advances the commit index to what a quorum holds, if of the current term. @internal */
export function maybeCommit(r: RaftState): boolean {
  const mci = committedIndex(r.conf.voters, (id) => r.progress.get(id)?.match ?? 0);
  // Only entries of the current term commit by counting replicas (Raft §5.4.2).
  if (mci > r.log.committed && r.log.term(mci) === r.term) {
    r.log.commitTo(mci);
    return true;
  }
  return false;
}

/** Sends pending entries (or the new commit index) to every follower that is not paused. @internal */
export function bcastAppend(r: RaftState): void {
  for (const id of r.progress.keys()) if (id !== r.id) maybeSendAppend(r, id, true);
}

/** Sends a heartbeat to every follower, carrying the newest pending read context. @internal */
export function bcastHeartbeat(r: RaftState, context?: Uint8Array): void {
  const ctx = context ?? r.readOnly.lastPendingContext() ?? EMPTY;
  for (const [id, pr] of r.progress) {
    if (id === r.id) continue;
    // Never tell a follower to commit past what it is known to hold.
    const commit = Math.min(pr.match, r.log.committed);
    r.send({
      from: r.id,
      type: 'heartbeat',
      to: id,
      term: r.term,
      commit,
      context: ctx,
    });
  }
}

/** Sends the next batch of entries (or a snapshot) to `to`; false when nothing was sent. */
export function maybeSendAppend(r: RaftState, to: RaftId, sendIfEmpty: boolean): boolean {
  const pr = r.progress.get(to);
  if (pr === undefined || pr.isPaused()) return false;
  const prevIndex = pr.next - 1;
  const prevTerm = r.log.term(prevIndex);
  let ents: Entry[] | undefined;
  if (prevTerm !== undefined) {
    try {
      ents = r.log.entriesFrom(pr.next, r.opts.maxSizePerMsg);
    } catch {
      ents = undefined;
    }
  }
  if (prevTerm === undefined || ents === undefined) return maybeSendSnapshot(r, to, pr);
  if (ents.length === 0 && !sendIfEmpty) return false;
  r.send({
    from: r.id,
    type: 'append',
    to,
    term: r.term,
    index: prevIndex,
    logTerm: prevTerm,
    entries: ents,
    commit: r.log.committed,
  });
  pr.sentEntries(ents.length, entriesBytes(ents));
  return true;
}

/** Sends the latest snapshot to a follower whose next entry is compacted. @internal */
export function maybeSendSnapshot(r: RaftState, to: RaftId, pr: Progress): boolean {
  // Only to a follower we heard from: a snapshot is big, do not throw it into the void.
  if (!pr.recentActive) return false;
  let snap: Snapshot;
  try {
    snap = r.log.snapshot();
  } catch {
    return false;
  }
  pr.becomeSnapshot(snap.meta.index);
  r.send({ from: r.id, type: 'snapshot', to, term: r.term, snapshot: snap });
  return true;
}
