// Proposals travel as batches: every client proposal that arrives while the previous
// Ready is being persisted goes into ONE log entry, so the leader sends one append per
// follower and gets one ack per batch instead of one per proposal (SwarmKit batches store
// actions into one proposal the same way). Each item carries (proposer, sequence) so the
// member that proposed it recognises it when applied, wherever the core forwarded it.
//
// Layout: u8 version | u32 count | count × (f64 proposer | f64 seq | u32 length | data).
import type { RaftId } from '../core/types.js';

const VERSION = 2;
const HEADER_BYTES = 5;
const ITEM_HEADER_BYTES = 20;

/** One client proposal inside a batch entry. */
export interface BatchItem {
  readonly proposer: RaftId;
  readonly seq: number;
  readonly data: Uint8Array;
}

/** Encodes proposals into one entry's data. */
export function encodeBatch(items: readonly BatchItem[]): Buffer {
  let size = HEADER_BYTES;
  for (const it of items) size += ITEM_HEADER_BYTES + it.data.length;
  const buf = Buffer.allocUnsafe(size);
  buf.writeUInt8(VERSION, 0);
  buf.writeUInt32LE(items.length, 1);
  let pos = HEADER_BYTES;
  for (const it of items) {
    buf.writeDoubleLE(it.proposer, pos);
    buf.writeDoubleLE(it.seq, pos + 8);
    buf.writeUInt32LE(it.data.length, pos + 16);
    buf.set(it.data, pos + ITEM_HEADER_BYTES);
    pos += ITEM_HEADER_BYTES + it.data.length;
  }
  return buf;
}

/**
 * Decodes an entry's data; undefined when it is not a batch (the empty entry a new
 * leader appends) or is malformed.
 */
export function decodeBatch(data: Uint8Array): BatchItem[] | undefined {
  if (data.length < HEADER_BYTES || data[0] !== VERSION) return undefined;
  const buf = Buffer.isBuffer(data)
    ? data
    : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const count = buf.readUInt32LE(1);
  const items: BatchItem[] = [];
  let pos = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (pos + ITEM_HEADER_BYTES > buf.length) return undefined;
    const len = buf.readUInt32LE(pos + 16);
    const end = pos + ITEM_HEADER_BYTES + len;
    if (end > buf.length) return undefined;
    items.push({
      proposer: buf.readDoubleLE(pos),
      seq: buf.readDoubleLE(pos + 8),
      data: buf.subarray(pos + ITEM_HEADER_BYTES, end),
    });
    pos = end;
  }
  return pos === buf.length ? items : undefined;
}
