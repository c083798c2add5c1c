// Crash tests on real processes and real files: members are SIGKILLed at random moments
// under steady writes and restarted; no acknowledged write may be lost and the members'
// states must agree afterwards. Runs the compiled member (dist/bench/kv-member.js).
import { mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  freePorts,
  killMember,
  type MemberProcess,
  type MemberSpec,
  startMember,
} from '../bench/cluster-harness.js';
import { callKv, type KvClient, KvClientCtor } from '../bench/kv-service.js';
import { encodePut } from '../bench/kv-store.js';
import { encodeRecords, scanRecord } from '../storage/wal-record.js';

const TICK_MS = 50;
let root = '';
let specs: MemberSpec[] = [];
const running = new Map<number, MemberProcess>();
const clients: KvClient[] = [];

async function setup(): Promise<void> {
  root = await mkdtemp(join(tmpdir(), 'shoal-raft-crash-'));
  const ports = await freePorts(6);
  specs = [1, 2, 3].map((id, i) => ({
    id,
    raftPort: ports[i]!,
    kvPort: ports[i + 3]!,
    dataDir: join(root, `m${id}`),
  }));
  for (const s of specs) {
    clients.push(new KvClientCtor(`127.0.0.1:${s.kvPort}`, grpc.credentials.createInsecure()));
  }
  await Promise.all(specs.map((s) => start(s)));
}

async function start(s: MemberSpec): Promise<void> {
  running.set(s.id, await startMember(s, specs, { tickMs: TICK_MS, snapshotEvery: 500 }));
}

async function kill(id: number): Promise<MemberProcess> {
  const m = running.get(id)!;
  running.delete(id);
  await killMember(m);
  return m;
}

interface Digest {
  applied: number;
  lastIndex: number;
  term: number;
  size: number;
  hash: string;
  leader: number;
}

async function digest(i: number): Promise<Digest> {
  return JSON.parse(
    (await callKv(clients[i]!, 'digest', Buffer.alloc(0), 2000)).toString(),
  ) as Digest;
}

/** Retries a put on any member until one acknowledges it (bounded by `ms`). */
async function putSomewhere(key: string, value: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  for (let i = 0; Date.now() < until; i++) {
    try {
      await callKv(clients[i % 3]!, 'put', encodePut(Buffer.from(key), Buffer.from(value)), 2000);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`put ${key} not acknowledged within ${ms} ms`);
}

/** Writes a barrier through Raft, then waits until all members agree on the state. */
async function expectConverged(): Promise<Digest[]> {
  await putSomewhere('barrier', String(Date.now()));
  const until = Date.now() + 20_000;
  let ds: Digest[] = [];
  while (Date.now() < until) {
    ds = await Promise.all([0, 1, 2].map((i) => digest(i).catch(() => undefined))).then((x) =>
      x.filter((d): d is Digest => d !== undefined),
    );
    if (ds.length === 3 && ds.every((d) => d.hash === ds[0]!.hash && d.applied === ds[0]!.applied))
      return ds;
    await new Promise((r) => setTimeout(r, 100));
  }
  const logs = [...running.values()].map((m) => `member ${m.spec.id}:\n${m.stderr().slice(-3000)}`);
  throw new Error(`members did not converge: ${JSON.stringify(ds)}\n${logs.join('\n')}`);
}

afterEach(async () => {
  for (const id of [...running.keys()]) await kill(id);
  for (const c of clients.splice(0)) c.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('crash safety', () => {
  it('crash: loses no acknowledged write when members are SIGKILLed at random moments under load', async () => {
    await setup();
    const acked = new Map<string, string>();
    let failures = 0;
    let stop = false;
    const writer = async (w: number) => {
      for (let seq = 0; !stop && seq < 1_000_000; seq++) {
        const key = `w${w}-${seq}`;
        const value = `v${seq}-${'x'.repeat(50)}`;
        try {
          await callKv(
            clients[(w + seq) % 3]!,
            'put',
            encodePut(Buffer.from(key), Buffer.from(value)),
            2000,
          );
          acked.set(key, value);
        } catch {
          // Outcome unknown (member down, no leader, timeout): may or may not exist.
          failures++;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    let kills = 0;
    const chaosUntil = Date.now() + 20_000;
    for (let round = 0; round < 100 && Date.now() < chaosUntil; round++) {
      await new Promise((r) => setTimeout(r, 200 + Math.random() * 800));
      // One member down at a time keeps a quorum, so writes keep being acknowledged;
      // the victim is often the leader, so failover is exercised too.
      const ids = [...running.keys()];
      const victim = ids[Math.floor(Math.random() * ids.length)]!;
      await kill(victim);
      kills++;
      await new Promise((r) => setTimeout(r, Math.random() * 400));
      await start(specs.find((s) => s.id === victim)!);
    }
    stop = true;
    await Promise.all(writers);
    const ds = await expectConverged();
    expect(kills).toBeGreaterThanOrEqual(10);
    expect(acked.size).toBeGreaterThan(100);
    // Every acknowledged write is readable (linearizably) on every member.
    const missing: string[] = [];
    for (const [i] of specs.entries()) {
      for (const [key, value] of acked) {
        const got = await callKv(clients[i]!, 'get', Buffer.from(key), 5000).catch(() => undefined);
        if (got?.toString() !== value) missing.push(`m${i + 1}:${key}`);
        if (missing.length > 10) break;
      }
    }
    expect(missing).toEqual([]);
    expect(ds[0]!.size).toBeGreaterThanOrEqual(acked.size);
    console.error(
      `crash test: ${kills} kills, ${acked.size} acked writes, ${failures} failed attempts`,
    );
  }, 90_000);

  it('crash: recovers a member whose last WAL record was cut short by hand', async () => {
    await setup();
    for (let i = 0; i < 30; i++) await putSomewhere(`k${i}`, `v${i}`);
    const before = await digest(1);
    const victim = await kill(2);
    const dir = victim.spec.dataDir;
    const segs = (await readdir(dir)).filter((n) => n.startsWith('wal-')).sort();
    const last = join(dir, segs.at(-1)!);
    // A crash in the middle of writing the next Ready: its record is on disk only in
    // part, and (its fsync never having returned) nothing in it was acknowledged.
    const next = encodeRecords([
      {
        type: 'entries',
        first: before.lastIndex + 1,
        entries: [
          {
            index: before.lastIndex + 1,
            term: before.term,
            type: 'normal',
            data: Buffer.alloc(64, 7),
          },
        ],
      },
    ]);
    // Written where the records end, inside the zero-filled space ahead of them.
    const buf = await readFile(last);
    let end = 0;
    for (let i = 0; i < 1_000_000; i++) {
      const scan = scanRecord(buf, end);
      if (scan.kind !== 'ok') break;
      end = scan.next;
    }
    const fh = await open(last, 'r+');
    await fh.write(next, 0, next.length - 7, end);
    await fh.close();
    await start(victim.spec);
    expect(running.get(2)!.stderr()).toContain('dropping torn record at the tail of the WAL');
    await putSomewhere('after', 'cut');
    await expectConverged();
    const got = await callKv(clients[1]!, 'get', Buffer.from('k29'), 5000);
    expect(got.toString()).toBe('v29');
  }, 60_000);
});
