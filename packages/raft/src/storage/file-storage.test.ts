import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry } from '../core/types.js';
import { CompactedError, CorruptLogError } from '../errors.js';
import { FileStorage } from './file-storage.js';
import { PREALLOCATE_BYTES } from './wal.js';
import { scanRecord } from './wal-record.js';

function ents(from: number, to: number, term: number, tag = ''): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) {
    out.push({ index: i, term, type: 'normal', data: Buffer.from(`${tag}v${i}`) });
  }
  return out;
}

function texts(entries: readonly Entry[]): string[] {
  return entries.map((e) => `${e.term}/${e.index}/${Buffer.from(e.data).toString()}`);
}

function captureLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { logger, lines };
}

let dir: string;
const open: FileStorage[] = [];

async function openStorage(opts: Partial<Parameters<typeof FileStorage.open>[0]> = {}) {
  const s = await FileStorage.open({
    dir,
    initialConf: { voters: [1, 2, 3], learners: [] },
    ...opts,
  });
  open.push(s);
  return s;
}

/** Where the records of a segment end (a preallocated zero tail may follow). */
async function dataEnd(file: string): Promise<number> {
  const buf = await readFile(file);
  let offset = 0;
  for (let i = 0; i < 1_000_000; i++) {
    const scan = scanRecord(buf, offset);
    if (scan.kind !== 'ok') return offset;
    offset = scan.next;
  }
  return offset;
}

async function lastSegment(): Promise<string> {
  const names = (await readdir(dir)).filter((n) => n.startsWith('wal-')).sort();
  return join(dir, names.at(-1)!);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-raft-storage-'));
});

afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  await rm(dir, { recursive: true, force: true });
});

describe('FileStorage', () => {
  it('FileStorage: starts with the initial configuration and an empty log when the directory is new', async () => {
    const s = await openStorage();
    expect(s.initialState()).toEqual({
      hardState: { term: 0, vote: 0, commit: 0 },
      conf: { voters: [1, 2, 3], learners: [] },
    });
    expect([s.firstIndex(), s.lastIndex(), s.term(0)]).toEqual([1, 0, 0]);
  });

  it('FileStorage: returns the same entries and hard state after reopen when saved with sync', async () => {
    const s = await openStorage();
    await s.save(
      { entries: ents(1, 5, 1), hardState: { term: 1, vote: 2, commit: 3 } },
      { sync: true },
    );
    await s.save(
      { entries: ents(6, 7, 2), hardState: { term: 2, vote: 0, commit: 6 } },
      { sync: true },
    );
    await s.close();
    const r = await openStorage();
    expect(r.initialState().hardState).toEqual({ term: 2, vote: 0, commit: 6 });
    expect(texts(r.entries(1, 8, Number.MAX_SAFE_INTEGER))).toEqual(
      texts([...ents(1, 5, 1), ...ents(6, 7, 2)]),
    );
    expect(r.term(7)).toBe(2);
    expect(r.initialState().conf).toEqual({ voters: [1, 2, 3], learners: [] });
  });

  it('FileStorage: discards the persisted suffix when an entry is written at an existing index', async () => {
    const s = await openStorage();
    await s.save({ entries: ents(1, 10, 1) }, { sync: true });
    await s.save({ entries: ents(6, 8, 2, 'new') }, { sync: true });
    expect(s.lastIndex()).toBe(8);
    await s.close();
    const r = await openStorage();
    expect(r.lastIndex()).toBe(8);
    expect(texts(r.entries(5, 9, Number.MAX_SAFE_INTEGER))).toEqual(
      texts([...ents(5, 5, 1), ...ents(6, 8, 2, 'new')]),
    );
  });

  it('FileStorage: limits entries() by bytes but returns at least one entry', async () => {
    const s = await openStorage();
    await s.save({ entries: ents(1, 10, 1) }, { sync: true });
    expect(s.entries(1, 11, 0)).toHaveLength(1);
    // Each entry holds 2 bytes ("v1"...): 5 bytes fit two.
    expect(s.entries(1, 11, 5)).toHaveLength(2);
    expect(() => s.entries(1, 12, 100)).toThrow(/index 11 is unavailable: last index is 10/);
  });

  it('FileStorage: drops a torn last record and truncates the file when the last write was cut short', async () => {
    const s = await openStorage();
    await s.save(
      { entries: ents(1, 3, 1), hardState: { term: 1, vote: 1, commit: 2 } },
      { sync: true },
    );
    await s.save(
      { entries: ents(4, 6, 1), hardState: { term: 1, vote: 1, commit: 5 } },
      { sync: true },
    );
    await s.close();
    const file = await lastSegment();
    const size = await dataEnd(file);
    await truncate(file, size - 5);
    const { logger, lines } = captureLogger();
    const r = await openStorage({ logger });
    // The torn batch held entries 4..6 then the hard state: the entries record survives
    // whole, the hard state record is the torn one.
    expect(r.lastIndex()).toBe(6);
    expect(r.initialState().hardState).toEqual({ term: 1, vote: 1, commit: 2 });
    const warn = lines.find((l) => l.msg === 'dropping torn record at the tail of the WAL');
    expect(warn).toMatchObject({ level: 40, file });
    expect((await stat(file)).size).toBeLessThan(size - 5);
    // The log goes on from the cut, and a further reopen sees no damage.
    await r.save({ entries: ents(7, 7, 2) }, { sync: true });
    await r.close();
    const again = await openStorage({ logger });
    expect(again.lastIndex()).toBe(7);
    expect(lines.filter((l) => l.level === 40)).toHaveLength(1);
  });

  it('FileStorage: drops a last record whose bytes are garbage when nothing valid follows it', async () => {
    const s = await openStorage();
    await s.save({ entries: ents(1, 3, 1) }, { sync: true });
    await s.save({ entries: ents(4, 9, 1) }, { sync: true });
    await s.close();
    const file = await lastSegment();
    const buf = await readFile(file);
    const end = await dataEnd(file);
    buf[end - 3] = buf[end - 3]! ^ 0xff;
    await writeFile(file, buf);
    const r = await openStorage();
    expect(r.lastIndex()).toBe(3);
  });

  it('FileStorage: refuses to open with CorruptLogError when a record in the middle is damaged', async () => {
    const s = await openStorage();
    await s.save({ entries: ents(1, 3, 1) }, { sync: true });
    await s.save({ entries: ents(4, 6, 1) }, { sync: true });
    await s.save({ entries: ents(7, 9, 1) }, { sync: true });
    await s.close();
    const file = await lastSegment();
    const buf = await readFile(file);
    // Initial records are hard state (8+1+24 bytes) and snapshot marker (8+1+16+4+24+4+1);
    // the first entries record starts right after them.
    const firstEntries = 33 + 58;
    buf[firstEntries + 20] = buf[firstEntries + 20]! ^ 0x01;
    await writeFile(file, buf);
    const err = await FileStorage.open({ dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptLogError);
    expect(err).toMatchObject({ code: 'SHOAL_RAFT_CORRUPT_LOG', file, offset: firstEntries });
    expect((err as Error).message).toBe(
      `Open raft log failed: corrupt record in "${file}" at offset ${firstEntries}: checksum mismatch: restore this member's data from a healthy member`,
    );
  });

  it('FileStorage: refuses to open when a segment other than the last is damaged at its end', async () => {
    const s = await openStorage({ segmentBytes: 1024 });
    for (let i = 0; i < 20; i++)
      await s.save({ entries: ents(i * 5 + 1, i * 5 + 5, 1) }, { sync: true });
    expect(s.segmentNames.length).toBeGreaterThan(1);
    await s.close();
    const first = join(dir, s.segmentNames[0]!);
    const size = await dataEnd(first);
    await truncate(first, size - 3);
    await expect(FileStorage.open({ dir })).rejects.toMatchObject({
      code: 'SHOAL_RAFT_CORRUPT_LOG',
      file: first,
    });
  });

  it('FileStorage: compacts memory and deletes old segments after a snapshot, and reopens from it', async () => {
    const s = await openStorage({ segmentBytes: 1024, retainEntries: 5 });
    for (let i = 0; i < 40; i++) {
      const lo = i * 5 + 1;
      await s.save(
        { entries: ents(lo, lo + 4, 3), hardState: { term: 3, vote: 1, commit: lo + 4 } },
        { sync: true },
      );
    }
    const before = s.segmentNames.length;
    expect(before).toBeGreaterThan(5);
    const snap = await s.createSnapshot(
      150,
      { voters: [1, 2, 3], learners: [4] },
      Buffer.from('state@150'),
    );
    expect(snap.meta).toEqual({ index: 150, term: 3, conf: { voters: [1, 2, 3], learners: [4] } });
    expect(s.firstIndex()).toBe(146);
    expect(() => s.term(140)).toThrow(CompactedError);
    // Further writes rotate, and the new segment's head lets replay skip the old ones.
    for (let i = 40; i < 50; i++) {
      const lo = i * 5 + 1;
      await s.save(
        { entries: ents(lo, lo + 4, 3), hardState: { term: 3, vote: 1, commit: lo + 4 } },
        { sync: true },
      );
    }
    const after = s.segmentNames;
    expect(after.length).toBeLessThan(before);
    await s.close();
    const r = await openStorage({ segmentBytes: 1024 });
    expect(r.snapshot().meta.index).toBe(150);
    expect(Buffer.from(r.snapshot().data).toString()).toBe('state@150');
    expect(r.initialState().conf).toEqual({ voters: [1, 2, 3], learners: [4] });
    expect([r.firstIndex(), r.lastIndex()]).toEqual([151, 250]);
    expect(texts(r.entries(151, 153, 1000))).toEqual(texts(ents(151, 152, 3)));
    expect(r.initialState().hardState.commit).toBe(250);
  });

  it('FileStorage: replaces the whole log when a snapshot from the leader is saved', async () => {
    const s = await openStorage();
    await s.save({ entries: ents(1, 5, 1) }, { sync: true });
    const snapshot = {
      meta: { index: 20, term: 4, conf: { voters: [1, 2], learners: [] } },
      data: Buffer.from('img'),
    };
    await s.save(
      { snapshot, entries: ents(21, 22, 4), hardState: { term: 4, vote: 0, commit: 20 } },
      { sync: true },
    );
    expect([s.firstIndex(), s.lastIndex(), s.term(20)]).toEqual([21, 22, 4]);
    await s.close();
    const r = await openStorage();
    expect([r.firstIndex(), r.lastIndex(), r.term(20)]).toEqual([21, 22, 4]);
    expect(r.initialState().conf).toEqual({ voters: [1, 2], learners: [] });
    expect(Buffer.from(r.snapshot().data).toString()).toBe('img');
  });

  it('FileStorage: ignores a snapshot file the WAL never recorded when a crash fell between them', async () => {
    const s = await openStorage();
    await s.save(
      { entries: ents(1, 5, 1), hardState: { term: 1, vote: 1, commit: 5 } },
      { sync: true },
    );
    await s.createSnapshot(3, { voters: [1, 2, 3], learners: [] }, Buffer.from('at3'));
    await s.close();
    // A later snapshot whose marker never reached the WAL.
    const orphan = 'snap-0000000000000001-0000000000000005.snap';
    await writeFile(join(dir, orphan), 'junk');
    const r = await openStorage();
    expect(r.snapshot().meta.index).toBe(3);
    expect(r.lastIndex()).toBe(5);
    expect((await readdir(dir)).includes(orphan)).toBe(false);
  });

  it('FileStorage: refuses to open when the snapshot file the WAL names is damaged', async () => {
    const s = await openStorage();
    await s.save(
      { entries: ents(1, 5, 1), hardState: { term: 1, vote: 1, commit: 5 } },
      { sync: true },
    );
    await s.createSnapshot(4, { voters: [1], learners: [] }, Buffer.from('at4'));
    await s.close();
    const name = 'snap-0000000000000001-0000000000000004.snap';
    const buf = await readFile(join(dir, name));
    buf[buf.length - 1] = buf[buf.length - 1]! ^ 0xff;
    await writeFile(join(dir, name), buf);
    await expect(FileStorage.open({ dir })).rejects.toMatchObject({
      code: 'SHOAL_RAFT_CORRUPT_LOG',
      file: join(dir, name),
    });
  });

  it('FileStorage: refuses a snapshot beyond the commit index', async () => {
    const s = await openStorage();
    await s.save(
      { entries: ents(1, 5, 1), hardState: { term: 1, vote: 1, commit: 2 } },
      { sync: true },
    );
    await expect(
      s.createSnapshot(4, { voters: [1], learners: [] }, new Uint8Array()),
    ).rejects.toThrow('Create snapshot: index 4 is not committed: commit is 2');
  });
});

describe('FileStorage commit-only changes', () => {
  it('FileStorage: writes a commit-only hard state with the next write when not synced', async () => {
    const s = await openStorage();
    await s.save(
      { entries: ents(1, 5, 1), hardState: { term: 1, vote: 1, commit: 2 } },
      { sync: true },
    );
    const file = await lastSegment();
    const size = await dataEnd(file);
    await s.save({ entries: [], hardState: { term: 1, vote: 1, commit: 4 } }, { sync: false });
    expect(await dataEnd(file)).toBe(size);
    expect(s.hardState.commit).toBe(4);
    await s.save({ entries: ents(6, 6, 1) }, { sync: true });
    expect(await dataEnd(file)).toBeGreaterThan(size);
    // Reopen from the files as they are (no close: a crash), and the commit is there.
    const r = await FileStorage.open({ dir });
    open.push(r);
    expect(r.initialState().hardState).toEqual({ term: 1, vote: 1, commit: 4 });
    expect(r.lastIndex()).toBe(6);
  });

  it('FileStorage: writes a vote change at once even when the caller does not ask for sync', async () => {
    const s = await openStorage();
    const file = await lastSegment();
    const size = await dataEnd(file);
    await s.save({ entries: [], hardState: { term: 2, vote: 3, commit: 0 } }, { sync: false });
    expect(await dataEnd(file)).toBeGreaterThan(size);
  });

  it('FileStorage: flushes a deferred commit index on close', async () => {
    const s = await openStorage();
    await s.save(
      { entries: ents(1, 3, 1), hardState: { term: 1, vote: 1, commit: 1 } },
      { sync: true },
    );
    await s.save({ entries: [], hardState: { term: 1, vote: 1, commit: 3 } }, { sync: false });
    await s.close();
    const r = await openStorage();
    expect(r.initialState().hardState.commit).toBe(3);
  });
});

describe('FileStorage preallocation', () => {
  it('FileStorage: writes records into zero-filled space and reopens past it', async () => {
    const s = await openStorage();
    await s.save(
      { entries: ents(1, 3, 1), hardState: { term: 1, vote: 1, commit: 3 } },
      { sync: true },
    );
    const file = await lastSegment();
    const end = await dataEnd(file);
    expect((await stat(file)).size).toBeGreaterThanOrEqual(end + PREALLOCATE_BYTES);
    await s.close();
    const r = await openStorage();
    expect(r.lastIndex()).toBe(3);
    await r.save({ entries: ents(4, 4, 1) }, { sync: true });
    // The new record went right after the old ones, not after the zeros.
    expect(await dataEnd(file)).toBeGreaterThan(end);
    expect(await dataEnd(file)).toBeLessThan(end + 200);
  });

  it('FileStorage: accepts zero-filled space at the end of an older segment', async () => {
    const s = await openStorage({ segmentBytes: 1024 });
    for (let i = 0; i < 10; i++)
      await s.save({ entries: ents(i * 5 + 1, i * 5 + 5, 1) }, { sync: true });
    expect(s.segmentNames.length).toBeGreaterThan(1);
    await s.close();
    const r = await openStorage({ segmentBytes: 1024 });
    expect(r.lastIndex()).toBe(50);
  });
});
