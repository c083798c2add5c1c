// Errors of the Raft package. One catalog of stable codes; every class is branded with
// Symbol.for so `instanceof` works across two loaded copies of the package.

/** Stable error codes of `@shoal/raft`, split into user-facing and system codes. */
export const RaftErrorCode = {
  /** User: the request needs the leader and this member is not it. */
  NotLeader: 'SHOAL_RAFT_NOT_LEADER',
  /** User: the leader refused a proposal (transfer in progress, too much uncommitted data, pending change). */
  ProposalDropped: 'SHOAL_RAFT_PROPOSAL_DROPPED',
  /** User: a proposal went to a leader that was replaced before its entry reached this member; outcome unknown. */
  LeaderChanged: 'SHOAL_RAFT_LEADER_CHANGED',
  /** System: the requested log index was compacted into a snapshot. */
  Compacted: 'SHOAL_RAFT_COMPACTED',
  /** System: the requested log index is not in the log (yet). */
  Unavailable: 'SHOAL_RAFT_UNAVAILABLE',
  /** System: a snapshot older than the current one was offered to storage. */
  SnapshotOutOfDate: 'SHOAL_RAFT_SNAPSHOT_OUT_OF_DATE',
  /** System: a WAL or snapshot file is damaged somewhere a crash cannot explain. */
  CorruptLog: 'SHOAL_RAFT_CORRUPT_LOG',
  /** System: the node or its storage stopped (or failed) while the call was pending. */
  Stopped: 'SHOAL_RAFT_STOPPED',
  /** System: a proposal or read was not answered in time; its outcome is unknown. */
  Timeout: 'SHOAL_RAFT_TIMEOUT',
} as const;

/** One of the {@link RaftErrorCode} values. */
export type RaftErrorCode = (typeof RaftErrorCode)[keyof typeof RaftErrorCode];

const BRAND = Symbol.for('shoal.raft.RaftError');

/** Base class of every error `@shoal/raft` throws on purpose. */
export class RaftError extends Error {
  readonly code: RaftErrorCode;

  constructor(code: RaftErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RaftError';
    this.code = code;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && BRAND in value;
  }

  get [BRAND](): true {
    return true;
  }
}

function brandCheck(value: unknown, code: RaftErrorCode): boolean {
  return value instanceof RaftError && value.code === code;
}

/**
 * The member is not the leader. `leaderId` is the leader it knows of, or 0 when none,
 * so callers can answer "not leader, leader is X" or retry later.
 *
 * @example
 * try { node.propose(data); } catch (err) {
 *   if (err instanceof NotLeaderError && err.leaderId !== 0) redirect(err.leaderId);
 * }
 */
export class NotLeaderError extends RaftError {
  readonly leaderId: number;

  constructor(leaderId: number, options?: { cause?: unknown }) {
    super(
      RaftErrorCode.NotLeader,
      leaderId === 0
        ? 'Propose failed: this member is not the leader and no leader is known'
        : `Propose failed: this member is not the leader: leader is ${leaderId}`,
      options,
    );
    this.name = 'NotLeaderError';
    this.leaderId = leaderId;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return brandCheck(value, RaftErrorCode.NotLeader);
  }
}

/** The leader refused a proposal; `reason` says why (stable, for logs and tests). */
export class ProposalDroppedError extends RaftError {
  readonly reason: string;

  constructor(reason: string, options?: { cause?: unknown }) {
    super(RaftErrorCode.ProposalDropped, `Propose failed: proposal dropped: ${reason}`, options);
    this.name = 'ProposalDroppedError';
    this.reason = reason;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return brandCheck(value, RaftErrorCode.ProposalDropped);
  }
}

/**
 * A follower forwarded a proposal to a leader that another one replaced before the entry
 * reached this member: it was most likely lost with the old leader, but may still
 * commit through the new one, so retry idempotently. Fails the call at the leader
 * change instead of at the request timeout.
 */
export class LeaderChangedError extends RaftError {
  constructor(oldLeader: number, newLeader: number, options?: { cause?: unknown }) {
    super(
      RaftErrorCode.LeaderChanged,
      `Propose failed: forwarded to leader ${oldLeader}, which member ${newLeader} replaced before the entry arrived here: outcome unknown, retry`,
      options,
    );
    this.name = 'LeaderChangedError';
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return brandCheck(value, RaftErrorCode.LeaderChanged);
  }
}

/** Thrown by {@link LogStorage} for an index at or below the snapshot (compacted away). */
export class CompactedError extends RaftError {
  readonly index: number;

  constructor(index: number, firstIndex: number) {
    super(
      RaftErrorCode.Compacted,
      `Read log failed: index ${index} is compacted: first index is ${firstIndex}`,
    );
    this.name = 'CompactedError';
    this.index = index;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return brandCheck(value, RaftErrorCode.Compacted);
  }
}

/** Thrown by {@link LogStorage} for an index beyond the last entry. */
export class UnavailableError extends RaftError {
  readonly index: number;

  constructor(index: number, lastIndex: number) {
    super(
      RaftErrorCode.Unavailable,
      `Read log failed: index ${index} is unavailable: last index is ${lastIndex}`,
    );
    this.name = 'UnavailableError';
    this.index = index;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return brandCheck(value, RaftErrorCode.Unavailable);
  }
}

/** A snapshot older than the one storage holds was offered (a harmless race). */
export class SnapshotOutOfDateError extends RaftError {
  constructor(index: number, currentIndex: number) {
    super(
      RaftErrorCode.SnapshotOutOfDate,
      `Apply snapshot failed: snapshot index ${index} is out of date: storage holds ${currentIndex}`,
    );
    this.name = 'SnapshotOutOfDateError';
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return brandCheck(value, RaftErrorCode.SnapshotOutOfDate);
  }
}

/**
 * A WAL segment or snapshot file failed verification somewhere other than a torn last
 * write. Never repaired automatically: the operator restores the member from a peer.
 */
export class CorruptLogError extends RaftError {
  readonly file: string;
  readonly offset: number;

  constructor(
    args: { file: string; offset: number; reason: string },
    options?: { cause?: unknown },
  ) {
    super(
      RaftErrorCode.CorruptLog,
      `Open raft log failed: corrupt record in "${args.file}" at offset ${args.offset}: ${args.reason}: restore this member's data from a healthy member`,
      options,
    );
    this.name = 'CorruptLogError';
    this.file = args.file;
    this.offset = args.offset;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return brandCheck(value, RaftErrorCode.CorruptLog);
  }
}

/** The node or its storage was stopped, or a write failed, while the call was pending. */
export class RaftStoppedError extends RaftError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(RaftErrorCode.Stopped, `Raft call failed: the node is stopped: ${reason}`, options);
    this.name = 'RaftStoppedError';
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return brandCheck(value, RaftErrorCode.Stopped);
  }
}

/** A proposal or read got no answer in time: it may still take effect, so retry idempotently. */
export class RaftTimeoutError extends RaftError {
  constructor(ms: number, options?: { cause?: unknown }) {
    super(
      RaftErrorCode.Timeout,
      `Raft request failed: no answer after ${ms} ms: outcome unknown, retry`,
      options,
    );
    this.name = 'RaftTimeoutError';
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return brandCheck(value, RaftErrorCode.Timeout);
  }
}
