// The Raft state machine (Raft paper Fig. 2, thesis, etcd-io/raft raft.go): roles, terms,
// elections with pre-vote and check-quorum, replication with flow control, commit,
// snapshots, membership, leadership transfer and ReadIndex. Synchronous and pure: inputs
// are messages and ticks, outputs are queued messages and log changes that RawNode turns
// into a Ready. Internal to the package: RawNode is the public face.

import { NotLeaderError, ProposalDroppedError } from '../errors.js';
import { applyConfChangeTo, checkConfChange, decodeConfChange, isMember } from './conf-change.js';
import type { CompiledRawNodeOptions } from './options.js';
import { Progress } from './progress.js';
import { hasQuorum, voteResult } from './quorum.js';
import { entriesBytes } from './raft-log.js';
import { type MessageOf, RaftState } from './raft-state.js';
import { ReadOnly } from './read-only.js';
import {
  bcastAppend,
  bcastHeartbeat,
  handleAppendResponse,
  handleHeartbeatResponse,
  leaderReadIndex,
  leaderTransfer,
  maybeCommit,
  releasePendingReads,
} from './replication.js';
import type { ConfState, Entry, HardState, Message, RaftId, Snapshot } from './types.js';
import { checkMessage } from './validate.js';

const EMPTY = new Uint8Array();

/** Messages only members may send; leader-originated ones are accepted from anyone, as a
 * lagging member may not have applied the change that added the current leader yet. */
const MEMBERS_ONLY = new Set<Message['type']>([
  'vote',
  'preVote',
  'propose',
  'readIndex',
  'transferLeader',
  'appendResponse',
  'heartbeatResponse',
  'voteResponse',
  'preVoteResponse',
]);

/** The Raft state machine behind {@link RawNode}. @internal */
export class Raft extends RaftState {
  constructor(opts: CompiledRawNodeOptions) {
    super(opts);
    const { hardState, conf } = opts.storage.initialState();
    this.#switchToConfig(conf);
    this.#loadState(hardState);
    if (opts.applied > 0) {
      if (opts.applied > this.log.committed) {
        throw new RangeError(
          `Create raft node failed: applied must not exceed commit ${this.log.committed}: got ${opts.applied}`,
        );
      }
      this.log.appliedTo(opts.applied);
    }
    this.becomeFollower(this.term, 0);
  }

  #loadState(hs: HardState): void {
    if (hs.commit > this.log.lastIndex()) {
      throw new RangeError(
        `Create raft node failed: stored commit must not exceed the last index ${this.log.lastIndex()}: got ${hs.commit}`,
      );
    }
    // A commit index older than the snapshot is fine: a snapshot holds committed entries only.
    this.log.committed = Math.max(hs.commit, this.log.committed);
    this.term = hs.term;
    this.vote = hs.vote;
  }

  #promotable(): boolean {
    return this.isVoter() && !this.log.hasPendingSnapshot();
  }

  // ---- roles ------------------------------------------------------------------------

  #resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout =
      this.opts.electionTick + this.opts.rng.int(this.opts.electionTick);
  }

  #reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = 0;
    }
    this.lead = 0;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.#resetRandomizedElectionTimeout();
    this.leadTransferee = 0;
    this.votes.clear();
    const last = this.log.lastIndex();
    for (const [id, old] of this.progress) {
      const pr = this.#newProgress(id, old.isLearner);
      if (id === this.id) pr.match = last;
      this.progress.set(id, pr);
    }
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndex = [];
  }

  #newProgress(id: RaftId, isLearner: boolean): Progress {
    return new Progress({
      id,
      next: this.log.lastIndex() + 1,
      isLearner,
      maxInflightMsgs: this.opts.maxInflightMsgs,
      maxInflightBytes: this.opts.maxInflightBytes,
    });
  }

  becomeFollower(term: number, lead: RaftId): void {
    this.#reset(term);
    this.lead = lead;
    this.role = 'follower';
  }

  #becomePreCandidate(): void {
    // The term does not change: a pre-vote only asks whether we could win (thesis §9.6).
    this.votes.clear();
    this.lead = 0;
    this.role = 'preCandidate';
  }

  #becomeCandidate(): void {
    this.#reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  #becomeLeader(): void {
    this.#reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    const self = this.progress.get(this.id);
    if (self !== undefined) {
      self.becomeReplicate();
      self.recentActive = true;
    }
    // An entry of the new term lets earlier entries commit (Raft §5.4.2, Fig. 8).
    this.#appendEntries([{ term: 0, index: 0, type: 'normal', data: EMPTY }]);
    // The uncommitted tail may hold a conf change, and a new leader must commit an entry
    // of its term before changing membership (the 2015 raft-dev single-server bug): no
    // change until this empty entry is applied.
    this.pendingConfIndex = this.log.lastIndex();
  }

  // ---- ticks ------------------------------------------------------------------------

  tick(): void {
    if (this.role === 'leader') this.#tickHeartbeat();
    else this.#tickElection();
  }

  #tickElection(): void {
    this.electionElapsed++;
    if (this.#promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  #tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.opts.electionTick) {
      this.electionElapsed = 0;
      if (this.opts.checkQuorum) {
        const active = hasQuorum(
          this.conf.voters,
          (id) => id === this.id || this.progress.get(id)?.recentActive === true,
        );
        for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = false;
        if (!active) {
          this.becomeFollower(this.term, 0);
          return;
        }
      }
      // A transfer that did not finish within an election timeout is abandoned (§3.10).
      this.leadTransferee = 0;
    }
    if (this.heartbeatElapsed >= this.opts.heartbeatTick) {
      this.heartbeatElapsed = 0;
      bcastHeartbeat(this);
    }
  }

  // ---- elections --------------------------------------------------------------------

  /** Starts an election (a pre-vote first when enabled, unless `transfer`). */
  hup(transfer: boolean): void {
    if (this.role === 'leader' || !this.#promotable() || this.#hasUnappliedConfChanges()) return;
    if (this.opts.preVote && !transfer) this.#campaign('preVote', false);
    else this.#campaign('vote', transfer);
  }

  #hasUnappliedConfChanges(): boolean {
    const { applied, committed } = this.log;
    if (applied >= committed) return false;
    try {
      const ents = this.log.slice(applied + 1, committed + 1, Number.MAX_SAFE_INTEGER);
      return ents.some((e) => e.type === 'confChange');
    } catch {
      return true;
    }
  }

  #campaign(kind: 'vote' | 'preVote', transfer: boolean): void {
    let term: number;
    if (kind === 'preVote') {
      this.#becomePreCandidate();
      term = this.term + 1;
    } else {
      this.#becomeCandidate();
      term = this.term;
    }
    const index = this.log.lastIndex();
    const logTerm = this.log.lastTerm();
    for (const id of this.conf.voters) {
      if (id === this.id) {
        // Our own vote counts once it is durable: RawNode steps it back on advance.
        const type = kind === 'vote' ? 'voteResponse' : 'preVoteResponse';
        this.msgsAfterPersist.push({ type, from: id, to: id, term, reject: false });
      } else {
        this.send({ from: this.id, type: kind, to: id, term, index, logTerm, force: transfer });
      }
    }
  }

  #poll(from: RaftId, granted: boolean): 'won' | 'lost' | 'pending' {
    if (!this.votes.has(from)) this.votes.set(from, granted);
    return voteResult(this.conf.voters, this.votes);
  }

  // ---- step -------------------------------------------------------------------------

  /** A message from the network: checked for shape and membership first. */
  step(m: Message): void {
    const reason = checkMessage(m, this.id);
    if (reason !== undefined) {
      this.reject(reason, m);
      return;
    }
    const hasConf = this.conf.voters.length + this.conf.learners.length > 0;
    if (MEMBERS_ONLY.has(m.type) && hasConf && !isMember(this.conf, m.from)) {
      this.reject(`${m.type} from a non-member`, m);
      return;
    }
    this.stepChecked(m);
  }

  /** A well-formed message (or one of our own, stepped back after persisting). */
  stepChecked(m: Message): void {
    const termless = m.type === 'propose' || m.type === 'readIndex' || m.type === 'transferLeader';
    if (!termless && m.term > this.term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        // Check-quorum lease: while we heard from a live leader within the election
        // timeout, ignore candidates (disruptive rejoiners) unless a transfer forces it.
        const inLease =
          this.opts.checkQuorum && this.lead !== 0 && this.electionElapsed < this.opts.electionTick;
        if (!m.force && inLease) return;
      }
      if (m.type === 'preVote' || (m.type === 'preVoteResponse' && !m.reject)) {
        // A pre-vote never changes our term; a granted pre-vote carries the future term.
      } else if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, 0);
      }
    } else if (!termless && m.term < this.term) {
      if (
        (this.opts.checkQuorum || this.opts.preVote) &&
        (m.type === 'heartbeat' || m.type === 'append')
      ) {
        // A stale leader (e.g. after a partition heals) learns the new term from this
        // reply and steps down; otherwise pre-vote/check-quorum could leave it stuck.
        this.send({
          from: this.id,
          type: 'appendResponse',
          to: m.from,
          term: this.term,
          index: 0,
          reject: false,
          rejectHint: 0,
          hintTerm: 0,
        });
      } else if (m.type === 'preVote') {
        this.send({
          from: this.id,
          type: 'preVoteResponse',
          to: m.from,
          term: this.term,
          reject: true,
        });
      }
      return;
    }

    if (m.type === 'vote' || m.type === 'preVote') {
      this.#handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case 'leader':
        this.#stepLeader(m);
        return;
      case 'candidate':
      case 'preCandidate':
        this.#stepCandidate(m);
        return;
      case 'follower':
        this.#stepFollower(m);
        return;
    }
  }

  #handleVoteRequest(m: MessageOf<'vote' | 'preVote'>): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === 0 && this.lead === 0) ||
      (m.type === 'preVote' && m.term > this.term);
    const respType = m.type === 'vote' ? 'voteResponse' : 'preVoteResponse';
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      this.send({ from: this.id, type: respType, to: m.from, term: m.term, reject: false });
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ from: this.id, type: respType, to: m.from, term: this.term, reject: true });
    }
  }

  #stepFollower(m: Message): void {
    switch (m.type) {
      case 'propose':
      case 'readIndex':
      case 'transferLeader':
        // Forwarded to us by a member that took us for the leader. Dropped, not forwarded
        // again: two members each believing the other leads would bounce it forever.
        // (Our own requests go straight to the leader from proposeLocal and friends.)
        this.reject(`${m.type} dropped: forwarded to a member that is not the leader`, m);
        return;
      case 'append':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.#handleAppend(m);
        return;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.#handleHeartbeat(m);
        return;
      case 'snapshot':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.#handleSnapshot(m);
        return;
      case 'timeoutNow':
        // Leadership transfer: campaign at once, past the lease (thesis §3.10).
        this.hup(true);
        return;
      case 'readIndexResponse':
        this.readStates.push({ index: m.index, context: m.context });
        return;
      default:
        return;
    }
  }

  #stepCandidate(m: Message): void {
    const myResponse = this.role === 'preCandidate' ? 'preVoteResponse' : 'voteResponse';
    switch (m.type) {
      case 'append':
        this.becomeFollower(m.term, m.from);
        this.#handleAppend(m);
        return;
      case 'heartbeat':
        this.becomeFollower(m.term, m.from);
        this.#handleHeartbeat(m);
        return;
      case 'snapshot':
        this.becomeFollower(m.term, m.from);
        this.#handleSnapshot(m);
        return;
      case 'voteResponse':
      case 'preVoteResponse': {
        if (m.type !== myResponse) return;
        const result = this.#poll(m.from, !m.reject);
        if (result === 'won') {
          if (this.role === 'preCandidate') {
            this.#campaign('vote', false);
          } else {
            this.#becomeLeader();
            bcastAppend(this);
          }
        } else if (result === 'lost') {
          this.becomeFollower(this.term, 0);
        }
        return;
      }
      case 'propose':
      case 'readIndex':
      case 'transferLeader':
        this.reject(`${m.type} dropped: election in progress`, m);
        return;
      default:
        return;
    }
  }

  // ---- follower handlers ------------------------------------------------------------

  #ack(to: RaftId, index: number): void {
    this.send({
      from: this.id,
      type: 'appendResponse',
      to,
      term: this.term,
      index,
      reject: false,
      rejectHint: 0,
      hintTerm: 0,
    });
  }

  #handleAppend(m: MessageOf<'append'>): void {
    if (m.index < this.log.committed) {
      this.#ack(m.from, this.log.committed);
      return;
    }
    const res = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (typeof res === 'string') {
      this.reject(res, m);
      return;
    }
    if (res !== undefined) {
      this.#ack(m.from, res);
      return;
    }
    // Mismatch: hint the highest entry that might match so the leader skips whole terms.
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send({
      from: this.id,
      type: 'appendResponse',
      to: m.from,
      term: this.term,
      index: m.index,
      reject: true,
      rejectHint: hint.index,
      hintTerm: hint.term,
    });
  }

  #handleHeartbeat(m: MessageOf<'heartbeat'>): void {
    // The leader sends min(match, commit): beyond our log means a confused leader.
    if (m.commit > this.log.lastIndex()) {
      this.reject('heartbeat commit beyond the log', m);
      return;
    }
    this.log.commitTo(m.commit);
    this.send({
      from: this.id,
      type: 'heartbeatResponse',
      to: m.from,
      term: this.term,
      context: m.context,
    });
  }

  #handleSnapshot(m: MessageOf<'snapshot'>): void {
    const installed = this.#restore(m.snapshot);
    this.#ack(m.from, installed ? this.log.lastIndex() : this.log.committed);
  }

  /** Installs a leader's snapshot; false when we already have what it covers (§7). */
  #restore(s: Snapshot): boolean {
    if (s.meta.index <= this.log.committed) return false;
    if (this.log.matchTerm(s.meta.index, s.meta.term)) {
      // Our log already holds the snapshot's last entry: just fast-forward the commit.
      this.log.commitTo(s.meta.index);
      return false;
    }
    this.log.restore(s);
    this.#switchToConfig(s.meta.conf);
    return true;
  }

  // ---- leader -----------------------------------------------------------------------

  #stepLeader(m: Message): void {
    switch (m.type) {
      case 'propose': {
        const reason = this.#leaderPropose(m.entries, false);
        if (reason !== undefined) this.reject(`proposal dropped: ${reason}`, m);
        return;
      }
      case 'readIndex':
        leaderReadIndex(this, m.from, m.context);
        return;
      case 'transferLeader':
        leaderTransfer(this, m.target);
        return;
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        this.reject(`${m.type} from another leader of the same term`, m);
        return;
      default:
        break;
    }
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    if (m.type === 'appendResponse') handleAppendResponse(this, m, pr);
    else if (m.type === 'heartbeatResponse') handleHeartbeatResponse(this, m, pr);
  }

  /** Appends proposals; returns why they were refused, or undefined. */
  #leaderPropose(entries: readonly Entry[], local: boolean): string | undefined {
    if (!this.progress.has(this.id)) return 'the leader was removed';
    if (this.leadTransferee !== 0) return 'leadership transfer in progress';
    let pendingConf = this.pendingConfIndex;
    const last = this.log.lastIndex();
    const out: Entry[] = [];
    for (const [i, e] of entries.entries()) {
      if (e.type !== 'confChange') {
        out.push(e);
        continue;
      }
      let reason: string | undefined;
      try {
        const cc = decodeConfChange(e.data);
        reason =
          pendingConf > this.log.applied
            ? 'a membership change is pending'
            : checkConfChange(this.conf, cc);
      } catch (err) {
        reason = `malformed membership change: ${(err as Error).message}`;
      }
      if (reason !== undefined) {
        if (local) return reason;
        // A forwarded change cannot be answered: it becomes a no-op (etcd).
        out.push({ term: 0, index: 0, type: 'normal', data: EMPTY });
      } else {
        out.push(e);
        pendingConf = last + i + 1;
      }
    }
    if (!this.#appendEntries(out)) return 'too much uncommitted data';
    this.pendingConfIndex = pendingConf;
    bcastAppend(this);
    return undefined;
  }

  #appendEntries(entries: readonly Entry[]): boolean {
    const last = this.log.lastIndex();
    const ents = entries.map((e, i) => ({
      term: this.term,
      index: last + 1 + i,
      type: e.type,
      data: e.data,
    }));
    const bytes = entriesBytes(ents);
    const max = this.opts.maxUncommittedBytes;
    // Empty entries are always accepted, and one entry even when it alone exceeds the limit.
    if (max > 0 && this.uncommittedSize > 0 && bytes > 0 && this.uncommittedSize + bytes > max) {
      return false;
    }
    this.uncommittedSize += bytes;
    this.log.append(ents);
    return true;
  }

  reduceUncommittedSize(bytes: number): void {
    this.uncommittedSize = Math.max(0, this.uncommittedSize - bytes);
  }

  // ---- local API --------------------------------------------------------------------

  proposeLocal(entries: readonly Entry[]): void {
    if (this.role === 'leader') {
      const reason = this.#leaderPropose(entries, true);
      if (reason !== undefined) throw new ProposalDroppedError(reason);
      return;
    }
    if (this.role !== 'follower' || this.lead === 0) throw new NotLeaderError(0);
    this.msgs.push({ type: 'propose', from: this.id, to: this.lead, term: 0, entries });
  }

  readIndexLocal(context: Uint8Array): void {
    if (this.role === 'leader') {
      leaderReadIndex(this, this.id, context);
      return;
    }
    if (this.role !== 'follower' || this.lead === 0) throw new NotLeaderError(0);
    this.msgs.push({ type: 'readIndex', from: this.id, to: this.lead, term: 0, context });
  }

  transferLocal(target: RaftId): void {
    if (this.role === 'leader') {
      leaderTransfer(this, target);
      return;
    }
    if (this.role !== 'follower' || this.lead === 0) throw new NotLeaderError(0);
    this.msgs.push({ type: 'transferLeader', from: this.id, to: this.lead, term: 0, target });
  }

  reportUnreachable(id: RaftId): void {
    const pr = this.role === 'leader' ? this.progress.get(id) : undefined;
    if (pr?.state === 'replicate') pr.becomeProbe();
  }

  reportSnapshot(id: RaftId, ok: boolean): void {
    const pr = this.role === 'leader' ? this.progress.get(id) : undefined;
    if (pr?.state !== 'snapshot') return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    // Wait for a heartbeat reply before probing again (etcd).
    pr.msgAppFlowPaused = true;
  }

  applyConfChange(cc: Parameters<typeof applyConfChangeTo>[1]): ConfState {
    this.#switchToConfig(applyConfChangeTo(this.conf, cc));
    return this.conf;
  }

  #switchToConfig(conf: ConfState): void {
    this.conf = { voters: [...conf.voters], learners: [...conf.learners] };
    for (const id of this.conf.voters.concat(this.conf.learners)) {
      const isLearner = this.conf.learners.includes(id);
      const pr = this.progress.get(id);
      if (pr !== undefined) {
        pr.isLearner = isLearner;
        continue;
      }
      const fresh = this.#newProgress(id, isLearner);
      // A new member gets a grace period before check-quorum counts it inactive.
      fresh.recentActive = true;
      this.progress.set(id, fresh);
    }
    for (const id of [...this.progress.keys()]) {
      if (!isMember(this.conf, id)) this.progress.delete(id);
    }
    if (this.role !== 'leader') return;
    if (!this.isVoter()) {
      // Removed (or no longer a voter): hand over by stepping down (etcd StepDownOnRemoval).
      this.becomeFollower(this.term, 0);
      return;
    }
    if (this.leadTransferee !== 0 && !this.progress.has(this.leadTransferee)) {
      this.leadTransferee = 0;
    }
    if (maybeCommit(this)) releasePendingReads(this);
    bcastAppend(this);
  }
}
