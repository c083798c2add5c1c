import type { LogStorage, Message, RaftId, Rng } from './types.js';

/** Options of {@link RawNode.create}; every field but `id`, `storage` and `rng` is optional. */
export interface RawNodeOptions {
  /** This member's ID: a positive integer, unique for all time. */
  id: RaftId;
  /** The durable log (the driver writes to it between `ready()` and `advance()`). */
  storage: LogStorage;
  /** Randomness for election timeouts (inject a seeded one in tests). */
  rng: Rng;
  /**
   * Ticks without hearing from a leader before a follower campaigns; the actual timeout is
   * drawn in [electionTick, 2 × electionTick). With the driver's 100 ms tick, 5 = [500 ms, 1 s).
   * @default 5
   */
  electionTick?: number;
  /** Ticks between leader heartbeats; must be below `electionTick`. @default 1 */
  heartbeatTick?: number;
  /** Run a pre-vote round before bumping the term (thesis §9.6). @default true */
  preVote?: boolean;
  /**
   * Leader steps down after an election timeout without hearing from a quorum, and voters
   * ignore vote requests while they heard from a leader within the timeout. @default true
   */
  checkQuorum?: boolean;
  /** Upper bound of entry payload bytes per append message (at least one entry is always sent). @default 1 MiB */
  maxSizePerMsg?: number;
  /** Unacknowledged append messages per follower in replicate state. @default 256 */
  maxInflightMsgs?: number;
  /** Unacknowledged payload bytes per follower; 0 = no limit. @default 0 */
  maxInflightBytes?: number;
  /** Uncommitted payload bytes a leader accepts before dropping proposals; 0 = no limit. @default 64 MiB */
  maxUncommittedBytes?: number;
  /** Committed payload bytes handed out per Ready (at least one entry). @default 64 MiB */
  maxCommittedBytesPerReady?: number;
  /** Last index the state machine applied before a restart (entries after it are replayed). @default 0 */
  applied?: number;
  /**
   * Called once per distinct reason when an input message is refused (malformed, from a
   * non-member, impossible index), so the driver can log it without flooding.
   */
  onRejected?: (reason: string, msg: Message) => void;
}

/** {@link RawNodeOptions} validated, with every default filled in. */
export interface CompiledRawNodeOptions {
  readonly id: RaftId;
  readonly storage: LogStorage;
  readonly rng: Rng;
  readonly electionTick: number;
  readonly heartbeatTick: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxSizePerMsg: number;
  readonly maxInflightMsgs: number;
  readonly maxInflightBytes: number;
  readonly maxUncommittedBytes: number;
  readonly maxCommittedBytesPerReady: number;
  readonly applied: number;
  readonly onRejected: (reason: string, msg: Message) => void;
}

const MIB = 1024 * 1024;

function intOption(name: string, value: number | undefined, fallback: number, min: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min) {
    throw new RangeError(
      `Create raft node failed: ${name} must be an integer ≥ ${min}: got ${String(value)}`,
    );
  }
  return v;
}

/** Validates options once; throws RangeError/TypeError on bad values. */
export function compileRawNodeOptions(options: RawNodeOptions): CompiledRawNodeOptions {
  if (options.storage === undefined || options.storage === null) {
    throw new TypeError('Create raft node failed: storage is required');
  }
  if (options.rng === undefined || typeof options.rng.int !== 'function') {
    throw new TypeError('Create raft node failed: rng with int(n) is required');
  }
  const id = intOption('id', options.id, 0, 1);
  const electionTick = intOption('electionTick', options.electionTick, 5, 2);
  const heartbeatTick = intOption('heartbeatTick', options.heartbeatTick, 1, 1);
  if (heartbeatTick >= electionTick) {
    throw new RangeError(
      `Create raft node failed: heartbeatTick must be below electionTick ${electionTick}: got ${heartbeatTick}`,
    );
  }
  return {
    id,
    storage: options.storage,
    rng: options.rng,
    electionTick,
    heartbeatTick,
    preVote: options.preVote ?? true,
    checkQuorum: options.checkQuorum ?? true,
    maxSizePerMsg: intOption('maxSizePerMsg', options.maxSizePerMsg, MIB, 0),
    maxInflightMsgs: intOption('maxInflightMsgs', options.maxInflightMsgs, 256, 1),
    maxInflightBytes: intOption('maxInflightBytes', options.maxInflightBytes, 0, 0),
    maxUncommittedBytes: intOption('maxUncommittedBytes', options.maxUncommittedBytes, 64 * MIB, 0),
    maxCommittedBytesPerReady: intOption(
      'maxCommittedBytesPerReady',
      options.maxCommittedBytesPerReady,
      64 * MIB,
      0,
    ),
    applied: intOption('applied', options.applied, 0, 0),
    onRejected: options.onRejected ?? (() => {}),
  };
}
