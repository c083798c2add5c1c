// The vocabulary of the Raft core: log entries, durable state, messages and the Ready
// batch the core hands to its driver. Everything here is plain data, so the same core
// runs under the real driver (files, gRPC, timers) and under the deterministic simulator.
//
// Indexes and terms are JS numbers: exact up to 2^53, far beyond any log we keep.

/** A member's ID: unique for all time in a cluster, never 0, never reused. */
export type RaftId = number;

/** 0 stands for "no member" (no vote cast, no known leader). */
export const NO_MEMBER: RaftId = 0;

/** `normal` entries carry application data; `confChange` entries a membership change. */
export type EntryType = 'normal' | 'confChange';

/** One log entry. */
export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** Opaque to Raft for `normal`; an encoded {@link ConfChange} for `confChange`. */
  readonly data: Uint8Array;
}

/** What must survive a crash besides the log (Raft §5.1, thesis §3.8). */
export interface HardState {
  readonly term: number;
  readonly vote: RaftId;
  readonly commit: number;
}

/** The voting and non-voting members of a configuration. */
export interface ConfState {
  readonly voters: readonly RaftId[];
  readonly learners: readonly RaftId[];
}

/** Where a snapshot sits in the log and the configuration at that point. */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly conf: ConfState;
}

/** A state-machine image replacing the log up to `meta.index`. */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  /** The state machine's serialised image at `meta.index`; opaque to Raft. */
  readonly data: Uint8Array;
}

/**
 * One membership change at a time (single-server changes, thesis §4.1): add a learner,
 * promote a learner to voter, or remove a member. Takes effect when applied.
 */
export type ConfChange =
  | { readonly type: 'addLearner'; readonly id: RaftId; readonly context?: Uint8Array }
  | { readonly type: 'promote'; readonly id: RaftId }
  | { readonly type: 'remove'; readonly id: RaftId };

interface MessageBase {
  readonly from: RaftId;
  readonly to: RaftId;
  readonly term: number;
}

/** The messages members exchange. Local inputs (ticks, proposals) are methods, not messages. */
export type Message =
  | (MessageBase & {
      readonly type: 'append';
      /** Index and term of the entry just before `entries`. */
      readonly index: number;
      readonly logTerm: number;
      readonly entries: readonly Entry[];
      readonly commit: number;
    })
  | (MessageBase & {
      readonly type: 'appendResponse';
      /** On success the highest index now matching; on reject the index that was refused. */
      readonly index: number;
      readonly reject: boolean;
      /** On reject: a hint (index, term) so the leader can skip a whole term (etcd's findConflictByTerm). */
      readonly rejectHint: number;
      readonly hintTerm: number;
    })
  | (MessageBase & {
      readonly type: 'heartbeat';
      readonly commit: number;
      /** Read-index context being confirmed, empty when none. */
      readonly context: Uint8Array;
    })
  | (MessageBase & { readonly type: 'heartbeatResponse'; readonly context: Uint8Array })
  | (MessageBase & {
      readonly type: 'vote' | 'preVote';
      readonly index: number;
      readonly logTerm: number;
      /** Set by leadership transfer: lets the vote through check-quorum's lease. */
      readonly force: boolean;
    })
  | (MessageBase & { readonly type: 'voteResponse' | 'preVoteResponse'; readonly reject: boolean })
  | (MessageBase & { readonly type: 'snapshot'; readonly snapshot: Snapshot })
  | (MessageBase & { readonly type: 'timeoutNow' })
  /** A follower asks the leader to append these entries (proposal forwarding). */
  | (MessageBase & { readonly type: 'propose'; readonly entries: readonly Entry[] })
  /** A follower asks the leader for a read index; `context` identifies the request. */
  | (MessageBase & { readonly type: 'readIndex'; readonly context: Uint8Array })
  | (MessageBase & {
      readonly type: 'readIndexResponse';
      readonly index: number;
      readonly context: Uint8Array;
    })
  | (MessageBase & { readonly type: 'transferLeader'; readonly target: RaftId });

/** The `type` tag of a {@link Message}. */
export type MessageType = Message['type'];

/** A member's role in its current term. */
export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile state a driver may show or react to; changes are reported in Ready. */
export interface SoftState {
  readonly leader: RaftId;
  readonly role: Role;
}

/** A read that is safe to serve once the local state machine has applied `index`. */
export interface ReadState {
  readonly index: number;
  readonly context: Uint8Array;
}

/**
 * What the driver must do next, in this order (etcd's Ready contract):
 * 1. persist `entries` (truncating any persisted suffix they overwrite), `hardState` and
 *    `snapshot`, with fsync when `mustSync`;
 * 2. only then send `messagesAfterPersist` (votes and acks that depend on that state);
 *    `messages` may be sent at once, in parallel with the write (thesis §10.2.1);
 * 3. apply `snapshot`, then `committedEntries`, in order;
 * 4. call `advance(ready)`.
 */
export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly messagesAfterPersist: readonly Message[];
  readonly readStates: readonly ReadState[];
  readonly mustSync: boolean;
}

/**
 * The durable log as the core reads it. Synchronous on purpose: the driver keeps the
 * uncompacted log in memory (the WAL is append-only on disk), so the core never awaits
 * inside a state transition. Mirrors etcd-io/raft's `Storage`.
 */
export interface LogStorage {
  initialState(): { hardState: HardState; conf: ConfState };
  /** Entries in [lo, hi), at most `maxBytes` of data but always at least one. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Term of the entry at `index`; the snapshot's term at its index. Throws {@link CompactedError} below it. */
  term(index: number): number;
  /** Index of the first entry still in the log (snapshot index + 1). */
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}

/** Deterministic randomness injected into the core (election timeouts). */
export interface Rng {
  /** An integer in [0, n). */
  int(n: number): number;
}
