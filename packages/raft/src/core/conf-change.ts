// Membership changes: one server at a time (thesis §4.1), with learners.
//
// Why single-server changes and not joint consensus: any two majorities of C and of C
// plus or minus one voter overlap, so a change needs no intermediate joint configuration,
// and "add as learner, catch up, then promote" keeps the new member from stalling
// commits while it copies the log (thesis §4.2.1). The rules that keep it safe:
// * at most one change in flight: the leader refuses a new change while an earlier one
//   is not applied (`pendingConfIndex`), and a new leader treats its whole uncommitted
//   tail as possibly holding one, so it first commits an entry of its own term
//   (the 2015 raft-dev single-server bug);
// * a change takes effect when applied (etcd's choice), on every member alike.

import type { ConfChange, ConfState, RaftId } from './types.js';

const TYPE_CODES = { addLearner: 1, promote: 2, remove: 3 } as const;
const ID_BYTES = 8;

/**
 * Encodes a change as bytes for a `confChange` entry: 1 byte type, 8 bytes id
 * (big-endian float64, exact for ids below 2^53), then the optional context.
 *
 * @example
 * const data = encodeConfChange({ type: 'addLearner', id: 4 });
 * decodeConfChange(data); // { type: 'addLearner', id: 4 }
 */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const context = cc.type === 'addLearner' && cc.context ? cc.context : new Uint8Array();
  const out = new Uint8Array(1 + ID_BYTES + context.byteLength);
  out[0] = TYPE_CODES[cc.type];
  new DataView(out.buffer).setFloat64(1, cc.id);
  out.set(context, 1 + ID_BYTES);
  return out;
}

/** Decodes {@link encodeConfChange}'s bytes; throws RangeError on anything malformed. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.byteLength < 1 + ID_BYTES) {
    throw new RangeError(
      `Decode conf change failed: need at least ${1 + ID_BYTES} bytes: got ${data.byteLength}`,
    );
  }
  const id = new DataView(data.buffer, data.byteOffset, data.byteLength).getFloat64(1);
  if (!Number.isSafeInteger(id) || id <= 0) {
    throw new RangeError(`Decode conf change failed: id must be a positive integer: got ${id}`);
  }
  switch (data[0]) {
    case TYPE_CODES.addLearner: {
      const context = data.slice(1 + ID_BYTES);
      return context.byteLength > 0
        ? { type: 'addLearner', id, context }
        : { type: 'addLearner', id };
    }
    case TYPE_CODES.promote:
      return { type: 'promote', id };
    case TYPE_CODES.remove:
      return { type: 'remove', id };
    default:
      throw new RangeError(`Decode conf change failed: unknown type code: got ${data[0]}`);
  }
}

/**
 * Why `cc` cannot be applied to `conf`, or undefined when it can. The leader checks
 * this before appending; members applying a committed change apply it regardless.
 */
export function checkConfChange(conf: ConfState, cc: ConfChange): string | undefined {
  const isVoter = conf.voters.includes(cc.id);
  const isLearner = conf.learners.includes(cc.id);
  switch (cc.type) {
    case 'addLearner':
      return isVoter || isLearner ? `member ${cc.id} already exists` : undefined;
    case 'promote':
      return isLearner ? undefined : `member ${cc.id} is not a learner`;
    case 'remove':
      if (!isVoter && !isLearner) return `member ${cc.id} does not exist`;
      if (isVoter && conf.voters.length === 1) return `member ${cc.id} is the last voter`;
      return undefined;
  }
}

/** The configuration after `cc`; a change that does not fit is a no-op. */
export function applyConfChangeTo(conf: ConfState, cc: ConfChange): ConfState {
  const voters = conf.voters.filter((id) => id !== cc.id);
  const learners = conf.learners.filter((id) => id !== cc.id);
  switch (cc.type) {
    case 'addLearner':
      if (conf.voters.includes(cc.id)) return conf;
      return { voters, learners: sorted([...learners, cc.id]) };
    case 'promote':
      if (!conf.learners.includes(cc.id)) return conf;
      return { voters: sorted([...voters, cc.id]), learners };
    case 'remove':
      if (conf.voters.includes(cc.id) && conf.voters.length === 1) return conf;
      return { voters, learners };
  }
}

/** Whether `id` is a voter or learner of `conf`. */
export function isMember(conf: ConfState, id: RaftId): boolean {
  return conf.voters.includes(id) || conf.learners.includes(id);
}

function sorted(ids: RaftId[]): RaftId[] {
  return ids.sort((a, b) => a - b);
}
