// Snapshot files: one per snapshot, named by term and index, written atomically
// (temp file, fsync, rename, directory fsync) so a crash leaves either the old set of
// files or the new one. Layout: 8-byte magic, u32 CRC-32 of the rest, u32 meta length,
// meta (JSON), data.
import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Snapshot, SnapshotMeta } from '../core/types.js';
import { CorruptLogError } from '../errors.js';

const MAGIC = Buffer.from('SHOALSN1');
const NAME = /^snap-([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

/** The file name a snapshot is stored under; sorts by term then index. */
export function snapshotFileName(meta: Pick<SnapshotMeta, 'term' | 'index'>): string {
  const hex = (n: number) => n.toString(16).padStart(16, '0');
  return `snap-${hex(meta.term)}-${hex(meta.index)}.snap`;
}

/** Makes `dir`'s entries (a rename, a create, an unlink) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `snap` to `dir` atomically; returns its file name. */
export async function writeSnapshotFile(dir: string, snap: Snapshot): Promise<string> {
  const meta = Buffer.from(JSON.stringify(snap.meta));
  const body = Buffer.allocUnsafe(4 + meta.length + snap.data.length);
  body.writeUInt32LE(meta.length, 0);
  meta.copy(body, 4);
  body.set(snap.data, 4 + meta.length);
  const sum = Buffer.allocUnsafe(4);
  sum.writeUInt32LE(crc32(body), 0);
  const name = snapshotFileName(snap.meta);
  const tmp = join(dir, `${name}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writev([MAGIC, sum, body]);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  await fsyncDir(dir);
  return name;
}

/** Reads and verifies a snapshot file; a bad file is corruption, never skipped. */
export async function readSnapshotFile(dir: string, name: string): Promise<Snapshot> {
  const file = join(dir, name);
  const buf = await readFile(file);
  const fail = (why: string): never => {
    throw new CorruptLogError({ file, offset: 0, reason: why });
  };
  if (buf.length < MAGIC.length + 8 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    fail('not a snapshot file');
  }
  const body = buf.subarray(MAGIC.length + 4);
  if (crc32(body) !== buf.readUInt32LE(MAGIC.length)) fail('snapshot checksum mismatch');
  const metaLen = body.readUInt32LE(0);
  if (4 + metaLen > body.length) fail('snapshot meta runs past end of file');
  const meta = JSON.parse(body.subarray(4, 4 + metaLen).toString('utf8')) as SnapshotMeta;
  return { meta, data: new Uint8Array(body.subarray(4 + metaLen)) };
}

/** Snapshot file names in `dir`, oldest first; stray temp files are removed. */
export async function listSnapshotFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  for (const n of names) {
    // A temp file is a snapshot write that crashed before its rename: never referenced.
    if (n.startsWith('snap-') && n.endsWith('.snap.tmp')) await rm(join(dir, n), { force: true });
  }
  return names.filter((n) => NAME.test(n)).sort();
}
