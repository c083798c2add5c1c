// `npm run demo`: a 3-node lab, a swarm formed through `shoal` exactly as a user would
// form it, and a look at every node. Leaves the lab running for you to explore; `npm run
// lab -- down` removes it. Each later issue adds its part of the mission here.
import { Lab, TASK_IMAGE } from './lab/index.js';

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

async function shoal(lab: Lab, node: string, args: string[]): Promise<string> {
  say(`\n$ lab exec ${node} -- shoal ${args.join(' ')}`);
  const result = await lab.exec(node, ['shoal', ...args], { timeoutMs: 60_000 });
  process.stdout.write(result.stdout);
  if (result.exitCode !== 0) {
    process.stderr.write(result.stderr);
    throw new Error(`shoal ${args.join(' ')} failed on ${node} with exit code ${result.exitCode}`);
  }
  return result.stdout;
}

async function waitForReady(lab: Lab, count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const result = await lab.exec('m1', ['shoal', 'node', 'ls', '--format', 'json']);
    const rows = result.exitCode === 0 ? (JSON.parse(result.stdout) as { Status: string }[]) : [];
    if (rows.length === count && rows.every((r) => r.Status === 'Ready')) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the ${count} nodes were not all Ready within 60 s`);
}

async function main(): Promise<void> {
  const started = Date.now();
  say('Starting a 3-node lab (1 manager, 2 workers): namespaces, containerd, dockerd, shoald...');
  const lab = await Lab.create({
    managers: 1,
    workers: 2,
    onProgress: (line) => process.stderr.write(`  ${line}\n`),
  });
  for (const node of ['m1', 'w1', 'w2']) await shoal(lab, node, ['info']);

  const init = await shoal(lab, 'm1', ['swarm', 'init', '--advertise-addr', lab.node('m1').ip]);
  const join = /shoal swarm join --token (\S+) (\S+)/.exec(init);
  if (!join) throw new Error('swarm init printed no join command');
  for (const worker of ['w1', 'w2'])
    await shoal(lab, worker, ['swarm', 'join', '--token', join[1]!, join[2]!]);
  await waitForReady(lab, 3);
  await shoal(lab, 'm1', ['node', 'ls']);
  await shoal(lab, 'm1', ['info']);

  // A service of real containers, spread over the nodes (networking comes later: the
  // tasks run with no network yet, so nothing is published).
  await shoal(lab, 'm1', [
    'service',
    'create',
    '--name',
    'web',
    '--replicas',
    '3',
    TASK_IMAGE,
    'httpd',
    '-f',
    '-p',
    '8080',
  ]);
  await shoal(lab, 'm1', ['service', 'ls']);
  await shoal(lab, 'm1', ['service', 'ps', 'web']);
  for (const node of ['m1', 'w1', 'w2']) {
    const ps = await lab.exec(node, ['docker', 'ps', '--format', '{{.Names}}\t{{.Status}}']);
    say(`\n$ lab exec ${node} -- docker ps\n${ps.stdout.trimEnd()}`);
  }

  say(`\nDemo ready in ${((Date.now() - started) / 1000).toFixed(1)} s. The lab keeps running:`);
  say('  npm run -s lab -- status --json');
  say('  npm run -s lab -- exec m1 -- shoal node ls');
  say('  npm run -s lab -- down');
}

main().catch((error: unknown) => {
  process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
