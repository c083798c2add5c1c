// Typed errors of @shoal/raft. Each carries a stable `code` from RAFT_ERROR_CODES; the
// codes are API: never renumber or reuse one.
import type { RaftId } from './core/types.js';

/** Every code a @shoal/raft error can carry. */
export const RAFT_ERROR_CODES = {
  /** A proposal or read reached a member that is not the leader. */
  SHOAL_RAFT_NOT_LEADER: 'SHOAL_RAFT_NOT_LEADER',
  /** The log was asked for entries a snapshot already replaced. */
  SHOAL_RAFT_COMPACTED: 'SHOAL_RAFT_COMPACTED',
  /** The log was asked for entries it does not have yet. */
  SHOAL_RAFT_UNAVAILABLE: 'SHOAL_RAFT_UNAVAILABLE',
  /** A WAL segment or snapshot file failed verification somewhere a crash cannot explain. */
  SHOAL_RAFT_CORRUPT_LOG: 'SHOAL_RAFT_CORRUPT_LOG',
  /** The node or its storage was stopped while the call was pending. */
  SHOAL_RAFT_STOPPED: 'SHOAL_RAFT_STOPPED',
  /** A proposal was lost (leader change, log overwritten) before it committed. */
  SHOAL_RAFT_PROPOSAL_DROPPED: 'SHOAL_RAFT_PROPOSAL_DROPPED',
} as const;

export type RaftErrorCode = keyof typeof RAFT_ERROR_CODES;

const RAFT_ERROR_BRAND = Symbol.for('shoal.raft.error');

/** Base of the package's errors: `instanceof` survives two loaded copies (STYLE 12). */
export class RaftError extends Error {
  override name = 'RaftError';
  readonly code: RaftErrorCode;

  constructor(code: RaftErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== RaftError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && RAFT_ERROR_BRAND in value;
  }

  get [RAFT_ERROR_BRAND](): true {
    return true;
  }
}

/**
 * A request reached a follower or candidate; `leaderId` is the known leader (0 if none).
 *
 * @example
 * if (err instanceof NotLeaderError && err.leaderId !== 0) retryAt(err.leaderId);
 */
export class NotLeaderError extends RaftError {
  override name = 'NotLeaderError';
  readonly leaderId: RaftId;

  constructor(leaderId: RaftId, options?: { cause?: unknown }) {
    super(
      'SHOAL_RAFT_NOT_LEADER',
      leaderId === 0
        ? 'Propose: this member is not the leader: no leader is known, retry later'
        : `Propose: this member is not the leader: leader is member ${leaderId}`,
      options,
    );
    this.leaderId = leaderId;
  }
}

/** The log below `firstIndex` was compacted into a snapshot. */
export class CompactedError extends RaftError {
  override name = 'CompactedError';
  constructor(
    readonly index: number,
    readonly firstIndex: number,
  ) {
    super('SHOAL_RAFT_COMPACTED', `Read log: index ${index} is compacted: first index is ${firstIndex}`);
  }
}

/** The log does not reach `index` yet. */
export class UnavailableError extends RaftError {
  override name = 'UnavailableError';
  constructor(
    readonly index: number,
    readonly lastIndex: number,
  ) {
    super('SHOAL_RAFT_UNAVAILABLE', `Read log: index ${index} is unavailable: last index is ${lastIndex}`);
  }
}

/**
 * A WAL or snapshot file is damaged somewhere other than a torn last write. Recovery is
 * an operator's decision (restore the member from a peer), so we never repair it.
 */
export class CorruptLogError extends RaftError {
  override name = 'CorruptLogError';
  readonly file: string;
  readonly offset: number;

  constructor(args: { file: string; offset: number; reason: string }, options?: { cause?: unknown }) {
    super(
      'SHOAL_RAFT_CORRUPT_LOG',
      `Open raft log: corrupt record in "${args.file}" at offset ${args.offset}: ${args.reason}; restore this member's data from a healthy member`,
      options,
    );
    this.file = args.file;
    this.offset = args.offset;
  }
}

/** The node or storage was stopped (or failed) while the call was pending. */
export class RaftStoppedError extends RaftError {
  override name = 'RaftStoppedError';
  constructor(reason: string, options?: { cause?: unknown }) {
    super('SHOAL_RAFT_STOPPED', `Raft call failed: the node is stopped: ${reason}`, options);
  }
}

/** A proposal was appended but lost before commit (a new leader overwrote it). */
export class ProposalDroppedError extends RaftError {
  override name = 'ProposalDroppedError';
  constructor(readonly index: number) {
    super(
      'SHOAL_RAFT_PROPOSAL_DROPPED',
      `Propose: entry ${index} was overwritten by a new leader before it committed: retry`,
    );
  }
}
