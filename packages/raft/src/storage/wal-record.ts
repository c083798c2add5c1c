// The WAL's on-disk framing and payload codecs. A record is
//
//   u32 length of (type + payload) | u32 CRC-32 of (type + payload) | u8 type | payload
//
// all little-endian. The CRC covers the type so a flipped type byte is caught too.
// Numbers (indexes, terms, member IDs) are written as float64: exact up to 2^53, which is
// what the core's `number` indexes promise (types.ts).
import { crc32 } from 'node:zlib';
import type { ConfState, Entry, EntryType, HardState, SnapshotMeta } from '../core/types.js';

/** Bytes before the type byte: length and checksum. */
export const RECORD_HEADER_BYTES = 8;

/** A record longer than this is treated as garbage (a torn length field), not allocated. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

/** The kinds of WAL records. Values are on disk: never renumber. */
export const RecordType = {
  /** Entries starting at `first`; any persisted entry at `first` or above is discarded. */
  entries: 1,
  hardState: 2,
  /** A snapshot at (index, term) is durable in its own file; the log before it is gone. */
  snapshot: 3,
} as const;

export type WalRecord =
  | { readonly type: 'entries'; readonly first: number; readonly entries: readonly Entry[] }
  | { readonly type: 'hardState'; readonly hardState: HardState }
  /**
   * `discardLog`: the snapshot came from the leader and replaces the whole log (etcd's
   * MemoryStorage.ApplySnapshot); otherwise it is a local compaction and later entries stay.
   */
  | { readonly type: 'snapshot'; readonly meta: SnapshotMeta; readonly discardLog: boolean };

const ENTRY_TYPES: readonly EntryType[] = ['normal', 'confChange'];

/** Grows a buffer as fields are appended; one allocation per few records in steady state. */
class ByteWriter {
  #buf: Buffer;
  #pos = 0;

  constructor(initial: number) {
    this.#buf = Buffer.allocUnsafe(Math.max(64, initial));
  }

  get position(): number {
    return this.#pos;
  }

  #reserve(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + n));
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }

  u8(v: number): void {
    this.#reserve(1);
    this.#buf.writeUInt8(v, this.#pos);
    this.#pos += 1;
  }

  u32(v: number): void {
    this.#reserve(4);
    this.#buf.writeUInt32LE(v, this.#pos);
    this.#pos += 4;
  }

  num(v: number): void {
    this.#reserve(8);
    this.#buf.writeDoubleLE(v, this.#pos);
    this.#pos += 8;
  }

  bytes(v: Uint8Array): void {
    this.u32(v.length);
    this.#reserve(v.length);
    this.#buf.set(v, this.#pos);
    this.#pos += v.length;
  }

  nums(v: readonly number[]): void {
    this.u32(v.length);
    for (const n of v) this.num(n);
  }

  patchU32(at: number, v: number): void {
    this.#buf.writeUInt32LE(v, at);
  }

  slice(from: number, to: number): Buffer {
    return this.#buf.subarray(from, to);
  }

  finish(): Buffer {
    return this.#buf.subarray(0, this.#pos);
  }
}

/** Reads the fields ByteWriter wrote; throws RangeError past the end (caught as corruption). */
class ByteReader {
  #pos = 0;
  constructor(readonly buf: Buffer) {}

  #need(n: number): void {
    if (this.#pos + n > this.buf.length) throw new RangeError('record payload is too short');
  }

  u8(): number {
    this.#need(1);
    const v = this.buf.readUInt8(this.#pos);
    this.#pos += 1;
    return v;
  }

  u32(): number {
    this.#need(4);
    const v = this.buf.readUInt32LE(this.#pos);
    this.#pos += 4;
    return v;
  }

  num(): number {
    this.#need(8);
    const v = this.buf.readDoubleLE(this.#pos);
    this.#pos += 8;
    return v;
  }

  bytes(): Uint8Array {
    const n = this.u32();
    this.#need(n);
    // Copy: the record buffer is a view of a whole segment we do not want to pin.
    const v = new Uint8Array(n);
    v.set(this.buf.subarray(this.#pos, this.#pos + n));
    this.#pos += n;
    return v;
  }

  nums(): number[] {
    const n = this.u32();
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.num());
    return out;
  }

  end(): void {
    if (this.#pos !== this.buf.length) throw new RangeError('record payload has trailing bytes');
  }
}

function writeConf(w: ByteWriter, conf: ConfState): void {
  w.nums(conf.voters);
  w.nums(conf.learners);
}

function readConf(r: ByteReader): ConfState {
  return { voters: r.nums(), learners: r.nums() };
}

function writePayload(w: ByteWriter, rec: WalRecord): void {
  switch (rec.type) {
    case 'entries':
      w.u8(RecordType.entries);
      w.num(rec.first);
      w.u32(rec.entries.length);
      for (const e of rec.entries) {
        w.num(e.term);
        w.num(e.index);
        w.u8(ENTRY_TYPES.indexOf(e.type));
        w.bytes(e.data);
      }
      return;
    case 'hardState':
      w.u8(RecordType.hardState);
      w.num(rec.hardState.term);
      w.num(rec.hardState.vote);
      w.num(rec.hardState.commit);
      return;
    case 'snapshot':
      w.u8(RecordType.snapshot);
      w.num(rec.meta.index);
      w.num(rec.meta.term);
      writeConf(w, rec.meta.conf);
      w.u8(rec.discardLog ? 1 : 0);
      return;
  }
}

/**
 * Frames records for one write: all records of a Ready batch go to disk in one buffer so
 * they cost one `write` and one `fdatasync`.
 */
export function encodeRecords(records: readonly WalRecord[]): Buffer {
  let estimate = 0;
  for (const rec of records) {
    estimate += 64;
    if (rec.type === 'entries') for (const e of rec.entries) estimate += 32 + e.data.length;
  }
  const w = new ByteWriter(estimate);
  for (const rec of records) {
    const start = w.position;
    w.u32(0);
    w.u32(0);
    writePayload(w, rec);
    const end = w.position;
    const body = w.slice(start + RECORD_HEADER_BYTES, end);
    w.patchU32(start, body.length);
    w.patchU32(start + 4, crc32(body));
  }
  return w.finish();
}

/** Decodes one record's body (type byte + payload); throws on any malformation. */
export function decodeRecordBody(body: Buffer): WalRecord {
  const r = new ByteReader(body);
  const type = r.u8();
  let rec: WalRecord;
  switch (type) {
    case RecordType.entries: {
      const first = r.num();
      const n = r.u32();
      const entries: Entry[] = [];
      for (let i = 0; i < n; i++) {
        const term = r.num();
        const index = r.num();
        const t = ENTRY_TYPES[r.u8()];
        if (t === undefined) throw new RangeError('unknown entry type');
        entries.push({ term, index, type: t, data: r.bytes() });
      }
      rec = { type: 'entries', first, entries };
      break;
    }
    case RecordType.hardState:
      rec = { type: 'hardState', hardState: { term: r.num(), vote: r.num(), commit: r.num() } };
      break;
    case RecordType.snapshot: {
      const index = r.num();
      const term = r.num();
      const conf = readConf(r);
      rec = { type: 'snapshot', meta: { index, term, conf }, discardLog: r.u8() === 1 };
      break;
    }
    default:
      throw new RangeError(`unknown record type ${type}`);
  }
  r.end();
  return rec;
}

/** The outcome of reading one record at an offset of a segment. */
export type RecordScan =
  | { readonly kind: 'ok'; readonly record: WalRecord; readonly next: number }
  | { readonly kind: 'end' }
  /** The header or body runs past the end of the file: a write that did not finish. */
  | { readonly kind: 'short'; readonly reason: string }
  /** The bytes are all there but wrong. `next` is where the following record would start. */
  | { readonly kind: 'bad'; readonly reason: string; readonly next: number };

/** Reads the record at `offset` of `buf`, classifying every failure for the caller. */
export function scanRecord(buf: Buffer, offset: number): RecordScan {
  if (offset === buf.length) return { kind: 'end' };
  if (offset + RECORD_HEADER_BYTES > buf.length) return { kind: 'short', reason: 'torn header' };
  const length = buf.readUInt32LE(offset);
  const sum = buf.readUInt32LE(offset + 4);
  if (length === 0 || length > MAX_RECORD_BYTES) {
    return { kind: 'short', reason: `implausible record length ${length}` };
  }
  const start = offset + RECORD_HEADER_BYTES;
  const next = start + length;
  if (next > buf.length) return { kind: 'short', reason: 'record runs past end of file' };
  const body = buf.subarray(start, next);
  if (crc32(body) !== sum) return { kind: 'bad', reason: 'checksum mismatch', next };
  try {
    return { kind: 'ok', record: decodeRecordBody(body), next };
  } catch (err) {
    return { kind: 'bad', reason: `undecodable record: ${(err as Error).message}`, next };
  }
}
