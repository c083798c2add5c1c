// Every proposal a RaftNode makes is wrapped with (proposer, sequence) so the member that
// proposed it recognises its own entry when it is applied, wherever the core forwarded
// it (etcd's request IDs play this role). Layout: u8 version | f64 proposer | f64 seq | data.
import type { RaftId } from '../core/types.js';

const VERSION = 1;
/** Bytes the envelope adds in front of the caller's data. */
export const ENVELOPE_BYTES = 17;

/** A decoded envelope: who proposed the entry, their sequence number, the caller's data. */
export interface Envelope {
  readonly proposer: RaftId;
  readonly seq: number;
  readonly data: Uint8Array;
}

/** Wraps `data` for the log. */
export function wrapProposal(proposer: RaftId, seq: number, data: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(ENVELOPE_BYTES + data.length);
  buf.writeUInt8(VERSION, 0);
  buf.writeDoubleLE(proposer, 1);
  buf.writeDoubleLE(seq, 9);
  buf.set(data, ENVELOPE_BYTES);
  return buf;
}

/** Unwraps an entry's data; undefined when it carries no envelope (leader no-op entries). */
export function unwrapProposal(entryData: Uint8Array): Envelope | undefined {
  if (entryData.length < ENVELOPE_BYTES || entryData[0] !== VERSION) return undefined;
  const buf = Buffer.isBuffer(entryData)
    ? entryData
    : Buffer.from(entryData.buffer, entryData.byteOffset, entryData.byteLength);
  return {
    proposer: buf.readDoubleLE(1),
    seq: buf.readDoubleLE(9),
    data: buf.subarray(ENVELOPE_BYTES),
  };
}
