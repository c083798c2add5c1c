// The write-ahead log: an ordered set of segment files `wal-<seq>.log` in one directory.
// Appends go to the last segment; when it grows past `segmentBytes` a new segment starts
// with the state needed to replay without its predecessors (hard state and latest
// snapshot marker), which is what lets compaction delete old segments whole.
import { writeSync } from 'node:fs';
import { type FileHandle, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CorruptLogError } from '../errors.js';
import { fsyncDir } from './snapshot-file.js';
import { encodeRecords, type RecordScan, scanRecord, type WalRecord } from './wal-record.js';

const SEGMENT = /^wal-([0-9a-f]{16})\.log$/;

/**
 * Segments grow in zero-filled steps of this size ahead of the records. An fdatasync of
 * data written inside the file's existing size flushes only data blocks; one that
 * extends the file must also commit the inode size through the filesystem journal,
 * which serialises with every other fsync on the disk (several members on one machine
 * showed 5-10x slower fsyncs). etcd preallocates its WAL for the same reason; Node has
 * no fallocate, so we write zeros.
 */
export const PREALLOCATE_BYTES = 1024 * 1024;
const ZEROS = Buffer.alloc(64 * 1024);

/** Whether every byte of `buf` from `offset` on is zero (preallocated, never written). */
function isZeroFrom(buf: Buffer, offset: number): boolean {
  for (let i = offset; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

function segmentName(seq: number): string {
  return `wal-${seq.toString(16).padStart(16, '0')}.log`;
}

interface Segment {
  readonly seq: number;
  readonly name: string;
  /** Highest entry index any record of this segment holds (0 if none). */
  maxIndex: number;
  /** Highest snapshot marker index recorded in this segment (0 if none). */
  markerIndex: number;
}

function markerIndexOf(rec: WalRecord): number {
  return rec.type === 'snapshot' ? rec.meta.index : 0;
}

function maxEntryIndex(rec: WalRecord): number {
  if (rec.type !== 'entries' || rec.entries.length === 0) return 0;
  return rec.entries[rec.entries.length - 1]!.index;
}

/** What {@link Wal.open} needs besides the directory. */
export interface WalOpenOptions {
  readonly segmentBytes: number;
  readonly logger: Logger | undefined;
  /** Records a brand-new WAL starts with (the initial hard state and configuration). */
  readonly initialRecords: readonly WalRecord[];
  /** Called for every valid record, in log order. */
  readonly onRecord: (rec: WalRecord) => void;
}

/**
 * Segment files and the append position. Not safe for concurrent calls: the owner
 * (FileStorage) serialises them, which also keeps at most one fsync outstanding.
 */
export class Wal {
  readonly #dir: string;
  readonly #segmentBytes: number;
  readonly #logger: Logger | undefined;
  readonly #segments: Segment[];
  #fh: FileHandle;
  /** End of the records in the current segment (where the next append goes). */
  #size: number;
  /** Bytes the current segment file holds, records plus zero-filled space after them. */
  #allocated: number;

  private constructor(
    dir: string,
    opts: WalOpenOptions,
    segments: Segment[],
    fh: FileHandle,
    size: number,
    allocated: number,
  ) {
    this.#dir = dir;
    this.#segmentBytes = opts.segmentBytes;
    this.#logger = opts.logger;
    this.#segments = segments;
    this.#fh = fh;
    this.#size = size;
    this.#allocated = Math.max(size, allocated);
  }

  /**
   * Replays every segment through `onRecord`, drops a torn tail of the last segment
   * (truncating the file there) and opens the last segment for appending.
   *
   * @throws CorruptLogError when a record fails verification anywhere but the tail.
   */
  static async open(dir: string, opts: WalOpenOptions): Promise<Wal> {
    const names = (await readdir(dir)).filter((n) => SEGMENT.test(n)).sort();
    if (names.length === 0) {
      const name = segmentName(1);
      const buf = encodeRecords(opts.initialRecords);
      const fh = await open(join(dir, name), 'wx');
      await fh.write(buf, 0, buf.length, 0);
      await fh.datasync();
      await fsyncDir(dir);
      const seg: Segment = { seq: 1, name, maxIndex: 0, markerIndex: 0 };
      for (const rec of opts.initialRecords) {
        noteRecord(seg, rec);
        opts.onRecord(rec);
      }
      return new Wal(dir, opts, [seg], fh, buf.length, buf.length);
    }
    const segments: Segment[] = [];
    let appendSize = 0;
    let allocated = 0;
    for (const [i, name] of names.entries()) {
      const isLast = i === names.length - 1;
      const file = join(dir, name);
      const buf = await readFile(file);
      const seg: Segment = {
        seq: Number.parseInt(SEGMENT.exec(name)![1]!, 16),
        name,
        maxIndex: 0,
        markerIndex: 0,
      };
      let offset = 0;
      for (;;) {
        const scan = scanRecord(buf, offset);
        if (scan.kind === 'end') break;
        if (scan.kind === 'ok') {
          noteRecord(seg, scan.record);
          opts.onRecord(scan.record);
          offset = scan.next;
          continue;
        }
        // Zero-filled space ahead of the records: the end of this segment's data.
        if (isZeroFrom(buf, offset)) break;
        if (!isLast || !isTornTail(buf, scan)) {
          throw new CorruptLogError({ file, offset, reason: scan.reason });
        }
        // A write that a crash cut short: nothing after it was acknowledged (we ack only
        // after fdatasync returns), so dropping it loses nothing a client was promised.
        opts.logger?.warn(
          { file, offset, dropped: buf.length - offset, reason: scan.reason },
          'dropping torn record at the tail of the WAL',
        );
        const fh = await open(file, 'r+');
        try {
          await fh.truncate(offset);
          await fh.datasync();
        } finally {
          await fh.close();
        }
        buf.fill(0, offset);
        break;
      }
      segments.push(seg);
      if (isLast) {
        appendSize = offset;
        allocated = isZeroFrom(buf, offset) ? buf.length : offset;
      }
    }
    const last = segments[segments.length - 1]!;
    const fh = await open(join(dir, last.name), 'r+');
    return new Wal(dir, opts, segments, fh, appendSize, allocated);
  }

  /** Whether the current segment is full and the owner should call {@link rotate}. */
  get needsRotation(): boolean {
    return this.#size >= this.#segmentBytes;
  }

  /** Names of the live segment files, oldest first (for tests and diagnostics). */
  get segmentNames(): string[] {
    return this.#segments.map((s) => s.name);
  }

  /** Appends `records` with one write, then one `fdatasync` when `sync`. */
  async append(records: readonly WalRecord[], sync: boolean): Promise<void> {
    if (records.length === 0) return;
    const buf = encodeRecords(records);
    const seg = this.#segments[this.#segments.length - 1]!;
    if (this.#size + buf.length > this.#allocated) this.#preallocate(this.#size + buf.length);
    let written = 0;
    // The write itself is synchronous: it only copies into the page cache (tens of µs),
    // and an async write would cost two thread hand-offs per Ready, which on a loaded
    // machine take milliseconds each. Only the fdatasync goes to the thread pool. A
    // short write is legal for pwrite; loop until the whole batch is down (bounded by
    // the buffer length: every iteration writes at least one byte or throws).
    while (written < buf.length) {
      const n = writeSync(this.#fh.fd, buf, written, buf.length - written, this.#size + written);
      if (n <= 0) throw new Error(`WAL write to "${seg.name}" made no progress`);
      written += n;
    }
    this.#size += buf.length;
    for (const rec of records) noteRecord(seg, rec);
    if (sync) await this.#fh.datasync();
  }

  /** Zero-fills the current segment up to `needed` plus one preallocation step. */
  #preallocate(needed: number): void {
    const target = needed + PREALLOCATE_BYTES;
    let pos = this.#allocated;
    while (pos < target) {
      const n = writeSync(this.#fh.fd, ZEROS, 0, Math.min(ZEROS.length, target - pos), pos);
      if (n <= 0) throw new Error('WAL preallocation made no progress');
      pos += n;
    }
    this.#allocated = target;
  }

  /**
   * Starts a new segment whose head is `head` (hard state, then snapshot marker) and
   * makes it durable before any record goes there.
   */
  async rotate(head: readonly WalRecord[]): Promise<void> {
    const prev = this.#segments[this.#segments.length - 1]!;
    // The old segment must be complete on disk before the new one can supersede it.
    await this.#fh.datasync();
    const seq = prev.seq + 1;
    const name = segmentName(seq);
    const buf = encodeRecords(head);
    const fh = await open(join(this.#dir, name), 'wx');
    await fh.write(buf, 0, buf.length, 0);
    await fh.datasync();
    await fsyncDir(this.#dir);
    await this.#fh.close();
    this.#fh = fh;
    this.#size = buf.length;
    this.#allocated = buf.length;
    const seg: Segment = { seq, name, maxIndex: 0, markerIndex: 0 };
    for (const rec of head) noteRecord(seg, rec);
    this.#segments.push(seg);
  }

  /**
   * Deletes the oldest segments replay no longer needs: a prefix of segments whose
   * entries are all at or below the latest snapshot marker, as long as a segment holding
   * that marker survives (replay then skips the gap the deletion leaves, because the
   * marker compacts everything below it).
   */
  async removeObsoleteSegments(): Promise<number> {
    let latest = 0;
    let holder = -1;
    for (const [i, seg] of this.#segments.entries()) {
      if (seg.markerIndex >= latest) {
        latest = seg.markerIndex;
        holder = i;
      }
    }
    let cut = 0;
    const limit = Math.min(holder, this.#segments.length - 1);
    while (cut < limit && this.#segments[cut]!.maxIndex <= latest) cut++;
    if (cut === 0) return 0;
    const gone = this.#segments.splice(0, cut);
    for (const seg of gone) await rm(join(this.#dir, seg.name), { force: true });
    await fsyncDir(this.#dir);
    this.#logger?.debug({ removed: gone.map((s) => s.name) }, 'removed compacted WAL segments');
    return gone.length;
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }
}

function noteRecord(seg: Segment, rec: WalRecord): void {
  seg.maxIndex = Math.max(seg.maxIndex, maxEntryIndex(rec));
  seg.markerIndex = Math.max(seg.markerIndex, markerIndexOf(rec));
}

/**
 * Whether a failed record at the end of the last segment is a torn write rather than
 * corruption. Short records always are. A complete record with a bad checksum is torn
 * only if no valid record follows it: a valid record after a bad one means bytes in the
 * middle of acknowledged data changed, which a crash cannot do.
 */
function isTornTail(
  buf: Buffer,
  scan: Exclude<RecordScan, { kind: 'ok' } | { kind: 'end' }>,
): boolean {
  if (scan.kind === 'short') return true;
  const after = scanRecord(buf, scan.next);
  return after.kind !== 'ok';
}
