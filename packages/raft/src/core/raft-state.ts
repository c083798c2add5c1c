// The state every part of the Raft state machine shares (term, vote, log, progress,
// outgoing messages). Raft (roles and step) extends it; replication.ts works on it.

import type { CompiledRawNodeOptions } from './options.js';
import type { Progress } from './progress.js';
import { RaftLog } from './raft-log.js';
import { ReadOnly } from './read-only.js';
import type { ConfState, HardState, Message, RaftId, ReadState, Role } from './types.js';

/** The variant of {@link Message} with this `type`. */
export type MessageOf<T extends Message['type']> = Extract<Message, { type: T }>;

/** Responses that vouch for persisted state (and vote requests, which carry a new term):
 * released only after the Ready is durable. */
const AFTER_PERSIST = new Set<Message['type']>([
  'appendResponse',
  'voteResponse',
  'preVoteResponse',
  'vote',
]);

/** State shared by the role logic (raft.ts) and the leader's replication (replication.ts). @internal */
export class RaftState {
  readonly id: RaftId;
  readonly opts: CompiledRawNodeOptions;
  readonly log: RaftLog;
  term = 0;
  /** Who we voted for in `term`, 0 for nobody. */
  vote: RaftId = 0;
  /** The leader of `term` as far as we know, 0 when unknown. */
  lead: RaftId = 0;
  role: Role = 'follower';
  conf: ConfState = { voters: [], learners: [] };
  /** Per member replication progress; meaningful on the leader only. */
  readonly progress = new Map<RaftId, Progress>();
  readonly votes = new Map<RaftId, boolean>();
  msgs: Message[] = [];
  msgsAfterPersist: Message[] = [];
  readStates: ReadState[] = [];
  /** Ticks since the last election timeout reset (leader: since the last quorum check). */
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  /** The member leadership is being handed to, 0 when no transfer runs. */
  leadTransferee: RaftId = 0;
  /** Index of the latest conf change in the leader's log; no new change before it applies. */
  pendingConfIndex = 0;
  /** Payload bytes the leader appended but has not seen committed. */
  uncommittedSize = 0;
  readOnly = new ReadOnly();
  /** Reads that arrived before the leader committed an entry of its term (thesis §6.4). */
  pendingReadIndex: { from: RaftId; context: Uint8Array }[] = [];
  readonly #reported = new Set<string>();

  constructor(opts: CompiledRawNodeOptions) {
    this.id = opts.id;
    this.opts = opts;
    this.log = new RaftLog(opts.storage, opts.maxCommittedBytesPerReady);
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** Reports a refused input once per distinct reason. */
  reject(reason: string, m: Message): void {
    if (this.#reported.has(reason)) return;
    this.#reported.add(reason);
    this.opts.onRejected(reason, m);
  }

  isVoter(id: RaftId = this.id): boolean {
    return this.conf.voters.includes(id);
  }

  /** Queues a message: persistence-dependent ones wait for the Ready to be durable. */
  send(m: Message): void {
    if (AFTER_PERSIST.has(m.type)) this.msgsAfterPersist.push(m);
    else this.msgs.push(m);
  }
}
