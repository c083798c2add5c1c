// `npm run -s bench:nodeloss -- --json [--trials N]`: a 3-node lab with a 6-replica
// service; each trial kills one worker's whole node and measures kill -> `node ls` shows
// it Down (down_ms) and kill -> all 6 replicas running again (replaced_ms); the node is
// started again between trials. Polling (every 100 ms) goes through the CLI's own code in
// this process over one connection to m1's shoald, as bench:converge does. Prints {"trials", "down_ms_p50", "replaced_ms_p50",
// "replaced_ms_max"}.

import { shoalOk } from '../kit/lab-shoal.js';
import { TASK_IMAGE } from '../lab/index.js';
import {
  InProcessShoal,
  log,
  percentile,
  runBench,
  runningRows,
  smallSwarmLab,
  until,
} from './bench-lab.js';

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
  const shoal = await InProcessShoal.connect(lab, 'm1');
  const running = async () =>
    runningRows(await shoal.run(['service', 'ps', '--format', 'json', 'bench']));
  const nodeStatus = async (hostname: string) => {
    const rows = JSON.parse(await shoal.run(['node', 'ls', '--format', 'json'])) as {
      Hostname: string;
      Status: string;
    }[];
    return rows.find((r) => r.Hostname === hostname)?.Status;
  };
  try {
    const down: number[] = [];
    const replaced: number[] = [];
    for (let trial = 1; trial <= trials; trial++) {
      // The victim is a worker that runs some of the replicas (replacements land on the
      // emptiest nodes, so the worker that came back last usually does).
      const before = await until('6 replicas running before the kill', async () => {
        const now = await running();
        return now.length === 6 ? now : undefined;
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
          if (!downAt && (await nodeStatus(hostname)) === 'Down') downAt = Date.now();
          const now = await running();
          return downAt && now.length === 6 && now.every((t) => t.Node !== hostname)
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
      await until(`${victim} Ready`, async () =>
        (await nodeStatus(hostname)) === 'Ready' ? true : undefined,
      );
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
  } finally {
    shoal.close();
  }
});
