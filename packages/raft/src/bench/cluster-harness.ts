// Starts and kills kv-member processes on loopback: shared by the crash tests and the
// benchmark. Every process it starts is tracked so the owner can kill them all.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The compiled member entry point: next to this file in dist/, or in dist/ when this
 * file runs from src/ under the test runner (the package must be built first).
 */
export const KV_MEMBER_JS = join(
  fileURLToPath(new URL('.', import.meta.url)).replace(
    /([/\\])src([/\\])bench[/\\]?$/,
    '$1dist$2bench',
  ),
  'kv-member.js',
);

/** Finds `n` free TCP ports on 127.0.0.1 (bound then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Where one member lives and how to reach it. */
export interface MemberSpec {
  readonly id: number;
  readonly raftPort: number;
  readonly kvPort: number;
  readonly dataDir: string;
}

/** One running member process. */
export interface MemberProcess {
  readonly spec: MemberSpec;
  readonly child: ChildProcess;
  /** Everything the member wrote to stderr (its pino warnings). */
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
}

/** Options of {@link startMember}. */
export interface StartMemberOptions {
  readonly tickMs?: number;
  readonly snapshotEvery?: number;
  readonly readyTimeoutMs?: number;
  readonly logLevel?: string;
}

/** Spawns a member and resolves once it prints `ready`. */
export function startMember(
  spec: MemberSpec,
  all: readonly MemberSpec[],
  options: StartMemberOptions = {},
): Promise<MemberProcess> {
  const peers = all.map((m) => `${m.id}=127.0.0.1:${m.raftPort}`).join(',');
  // Extra node flags for profiling a member (e.g. `--cpu-prof`), which NODE_OPTIONS refuses.
  const nodeArgs = (process.env.SHOAL_MEMBER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      KV_MEMBER_JS,
      '--id',
      String(spec.id),
      '--peers',
      peers,
      '--kv-port',
      String(spec.kvPort),
      '--data',
      spec.dataDir,
      '--tick-ms',
      String(options.tickMs ?? 100),
      '--snapshot-every',
      String(options.snapshotEvery ?? 10_000),
      '--log-level',
      options.logLevel ?? 'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    // Bounded: keep the last 64 KiB for post-mortems.
    err = (err + d.toString()).slice(-65536);
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`member ${spec.id} not ready in time: ${err}`));
    }, options.readyTimeoutMs ?? 15_000);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        resolve({ spec, child, stderr: () => err, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`member ${spec.id} exited with ${code} before ready: ${err}`));
    });
  });
}

/** SIGKILLs a member and waits for it to be gone. */
export async function killMember(m: MemberProcess): Promise<void> {
  if (m.child.exitCode === null && m.child.signalCode === null) m.child.kill('SIGKILL');
  await m.exited;
}

/** SIGTERMs a member (graceful stop), SIGKILLing it if it is not gone after `graceMs`. */
export async function stopMember(m: MemberProcess, graceMs = 5000): Promise<void> {
  if (m.child.exitCode !== null || m.child.signalCode !== null) return;
  m.child.kill('SIGTERM');
  const timer = setTimeout(() => m.child.kill('SIGKILL'), graceMs);
  await m.exited;
  clearTimeout(timer);
}
