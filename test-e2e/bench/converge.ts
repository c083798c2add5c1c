// `npm run -s bench:converge -- --json`: how long `shoal service create --detach
// --replicas 30` takes until `service ps --format json` shows all 30 running in a 3-node
// lab, against the engine floor measured in the same run: 30 `docker run -d --network
// none IMAGE sleep 3600`, 10 per node, 4 at a time per node (the agent's executor runs 4
// container operations at a time). The create is the real `shoal` command on m1; the
// polling (every 100 ms) runs `service ps --format json` through the CLI's own code in
// this process over one connection to m1's shoald, so a poll costs no process start.
// Prints {"replicas", "shoal_s", "engine_floor_s", "ratio", "per_node_parallelism"}.

import { DEFAULT_TASK_PARALLELISM } from '@shoal/agent';
import { shoalOk } from '../kit/lab-shoal.js';
import { type Lab, TASK_IMAGE } from '../lab/index.js';
import { InProcessShoal, log, runBench, runningRows, smallSwarmLab, until } from './bench-lab.js';

const REPLICAS = 30;
const NODES = ['m1', 'w1', 'w2'];
/** The floor runs its containers as the agents' executors do: this many at a time per node. */
const PER_NODE_PARALLELISM = DEFAULT_TASK_PARALLELISM;

async function engineFloor(lab: Lab): Promise<number> {
  const started = Date.now();
  await Promise.all(
    NODES.map(async (node) => {
      const names = Array.from({ length: REPLICAS / NODES.length }, (_, i) => `floor-${node}-${i}`);
      const queue = [...names];
      await Promise.all(
        Array.from({ length: PER_NODE_PARALLELISM }, async () => {
          for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
            const result = await lab.exec(node, [
              'docker',
              'run',
              '-d',
              '--name',
              name,
              '--network',
              'none',
              TASK_IMAGE,
              'sleep',
              '3600',
            ]);
            if (result.exitCode !== 0)
              throw new Error(`${node}: docker run: ${result.stderr.trim()}`);
          }
        }),
      );
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  for (const node of NODES) {
    const ids = (await lab.exec(node, ['docker', 'ps', '-aq', '--filter', 'name=floor-'])).stdout
      .trim()
      .split('\n')
      .filter(Boolean);
    if (ids.length) await lab.exec(node, ['docker', 'rm', '-f', ...ids]);
  }
  return seconds;
}

async function shoalConverge(lab: Lab): Promise<number> {
  const shoal = await InProcessShoal.connect(lab, 'm1');
  try {
    return await timeConverge(lab, shoal);
  } finally {
    shoal.close();
  }
}

async function timeConverge(lab: Lab, shoal: InProcessShoal): Promise<number> {
  const started = Date.now();
  await shoalOk(lab, 'm1', [
    'service',
    'create',
    '--detach',
    '--name',
    'bench',
    '--replicas',
    String(REPLICAS),
    TASK_IMAGE,
    'sleep',
    '3600',
  ]);
  await until(
    `${REPLICAS} running`,
    async () => {
      const ps = await shoal.run(['service', 'ps', '--format', 'json', 'bench']);
      return runningRows(ps).length === REPLICAS ? true : undefined;
    },
    {
      intervalMs: 100,
    },
  );
  const seconds = (Date.now() - started) / 1000;
  await shoalOk(lab, 'm1', ['service', 'rm', 'bench']);
  return seconds;
}

runBench(async () => {
  const lab = await smallSwarmLab();
  const floor = await engineFloor(lab);
  log(`engine floor: ${floor.toFixed(2)} s for ${REPLICAS} containers`);
  const shoalS = await shoalConverge(lab);
  log(`shoal: ${shoalS.toFixed(2)} s until ${REPLICAS} tasks running`);
  return {
    replicas: REPLICAS,
    shoal_s: Number(shoalS.toFixed(2)),
    engine_floor_s: Number(floor.toFixed(2)),
    ratio: Number((shoalS / floor).toFixed(2)),
    per_node_parallelism: PER_NODE_PARALLELISM,
  };
});
