// Crash-safe storage for one Raft member: the core reads the log synchronously from
// memory (LogStorage), the driver persists each Ready through `save` (one write and at
// most one fdatasync), and snapshots compact both memory and disk.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type {
  ConfState,
  Entry,
  HardState,
  LogStorage,
  Snapshot,
  SnapshotMeta,
} from '../core/types.js';
import { CorruptLogError, RaftStoppedError } from '../errors.js';
import { MemoryLog } from './memory-log.js';
import {
  listSnapshotFiles,
  readSnapshotFile,
  snapshotFileName,
  writeSnapshotFile,
} from './snapshot-file.js';
import { Wal } from './wal.js';
import type { WalRecord } from './wal-record.js';

/** Options of {@link FileStorage.open}. */
export interface FileStorageOptions {
  /** Directory holding WAL segments and snapshot files; created if missing. */
  readonly dir: string;
  /**
   * Configuration a brand-new log starts with (the founding members). Ignored when the
   * directory already holds a log.
   * @default { voters: [], learners: [] }
   */
  readonly initialConf?: ConfState;
  /**
   * A segment is closed and a new one started past this size.
   * @default 64 MiB
   */
  readonly segmentBytes?: number;
  /**
   * Entries kept in memory below a new snapshot, so a slightly lagging follower gets
   * entries instead of a whole snapshot (etcd keeps 5,000).
   * @default 1000
   */
  readonly retainEntries?: number;
  /** Warnings (torn tail dropped) and debug lines; none when absent. */
  readonly logger?: Logger;
}

/** {@link FileStorageOptions} with every default filled in. */
export interface CompiledFileStorageOptions {
  readonly dir: string;
  readonly initialConf: ConfState;
  readonly segmentBytes: number;
  readonly retainEntries: number;
  readonly logger: Logger | undefined;
}

/** Validates options once (STYLE 24). */
export function compileFileStorageOptions(o: FileStorageOptions): CompiledFileStorageOptions {
  if (typeof o.dir !== 'string' || o.dir === '')
    throw new TypeError('FileStorage: dir is required');
  const segmentBytes = o.segmentBytes ?? 64 * 1024 * 1024;
  if (!Number.isInteger(segmentBytes) || segmentBytes < 1024) {
    throw new RangeError(
      `FileStorage: segmentBytes must be an integer >= 1024: got ${segmentBytes}`,
    );
  }
  const retainEntries = o.retainEntries ?? 1000;
  if (!Number.isInteger(retainEntries) || retainEntries < 0) {
    throw new RangeError(
      `FileStorage: retainEntries must be an integer >= 0: got ${retainEntries}`,
    );
  }
  return {
    dir: o.dir,
    initialConf: o.initialConf ?? { voters: [], learners: [] },
    segmentBytes,
    retainEntries,
    logger: o.logger,
  };
}

/** What one Ready asks to persist. */
export interface StorageUpdate {
  readonly hardState?: HardState | undefined;
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot | undefined;
}

const EMPTY_HARD_STATE: HardState = { term: 0, vote: 0, commit: 0 };

/** How many snapshot files to keep: the live one and the one before it, for forensics. */
const SNAPSHOTS_KEPT = 2;

/**
 * A {@link LogStorage} backed by a WAL of checksummed segment files and atomic snapshot
 * files. Reads are served from memory; writes are serialised, so at most one fsync is
 * ever outstanding and a Ready is durable when its `save` resolves.
 *
 * @example
 * const storage = await FileStorage.open({ dir: '/var/lib/shoal/raft', initialConf: { voters: [1, 2, 3], learners: [] } });
 * const node = RawNode.create({ id: 1, storage, rng });
 * // per Ready: await storage.save(ready, { sync: ready.mustSync });
 */
export class FileStorage implements LogStorage {
  readonly #opts: CompiledFileStorageOptions;
  readonly #log: MemoryLog;
  #wal: Wal | undefined;
  #hardState: HardState;
  #snapshot: Snapshot;
  /** Hard state last put into a WAL record (written or queued). */
  #queuedHardState: HardState;
  /** A commit-only change not written yet; it goes out with the next write or close. */
  #deferredHardState: HardState | undefined;
  /** Hard state and snapshot marker as last handed to the WAL (heads of new segments). */
  #walHardState: HardState;
  #walSnapshotMeta: SnapshotMeta;
  /** Serialises disk work; each operation chains onto the previous one. */
  #tail: Promise<void> = Promise.resolve();
  #failed: Error | undefined;
  #closed = false;

  private constructor(
    opts: CompiledFileStorageOptions,
    log: MemoryLog,
    hs: HardState,
    snap: Snapshot,
  ) {
    this.#opts = opts;
    this.#log = log;
    this.#hardState = hs;
    this.#snapshot = snap;
    this.#walHardState = hs;
    this.#walSnapshotMeta = snap.meta;
    this.#queuedHardState = hs;
  }

  /**
   * Opens (or creates) the log in `options.dir`, replaying and verifying every record.
   *
   * @throws CorruptLogError when a file is damaged anywhere but a torn last write.
   */
  static async open(options: FileStorageOptions): Promise<FileStorage> {
    const opts = compileFileStorageOptions(options);
    await mkdir(opts.dir, { recursive: true });
    const log = new MemoryLog();
    let hardState = EMPTY_HARD_STATE;
    let meta: SnapshotMeta = { index: 0, term: 0, conf: opts.initialConf };
    const initialRecords: WalRecord[] = [
      { type: 'hardState', hardState },
      { type: 'snapshot', meta, discardLog: false },
    ];
    const wal = await Wal.open(opts.dir, {
      segmentBytes: opts.segmentBytes,
      logger: opts.logger,
      initialRecords,
      onRecord(rec) {
        switch (rec.type) {
          case 'hardState':
            hardState = rec.hardState;
            return;
          case 'entries':
            log.append(rec.entries, true);
            return;
          case 'snapshot':
            if (rec.meta.index < meta.index && !rec.discardLog) return;
            meta = rec.meta;
            log.applySnapshot(rec.meta.index, rec.meta.term, rec.discardLog);
        }
      },
    });
    const lastSegment = join(opts.dir, wal.segmentNames.at(-1)!);
    if (!log.offsetTermKnown) {
      await wal.close();
      throw new CorruptLogError({
        file: join(opts.dir, wal.segmentNames[0]!),
        offset: 0,
        reason: `entries from index ${log.firstIndex()} follow a missing segment and no snapshot covers the gap`,
      });
    }
    let snapshot: Snapshot = { meta, data: new Uint8Array(0) };
    if (meta.index > 0) {
      const names = await listSnapshotFiles(opts.dir);
      const name = snapshotFileName(meta);
      if (!names.includes(name)) {
        await wal.close();
        throw new CorruptLogError({
          file: lastSegment,
          offset: 0,
          reason: `snapshot file "${name}" named by the WAL is missing`,
        });
      }
      try {
        snapshot = await readSnapshotFile(opts.dir, name);
      } catch (err) {
        await wal.close();
        throw err;
      }
      // Files of snapshots written but never recorded in the WAL (crash in between).
      for (const n of names) if (n > name) await rm(join(opts.dir, n), { force: true });
    }
    // A durable snapshot holds only committed state, so commit is at least its index.
    if (hardState.commit < meta.index) hardState = { ...hardState, commit: meta.index };
    const storage = new FileStorage(opts, log, hardState, snapshot);
    storage.#wal = wal;
    opts.logger?.debug(
      {
        firstIndex: log.firstIndex(),
        lastIndex: log.lastIndex(),
        snapshotIndex: meta.index,
        hardState,
      },
      'raft log opened',
    );
    return storage;
  }

  /** The directory this storage lives in. */
  get dir(): string {
    return this.#opts.dir;
  }

  /** The durable hard state as of the last `save` call. */
  get hardState(): HardState {
    return this.#hardState;
  }

  initialState(): { hardState: HardState; conf: ConfState } {
    return { hardState: this.#hardState, conf: this.#snapshot.meta.conf };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.#log.slice(lo, hi, maxBytes);
  }

  term(index: number): number {
    return this.#log.term(index);
  }

  firstIndex(): number {
    return this.#log.firstIndex();
  }

  lastIndex(): number {
    return this.#log.lastIndex();
  }

  snapshot(): Snapshot {
    return this.#snapshot;
  }

  /**
   * Persists one Ready's snapshot, entries and hard state: the snapshot file first, then
   * one WAL write, then (when `sync`) one fdatasync. The in-memory view changes at once;
   * the promise resolves when the data is durable.
   */
  save(update: StorageUpdate, options: { sync: boolean }): Promise<void> {
    this.#checkOpen();
    const { snapshot, entries, hardState } = update;
    const records: WalRecord[] = [];
    if (snapshot !== undefined && snapshot.meta.index > 0) {
      records.push({ type: 'snapshot', meta: snapshot.meta, discardLog: true });
      this.#log.applySnapshot(snapshot.meta.index, snapshot.meta.term, true);
      this.#snapshot = snapshot;
    }
    if (entries.length > 0) {
      records.push({ type: 'entries', first: entries[0]!.index, entries });
      this.#log.append(entries);
    }
    if (hardState !== undefined) {
      this.#hardState = hardState;
      const q = this.#queuedHardState;
      if (
        !options.sync &&
        records.length === 0 &&
        hardState.term === q.term &&
        hardState.vote === q.vote
      ) {
        // Only the commit index moved. Raft does not need it durable (a restarted member
        // learns it again from the leader; etcd writes it without fsync), so it rides
        // along with the next write instead of costing a write of its own.
        this.#deferredHardState = hardState;
        return Promise.resolve();
      }
    }
    const hs = hardState ?? this.#deferredHardState;
    if (hs !== undefined) {
      records.push({ type: 'hardState', hardState: hs });
      this.#queuedHardState = hs;
      this.#deferredHardState = undefined;
    }
    if (records.length === 0) return Promise.resolve();
    return this.#enqueue(async (wal) => {
      // The marker must never reach disk before the file it names (etcd orders them so).
      if (snapshot !== undefined && snapshot.meta.index > 0) {
        await writeSnapshotFile(this.#opts.dir, snapshot);
      }
      await wal.append(records, options.sync || snapshot !== undefined);
      if (hs !== undefined) this.#walHardState = hs;
      if (snapshot !== undefined && snapshot.meta.index > 0) this.#walSnapshotMeta = snapshot.meta;
      await this.#maybeRotate(wal);
    });
  }

  /**
   * Records a snapshot of the state machine at `index` (already applied here) and
   * compacts the log below it, keeping `retainEntries` entries in memory.
   */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array): Promise<Snapshot> {
    this.#checkOpen();
    if (index <= this.#snapshot.meta.index) {
      return Promise.reject(
        new RangeError(
          `Create snapshot: index ${index} is not after the current snapshot ${this.#snapshot.meta.index}`,
        ),
      );
    }
    if (index > this.#hardState.commit) {
      return Promise.reject(
        new RangeError(
          `Create snapshot: index ${index} is not committed: commit is ${this.#hardState.commit}`,
        ),
      );
    }
    const snap: Snapshot = { meta: { index, term: this.#log.term(index), conf }, data };
    this.#snapshot = snap;
    this.#log.compact(Math.max(this.#log.offsetIndex, index - this.#opts.retainEntries));
    return this.#enqueue(async (wal) => {
      await writeSnapshotFile(this.#opts.dir, snap);
      await wal.append([{ type: 'snapshot', meta: snap.meta, discardLog: false }], true);
      this.#walSnapshotMeta = snap.meta;
      await this.#maybeRotate(wal);
      await wal.removeObsoleteSegments();
      const names = await listSnapshotFiles(this.#opts.dir);
      for (const n of names.slice(0, Math.max(0, names.length - SNAPSHOTS_KEPT))) {
        await rm(join(this.#opts.dir, n), { force: true });
      }
      return snap;
    });
  }

  /** Waits for pending writes, then closes the files. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    const deferred = this.#deferredHardState;
    if (deferred !== undefined && this.#failed === undefined) {
      this.#deferredHardState = undefined;
      await this.#enqueue((wal) =>
        wal.append([{ type: 'hardState', hardState: deferred }], true),
      ).catch(() => undefined);
    }
    this.#closed = true;
    await this.#tail.catch(() => undefined);
    await this.#wal?.close();
  }

  /** Names of live WAL segments, oldest first (tests and diagnostics). */
  get segmentNames(): string[] {
    return this.#wal?.segmentNames ?? [];
  }

  #checkOpen(): void {
    if (this.#closed) throw new RaftStoppedError('storage is closed');
    if (this.#failed !== undefined) {
      throw new RaftStoppedError('a previous write failed', { cause: this.#failed });
    }
  }

  async #maybeRotate(wal: Wal): Promise<void> {
    if (!wal.needsRotation) return;
    await wal.rotate([
      { type: 'hardState', hardState: this.#walHardState },
      { type: 'snapshot', meta: this.#walSnapshotMeta, discardLog: false },
    ]);
    await wal.removeObsoleteSegments();
  }

  #enqueue<T>(op: (wal: Wal) => Promise<T>): Promise<T> {
    const wal = this.#wal!;
    const run = this.#tail.then(() => op(wal));
    // A failed write leaves memory ahead of disk: refuse everything after it.
    this.#tail = run.then(
      () => undefined,
      (err: Error) => {
        this.#failed ??= err;
      },
    );
    return run;
  }
}
