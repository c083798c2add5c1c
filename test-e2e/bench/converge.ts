// `npm run -s bench:converge -- --json`: how long `shoal service create --detach
// --replicas 30` takes until `service ps` shows all 30 running in a 3-node lab, against
// the engine floor measured in the same run: 30 `docker run -d --network none IMAGE
// sleep 3600`, 10 per node, 4 at a time per node (the agent's executor runs 4 container
// operations at a time). Prints {"replicas", "shoal_s", "engine_floor_s", "ratio"}.

import { shoalOk } from '../kit/lab-shoal.js';
import { type Lab, TASK_IMAGE } from '../lab/index.js';
import { log, runBench, runningTasks, smallSwarmLab, until } from './bench-lab.js';

const REPLICAS = 30;
const NODES = ['m1', 'w1', 'w2'];
const PER_NODE_PARALLELISM = 4;

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
    async () => ((await runningTasks(lab, 'bench')).length === REPLICAS ? true : undefined),
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
  };
});
