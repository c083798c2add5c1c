// `npm run -s bench:nodeloss -- --json [--trials N]`: a 3-node lab with a 6-replica
// service; each trial kills one worker's whole node and measures kill -> `node ls` shows
// it Down (down_ms) and kill -> all 6 replicas running again (replaced_ms); the node is
// started again between trials. Prints {"trials", "down_ms_p50", "replaced_ms_p50",
// "replaced_ms_max"}.

import { shoalOk } from '../kit/lab-shoal.js';
import { TASK_IMAGE } from '../lab/index.js';
import { log, percentile, runBench, runningTasks, smallSwarmLab, until } from './bench-lab.js';

const args = process.argv.slice(2);
const trials = Number(args[args.indexOf('--trials') + 1] ?? 5) || 5;

runBench(async () => {
  const lab = await smallSwarmLab();
  await shoalOk(lab, 'm1', [
    'service',
    'create',
    '--name',
    'bench',
    '--replicas',
    '6',
    '--stop-grace-period',
    '1s',
    TASK_IMAGE,
    'sleep',
    '3600',
  ]);
  const down: number[] = [];
  const replaced: number[] = [];
  for (let trial = 1; trial <= trials; trial++) {
    // The victim is a worker that runs some of the replicas (replacements land on the
    // emptiest nodes, so the worker that came back last usually does).
    const before = await until('6 replicas running before the kill', async () => {
      const running = await runningTasks(lab, 'bench');
      return running.length === 6 ? running : undefined;
    });
    const victim = ['w1', 'w2'].find((w) => before.some((t) => t.Node === lab.node(w).hostname));
    if (!victim) throw new Error('no worker runs a replica');
    const hostname = lab.node(victim).hostname;
    const killedAt = Date.now();
    await lab.kill(victim);
    let downAt = 0;
    const replacedAt = await until(
      '6 replicas running again',
      async () => {
        if (!downAt) {
          const rows = JSON.parse(await shoalOk(lab, 'm1', ['node', 'ls', '--format', 'json'])) as {
            Hostname: string;
            Status: string;
          }[];
          if (rows.find((r) => r.Hostname === hostname)?.Status === 'Down') downAt = Date.now();
        }
        const running = await runningTasks(lab, 'bench');
        return downAt && running.length === 6 && running.every((t) => t.Node !== hostname)
          ? Date.now()
          : undefined;
      },
      { intervalMs: 100 },
    );
    down.push(downAt - killedAt);
    replaced.push(replacedAt - killedAt);
    log(
      `trial ${trial}: killed ${victim}: Down after ${downAt - killedAt} ms, 6 running after ${replacedAt - killedAt} ms`,
    );
    await lab.start(victim);
    await until(`${victim} Ready`, async () => {
      const rows = JSON.parse(await shoalOk(lab, 'm1', ['node', 'ls', '--format', 'json'])) as {
        Hostname: string;
        Status: string;
      }[];
      return rows.find((r) => r.Hostname === hostname)?.Status === 'Ready' ? true : undefined;
    });
    // Let the service spread over the returned node again for the next trial.
    await shoalOk(lab, 'm1', [
      'service',
      'update',
      '--force',
      '--update-parallelism',
      '0',
      '--detach',
      'bench',
    ]);
  }
  return {
    trials: down.length,
    down_ms_p50: percentile(down, 50),
    replaced_ms_p50: percentile(replaced, 50),
    replaced_ms_max: Math.max(...replaced),
  };
});
