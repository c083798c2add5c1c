// `npm run -s bench:raft -- --json`: Shoal's Raft against etcd on the same machine with
// the same load. 3 members as processes on loopback, fsync on, TLS off, a KV Put over
// gRPC on each (followers forward to the leader), 16-byte keys, 100-byte values; a write
// counts once committed and applied. Per concurrency level: 2 s warm-up, 10 s measured,
// load from two client processes spread over all members. Progress goes to stderr; the
// last stdout line is the JSON result. Exits non-zero only when the run failed.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import {
  freePorts,
  type MemberProcess,
  type MemberSpec,
  startMember,
  stopMember,
} from './cluster-harness.js';
import { callKv, KvClientCtor } from './kv-service.js';
import { encodePut } from './kv-store.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    levels: { type: 'string', default: '1,16,64' },
    'warmup-ms': { type: 'string', default: '2000' },
    'duration-ms': { type: 'string', default: '10000' },
    'skip-etcd': { type: 'boolean', default: false },
  },
});

const LEVELS = values.levels.split(',').map(Number);
const WARMUP_MS = Number(values['warmup-ms']);
const DURATION_MS = Number(values['duration-ms']);
const CLIENT_PROCESSES = 2;
const LOAD_CLIENT_JS = join(fileURLToPath(new URL('.', import.meta.url)), 'load-client.js');

interface LevelResult {
  writes_per_s: number;
  p50_ms: number;
  p99_ms: number;
}

function progress(msg: string): void {
  process.stderr.write(`[bench:raft] ${msg}\n`);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)]!;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** Runs one load level with CLIENT_PROCESSES processes (fewer when c is smaller). */
async function runLevel(
  mode: 'shoal' | 'etcd',
  targets: string[],
  c: number,
): Promise<LevelResult> {
  const procs = Math.min(CLIENT_PROCESSES, c);
  const startAt = Date.now() + 1000;
  const outputs = await Promise.all(
    Array.from({ length: procs }, (_, k) => {
      // Split c loops over the processes: 64 -> 32 + 32, 1 -> 1.
      const share = Math.floor(c / procs) + (k < c % procs ? 1 : 0);
      return new Promise<string>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [
            LOAD_CLIENT_JS,
            '--mode',
            mode,
            '--targets',
            targets.join(','),
            '--concurrency',
            String(share),
            '--offset',
            String(k),
            '--start-at',
            String(startAt),
            '--warmup-ms',
            String(WARMUP_MS),
            '--duration-ms',
            String(DURATION_MS),
          ],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
        });
        // 'close', not 'exit': the output pipe may still hold data when the process exits.
        child.once('close', (code) =>
          code === 0 ? resolve(out) : reject(new Error(`load client exited with ${code}`)),
        );
      });
    }),
  );
  let ok = 0;
  let errors = 0;
  const all: number[] = [];
  for (const o of outputs) {
    const r = JSON.parse(o.trim().split('\n').at(-1)!) as {
      ok: number;
      errors: number;
      firstError: string[];
      latenciesMs: number[];
    };
    ok += r.ok;
    errors += r.errors;
    for (const l of r.latenciesMs) all.push(l);
    if (r.firstError.length > 0) progress(`${mode} c${c}: client errors, e.g. ${r.firstError[0]}`);
  }
  all.sort((a, b) => a - b);
  const res = {
    writes_per_s: Math.round(ok / (DURATION_MS / 1000)),
    p50_ms: round2(percentile(all, 50)),
    p99_ms: round2(percentile(all, 99)),
  };
  progress(`${mode} c${c}: ${JSON.stringify(res)} (${errors} errors)`);
  if (ok === 0) throw new Error(`${mode} c${c}: no write succeeded`);
  return res;
}

async function waitWritable(mode: 'shoal' | 'etcd', targets: string[], ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  if (mode === 'etcd') {
    // The load client speaks etcd; a one-second run of it tells us the cluster is up.
    while (Date.now() < until) {
      const r = spawnSync(
        process.execPath,
        [
          LOAD_CLIENT_JS,
          '--mode',
          'etcd',
          '--targets',
          targets.join(','),
          '--warmup-ms',
          '0',
          '--duration-ms',
          '300',
        ],
        { encoding: 'utf8' },
      );
      const line = r.stdout.trim().split('\n').at(-1);
      if (r.status === 0 && line && (JSON.parse(line) as { ok: number }).ok > 0) return;
      await new Promise((res) => setTimeout(res, 300));
    }
    throw new Error('etcd cluster did not accept writes in time');
  }
  const clients = targets.map((t) => new KvClientCtor(t, grpc.credentials.createInsecure()));
  try {
    for (let i = 0; Date.now() < until; i++) {
      try {
        await callKv(
          clients[i % clients.length]!,
          'put',
          encodePut(Buffer.from('warm'), Buffer.from('up')),
          2000,
        );
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    for (const c of clients) c.close();
  }
  throw new Error('shoal cluster did not accept writes in time');
}

/** A running cluster under test: where its KV endpoints are and how to stop it. */
interface Cluster {
  readonly targets: string[];
  stop(): Promise<void>;
}

async function startShoal(root: string): Promise<Cluster> {
  const ports = await freePorts(6);
  const specs: MemberSpec[] = [1, 2, 3].map((id, i) => ({
    id,
    raftPort: ports[i]!,
    kvPort: ports[i + 3]!,
    dataDir: join(root, `shoal-${id}`),
  }));
  const members: MemberProcess[] = [];
  const stop = async () => {
    await Promise.all(members.map((m) => stopMember(m)));
  };
  try {
    for (const s of specs) members.push(await startMember(s, specs));
    const targets = specs.map((s) => `127.0.0.1:${s.kvPort}`);
    await waitWritable('shoal', targets);
    progress('shoal cluster up');
    return { targets, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

const etcdChildren = new Set<ChildProcess>();

function track(c: ChildProcess): ChildProcess {
  etcdChildren.add(c);
  c.once('exit', () => etcdChildren.delete(c));
  return c;
}

function ensureEtcd(): string {
  const found = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  progress('etcd not found: installing Debian etcd-server with apt-get');
  execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 2, 2] });
  execFileSync('apt-get', ['install', '-y', '-qq', 'etcd-server'], {
    stdio: ['ignore', 2, 2],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).stdout.trim() || 'etcd';
}

async function startEtcd(root: string): Promise<Cluster> {
  const bin = ensureEtcd();
  const ports = await freePorts(6);
  const names = ['e1', 'e2', 'e3'];
  const peerUrl = (i: number) => `http://127.0.0.1:${ports[i + 3]}`;
  const cluster = names.map((n, i) => `${n}=${peerUrl(i)}`).join(',');
  const children = names.map((name, i) =>
    track(
      spawn(
        bin,
        [
          '--name',
          name,
          '--data-dir',
          join(root, `etcd-${name}`),
          '--listen-client-urls',
          `http://127.0.0.1:${ports[i]}`,
          '--advertise-client-urls',
          `http://127.0.0.1:${ports[i]}`,
          '--listen-peer-urls',
          peerUrl(i),
          '--initial-advertise-peer-urls',
          peerUrl(i),
          '--initial-cluster',
          cluster,
          '--initial-cluster-state',
          'new',
          '--initial-cluster-token',
          'shoal-bench',
          '--log-level',
          'error',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      ),
    ),
  );
  let stderr = '';
  for (const c of children) {
    c.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8192);
    });
  }
  const stop = async () => {
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(
      children.map((c) =>
        c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null,
      ),
    );
  };
  const targets = ports.slice(0, 3).map((p) => `127.0.0.1:${p}`);
  try {
    await waitWritable('etcd', targets);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}: ${stderr}`);
  }
  progress(`etcd cluster up (${bin})`);
  return { targets, stop };
}

// Our own children exit by themselves once this process is gone (they watch their
// parent); etcd does not, so a signal kills it before we exit.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    progress(`${sig}: stopping`);
    for (const c of etcdChildren) c.kill('SIGKILL');
    process.exit(1);
  });
}

const root = await mkdtemp(join(tmpdir(), 'shoal-bench-raft-'));
const clusters: Cluster[] = [];
let exitCode = 0;
try {
  progress(
    `levels ${LEVELS.join(',')}, warm-up ${WARMUP_MS} ms, measured ${DURATION_MS} ms per level`,
  );
  // Both clusters run side by side and the levels alternate between them, so a change
  // in the machine's other load during the run hits both alike.
  clusters.push(await startShoal(root));
  if (!values['skip-etcd']) clusters.push(await startEtcd(root));
  const [shoalCluster, etcdCluster] = clusters;
  const shoal: Record<string, LevelResult> = {};
  const etcd: Record<string, LevelResult> = {};
  for (const c of LEVELS) {
    shoal[`c${c}`] = await runLevel('shoal', shoalCluster!.targets, c);
    if (etcdCluster !== undefined) etcd[`c${c}`] = await runLevel('etcd', etcdCluster.targets, c);
  }
  const result: Record<string, unknown> = { ...shoal };
  if (etcdCluster !== undefined) {
    result.etcd = etcd;
    const top = `c${LEVELS.at(-1)}`;
    const ours = shoal[top]?.writes_per_s ?? 0;
    const theirs = etcd[top]?.writes_per_s ?? 0;
    result[`ratio_${top}`] = theirs > 0 ? round2(ours / theirs) : null;
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (err) {
  progress(`failed: ${(err as Error).stack ?? String(err)}`);
  exitCode = 1;
} finally {
  for (const c of clusters) await c.stop();
  await rm(root, { recursive: true, force: true });
}
process.exit(exitCode);
