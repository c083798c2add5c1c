// The public, synchronous face of the Raft core (etcd-io/raft rawnode.go). The driver
// feeds ticks, messages and proposals, then drains a Ready, persists it, sends its
// messages, applies committed entries and calls advance(). No timers, I/O or promises.

import { encodeConfChange } from './conf-change.js';
import { compileRawNodeOptions, type RawNodeOptions } from './options.js';
import type { ProgressState } from './progress.js';
import { Raft } from './raft.js';
import { entriesBytes } from './raft-log.js';
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  RaftId,
  Ready,
  Role,
  SoftState,
} from './types.js';

/** The leader's view of one member, as shown by {@link RawNode.status}. */
export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly recentActive: boolean;
  readonly isLearner: boolean;
  readonly inflight: number;
  readonly pendingSnapshot: number;
}

/** The scalar part of a member's status. */
export interface RaftSummary {
  readonly id: RaftId;
  readonly term: number;
  readonly role: Role;
  /** The known leader of `term`, 0 when none. */
  readonly leader: RaftId;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly firstIndex: number;
}

/** A point-in-time view of a member, for operators and tests. */
export interface RaftStatus extends RaftSummary {
  readonly vote: RaftId;
  /** Member being handed leadership, 0 when no transfer runs. */
  readonly leadTransferee: RaftId;
  readonly conf: ConfState;
  /** Per member replication progress; empty unless leader. */
  readonly progress: Readonly<Record<RaftId, ProgressStatus>>;
}

/**
 * A Raft member as a pure state machine.
 *
 * The Ready contract (see {@link Ready}): after any input, while `hasReady()`, take
 * `ready()`, persist its `entries`/`hardState`/`snapshot` (fsync when `mustSync`), send
 * `messages` at once and `messagesAfterPersist` only once the write is durable, apply
 * `snapshot` then `committedEntries` (calling `applyConfChange` for `confChange` entries),
 * then `advance(ready)`. Only one Ready may be outstanding; `step`/`tick`/`propose` may be
 * called while it is being persisted.
 *
 * @example
 * const node = RawNode.create({ id: 1, storage, rng: new SeededRng(1) });
 * node.campaign();
 * while (node.hasReady()) { const rd = node.ready(); persist(rd); send(rd); node.advance(rd); }
 */
export class RawNode {
  readonly #raft: Raft;
  #prevSoft: SoftState;
  #prevHard: HardState;
  /** Our own vote/ack messages of the outstanding Ready, stepped back on advance. */
  #stepsOnAdvance: Message[] = [];
  #outstanding: Ready | undefined;

  private constructor(raft: Raft) {
    this.#raft = raft;
    this.#prevSoft = { leader: raft.lead, role: raft.role };
    this.#prevHard = raft.hardState();
  }

  /** Creates a member from its storage; throws RangeError/TypeError on bad options. */
  static create(options: RawNodeOptions): RawNode {
    return new RawNode(new Raft(compileRawNodeOptions(options)));
  }

  get id(): RaftId {
    return this.#raft.id;
  }

  /** Advances logical time by one tick (the driver picks the tick length). */
  tick(): void {
    this.#raft.tick();
  }

  /** Feeds a message from a peer; malformed or unexpected ones are refused and reported. */
  step(msg: Message): void {
    this.#raft.step(msg);
  }

  /** Starts an election now (with a pre-vote round when enabled). */
  campaign(): void {
    this.#raft.hup(false);
  }

  /**
   * Proposes `data` for the log. On a follower the proposal is forwarded to the leader;
   * throws {@link NotLeaderError} when no leader is known and {@link ProposalDroppedError}
   * when the leader refuses it.
   */
  propose(data: Uint8Array): void {
    this.#raft.proposeLocal([{ term: 0, index: 0, type: 'normal', data }]);
  }

  /** Proposes a membership change; at most one may be pending (see conf-change.ts). */
  proposeConfChange(cc: ConfChange): void {
    this.#raft.proposeLocal([
      { term: 0, index: 0, type: 'confChange', data: encodeConfChange(cc) },
    ]);
  }

  /** Applies a committed change (call while applying its entry); returns the new configuration. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.#raft.applyConfChange(cc);
  }

  /**
   * Asks for a linearizable read point: a `ReadState` with this `context` appears in a
   * later Ready; serve the read once the state machine applied its `index`.
   */
  readIndex(context: Uint8Array): void {
    this.#raft.readIndexLocal(context);
  }

  /** Hands leadership to `target` (forwarded to the leader when called on a follower). */
  transferLeader(target: RaftId): void {
    this.#raft.transferLocal(target);
  }

  /** The transport could not reach `id`: stop streaming to it optimistically. */
  reportUnreachable(id: RaftId): void {
    this.#raft.reportUnreachable(id);
  }

  /** Outcome of sending a snapshot to `id`; the driver must report every snapshot message. */
  reportSnapshot(id: RaftId, ok: boolean): void {
    this.#raft.reportSnapshot(id, ok);
  }

  /** Whether a Ready with work is available (false while one is outstanding). */
  hasReady(): boolean {
    if (this.#outstanding !== undefined) return false;
    const r = this.#raft;
    const u = r.log.unstable;
    return (
      r.lead !== this.#prevSoft.leader ||
      r.role !== this.#prevSoft.role ||
      !sameHardState(r.hardState(), this.#prevHard) ||
      u.nextSnapshot() !== undefined ||
      u.offsetInProgress < u.offset + u.entries.length ||
      r.log.hasNextCommittedEnts() ||
      r.msgs.length > 0 ||
      r.msgsAfterPersist.length > 0 ||
      r.readStates.length > 0
    );
  }

  /** Takes the pending work; call {@link advance} with it before taking another. */
  ready(): Ready {
    if (this.#outstanding !== undefined) {
      throw new Error('Take ready failed: the previous ready was not advanced');
    }
    const r = this.#raft;
    const soft: SoftState = { leader: r.lead, role: r.role };
    const hard = r.hardState();
    const entries = r.log.unstable.nextEntries();
    const snapshot = r.log.unstable.nextSnapshot();
    const committedEntries = r.log.nextCommittedEnts();
    const messagesAfterPersist: Message[] = [];
    for (const m of r.msgsAfterPersist) {
      if (m.to === r.id) this.#stepsOnAdvance.push(m);
      else messagesAfterPersist.push(m);
    }
    const last = entries[entries.length - 1];
    if (r.role === 'leader' && last !== undefined) {
      // The leader counts itself toward a commit only once its own write is durable.
      this.#stepsOnAdvance.push({
        type: 'appendResponse',
        from: r.id,
        to: r.id,
        term: r.term,
        index: last.index,
        reject: false,
        rejectHint: 0,
        hintTerm: 0,
      });
    }
    const rd: {
      -readonly [K in keyof Ready]: Ready[K];
    } = {
      entries,
      committedEntries,
      messages: r.msgs,
      messagesAfterPersist,
      readStates: r.readStates,
      mustSync:
        entries.length > 0 ||
        snapshot !== undefined ||
        hard.term !== this.#prevHard.term ||
        hard.vote !== this.#prevHard.vote,
    };
    if (soft.leader !== this.#prevSoft.leader || soft.role !== this.#prevSoft.role) {
      rd.softState = soft;
    }
    if (!sameHardState(hard, this.#prevHard)) rd.hardState = hard;
    if (snapshot !== undefined) rd.snapshot = snapshot;
    r.msgs = [];
    r.msgsAfterPersist = [];
    r.readStates = [];
    this.#prevSoft = soft;
    this.#prevHard = hard;
    r.log.unstable.acceptInProgress();
    const lastCommitted = committedEntries[committedEntries.length - 1];
    if (lastCommitted !== undefined) r.log.applying = lastCommitted.index;
    this.#outstanding = rd;
    return rd;
  }

  /** The Ready was persisted, sent and applied. */
  advance(rd: Ready): void {
    if (rd !== this.#outstanding) {
      throw new Error('Advance failed: this ready is not the outstanding one');
    }
    this.#outstanding = undefined;
    const r = this.#raft;
    const last = rd.entries[rd.entries.length - 1];
    if (last !== undefined) r.log.unstable.stableTo(last.index, last.term);
    if (rd.snapshot !== undefined) {
      r.log.unstable.stableSnapTo(rd.snapshot.meta.index);
      r.log.appliedTo(rd.snapshot.meta.index);
    }
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastCommitted !== undefined) {
      r.log.appliedTo(lastCommitted.index);
      r.reduceUncommittedSize(entriesBytes(rd.committedEntries));
    }
    const steps = this.#stepsOnAdvance;
    this.#stepsOnAdvance = [];
    for (const m of steps) r.stepChecked(m);
  }

  /**
   * Term of the log entry at `index` (stable or not), undefined when compacted or beyond
   * the log. For diagnostics, the simulator's checkers and tests.
   * @internal
   */
  logTerm(index: number): number | undefined {
    return this.#raft.log.term(index);
  }

  /**
   * Entries in [lo, hi) of the log, stable or not, clamped to what the log holds.
   * For diagnostics, the simulator's checkers and tests.
   * @internal
   */
  logEntries(lo: number, hi: number): Entry[] {
    const log = this.#raft.log;
    const from = Math.max(lo, log.firstIndex());
    const to = Math.min(hi, log.lastIndex() + 1);
    return from < to ? log.slice(from, to, Number.MAX_SAFE_INTEGER) : [];
  }

  status(): RaftStatus {
    const r = this.#raft;
    return {
      ...this.summary(),
      vote: r.vote,
      leadTransferee: r.leadTransferee,
      conf: { voters: [...r.conf.voters], learners: [...r.conf.learners] },
      progress: progressOf(r),
    };
  }

  /**
   * The scalar part of {@link status}, cheap enough to read after every simulated step.
   * @internal
   */
  summary(): RaftSummary {
    const r = this.#raft;
    return {
      id: r.id,
      term: r.term,
      role: r.role,
      leader: r.lead,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      firstIndex: r.log.firstIndex(),
    };
  }
}

function progressOf(r: Raft): Record<RaftId, ProgressStatus> {
  const progress: Record<RaftId, ProgressStatus> = {};
  if (r.role !== 'leader') return progress;
  for (const [id, pr] of r.progress) {
    progress[id] = {
      match: pr.match,
      next: pr.next,
      state: pr.state,
      recentActive: pr.recentActive,
      isLearner: pr.isLearner,
      inflight: pr.inflights.count,
      pendingSnapshot: pr.pendingSnapshot,
    };
  }
  return progress;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
