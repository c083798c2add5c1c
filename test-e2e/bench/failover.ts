// `npm run -s bench:failover -- --json`: leader loss to the next acknowledged write.
// A lab with 3 managers (and one worker whose namespace hosts the client); a client
// process writes through the Control API in a loop; each trial kills the leader's
// whole node and measures kill -> first write acknowledged after it; the node is then
// started again and the next trial waits until it is Reachable. Prints, as its last
// stdout line, {"trials", "p50_ms", "p99_ms", "max_ms"}.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Lab } from '../lab/index.js';
import { log, percentile, until } from './bench-lab.js';

const args = process.argv.slice(2);
const trials = Number(args[args.indexOf('--trials') + 1] ?? 20) || 20;

interface Row {
  Hostname: string;
  Status: string;
  ManagerStatus: string;
}

async function nodeLs(lab: Lab, node: string): Promise<Row[]> {
  const result = await lab.exec(node, ['shoal', 'node', 'ls', '--format', 'json'], {
    timeoutMs: 20_000,
  });
  if (result.exitCode !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout) as Row[];
}

/** Freezes every process of a lab node (freezer cgroup v1) and waits until it is frozen. */
async function freeze(relative: string): Promise<void> {
  const dir = join('/sys/fs/cgroup/freezer', relative);
  await writeFile(join(dir, 'freezer.state'), 'FROZEN');
  for (let i = 0; i < 1000; i++) {
    if ((await readFile(join(dir, 'freezer.state'), 'utf8')).trim() === 'FROZEN') return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`cgroup "${relative}" did not freeze`);
}

async function main(): Promise<void> {
  const managers = ['m1', 'm2', 'm3'];
  const lab = await Lab.create({
    managers: 3,
    workers: 1,
    onProgress: (line) => log(`lab: ${line}`),
  });
  try {
    const init = await lab.exec('m1', [
      'shoal',
      'swarm',
      'init',
      '--advertise-addr',
      lab.node('m1').ip,
    ]);
    if (init.exitCode !== 0) throw new Error(init.stderr);
    const token = (
      await lab.exec('m1', ['shoal', 'swarm', 'join-token', '-q', 'manager'])
    ).stdout.trim();
    for (const m of ['m2', 'm3']) {
      const joined = await lab.exec(m, [
        'shoal',
        'swarm',
        'join',
        '--token',
        token,
        `${lab.node('m1').ip}:2377`,
      ]);
      if (joined.exitCode !== 0) throw new Error(joined.stderr);
    }
    await until('3 reachable managers', async () => {
      const rows = await nodeLs(lab, 'm1');
      return rows.filter((r) => r.ManagerStatus === 'Leader' || r.ManagerStatus === 'Reachable')
        .length === 3
        ? rows
        : undefined;
    });
    // The client writes as m1 would (a manager certificate), from the worker's namespace.
    const certDir = `${lab.node('m1').paths.shoaldDataDir}/swarm/certificates`;
    const info = JSON.parse(
      (await lab.exec('m1', ['shoal', 'info', '--format', 'json'])).stdout,
    ) as { nodeId: string };
    const addrs = managers.map((m) => `${lab.node(m).ip}:2377`);
    const seconds = trials * 30 + 120;
    const client = spawn(
      'nsenter',
      [
        `--net=${lab.node('w1').paths.netnsPath}`,
        '--',
        process.execPath,
        new URL('./failover-client.js', import.meta.url).pathname,
        certDir,
        info.nodeId,
        String(seconds),
        ...addrs,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    // A write counts for a trial only if it was issued after the kill: one already under
    // way may have committed before it.
    let lastIssued = 0;
    let lastAck = 0;
    const waiters: { after: number; resolve: (t: number) => void }[] = [];
    createInterface({ input: client.stdout }).on('line', (line) => {
      const [, issued, acked] = line.split(' ').map(Number);
      lastIssued = issued!;
      lastAck = acked!;
      for (const w of waiters.splice(0)) {
        if (issued! > w.after) w.resolve(acked!);
        else waiters.push(w);
      }
    });
    const ackAfter = (after: number) =>
      new Promise<number>((resolve) => {
        if (lastIssued > after) return resolve(lastAck);
        waiters.push({ after, resolve });
      });
    await ackAfter(Date.now());
    const samples: number[] = [];
    try {
      for (let trial = 1; trial <= trials; trial++) {
        const rows = await nodeLs(lab, 'm1').catch(() => nodeLs(lab, 'm2'));
        const leaderHost = rows.find((r) => r.ManagerStatus === 'Leader')!.Hostname;
        const leader = managers.find((m) => lab.node(m).hostname === leaderHost)!;
        // The node stops answering when its cgroup is frozen, the first thing `kill`
        // does: freeze it here first so the clock starts when the leader is gone, not
        // when the kill command began.
        await freeze(lab.node(leader).paths.cgroups.node);
        const killedAt = Date.now();
        await lab.kill(leader);
        const ackAt = await Promise.race([
          ackAfter(killedAt),
          new Promise<number>((_, reject) =>
            setTimeout(
              () => reject(new Error('no write acknowledged within 30 s of the kill')),
              30_000,
            ),
          ),
        ]);
        samples.push(ackAt - killedAt);
        log(`trial ${trial}: killed ${leader}, first write after ${ackAt - killedAt} ms`);
        await lab.start(leader);
        await until(`${leader} Reachable`, async () => {
          const view = await nodeLs(lab, managers.find((m) => m !== leader)!);
          const back = view.find((r) => r.Hostname === leaderHost);
          return back?.ManagerStatus === 'Reachable' && back.Status === 'Ready' ? view : undefined;
        });
      }
    } finally {
      client.kill('SIGKILL');
    }
    const sorted = [...samples].sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        trials: samples.length,
        p50_ms: percentile(sorted, 50),
        p99_ms: percentile(sorted, 99),
        max_ms: sorted.at(-1),
      }),
    );
  } catch (error) {
    // The daemons' last words are what explains a failed run; the lab goes with `down`.
    for (const m of managers) {
      const text = await readFile(lab.logFile(m, 'shoald'), 'utf8').catch(() => '');
      log(
        `--- shoald log of ${m} (last 30 lines)\n${text.trimEnd().split('\n').slice(-30).join('\n')}`,
      );
    }
    throw error;
  } finally {
    await Lab.down();
  }
}

main().catch((error: unknown) => {
  log(`Error: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
