#!/usr/bin/env node
// `lab`: the command line over the Lab library, one verb per method. Run as root:
// `npm run lab -- up --managers 1 --workers 2`.
import { readFile } from 'node:fs/promises';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { LabError } from './errors.js';
import { Lab, type LabCreateOptions, type LabNodesOptions } from './lab.js';
import type { LabDaemon, NodeCapacity } from './lab-state.js';
import { LAB_DAEMONS } from './node-daemons.js';
import { parseCapacityFlag, parseLabelFlag } from './node-flags.js';
import { TASK_IMAGE } from './task-image.js';
import { DEFAULT_UNDERLAY_CIDR } from './underlay-subnet.js';

const started = Date.now();

function progress(message: string): void {
  const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
  process.stderr.write(`[${seconds}s] ${message}\n`);
}

function count(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > 99) {
    throw new InvalidArgumentError('want a whole number from 0 to 99');
  }
  return value;
}

function lineCount(text: string): number {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError('want a whole number');
  return Number(text);
}

function seconds(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !(Number.isFinite(value) && value >= 0)) {
    throw new InvalidArgumentError('want a number of seconds >= 0');
  }
  return value * 1000;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface NodeFlags {
  managers?: number;
  workers?: number;
  label: string[];
  capacity: string[];
}

function nodesOptions(flags: NodeFlags): LabNodesOptions {
  const labels: Record<string, Record<string, string>> = {};
  for (const text of flags.label) {
    const { node, key, value } = parseLabelFlag(text);
    labels[node] = { ...labels[node], [key]: value };
  }
  const capacity: Record<string, NodeCapacity> = {};
  for (const text of flags.capacity) {
    const parsed = parseCapacityFlag(text);
    capacity[parsed.node] = parsed.capacity;
  }
  return {
    ...(flags.managers === undefined ? {} : { managers: flags.managers }),
    ...(flags.workers === undefined ? {} : { workers: flags.workers }),
    labels,
    capacity,
  };
}

function withNodeFlags(command: Command, defaults: { managers: number; workers: number }) {
  return command
    .option('--managers <n>', `manager nodes to make (m1, m2, …)`, count, defaults.managers)
    .option('--workers <n>', `worker nodes to make (w1, w2, …)`, count, defaults.workers)
    .option('--label <node=k=v>', 'engine label of a node being made (repeatable)', collect, [])
    .option(
      '--capacity <node=cpus,memory>',
      'resources a new node announces, e.g. w1=2,1g (repeatable)',
      collect,
      [],
    );
}

const program = new Command('lab')
  .description(
    'A Kind-like Shoal cluster on this machine: one network namespace per node on a lab bridge, ' +
      'each with its own containerd, dockerd and shoald. Run as root.',
  )
  .enablePositionalOptions()
  .showHelpAfterError()
  .addHelpText(
    'after',
    `
Nodes are m1, m2, … (managers) and w1, w2, … (workers); "lab-m1" works too.
Files: state /var/lib/shoal-lab (lab.json, nodes/<node>/{docker,containerd,shoald,logs}),
sockets /run/shl/<node>/{docker,containerd,shoald}.sock, image cache /var/cache/shoal-lab.
Names: namespaces lab-<node>, bridge shl-br0, veths shl-<node>, cgroups shoal-lab/<node>.
More in test-e2e/lab/README.md.

Examples:
  lab up --managers 3 --workers 2 --label w1=zone=a --capacity w2=1,512m
  lab exec w1 -- docker run --rm --network host ${TASK_IMAGE} wget -qO- http://198.18.0.1:8080/
  lab kill m1 --only shoald && lab start m1
  lab partition m1 m2,m3 && lab unpartition
  lab down`,
  );

withNodeFlags(
  program
    .command('up')
    .description(
      'remove any leftover lab, then make a new one and wait until every dockerd answers, ' +
        'holds the task image, and every shoald answers "shoal info"',
    ),
  { managers: 1, workers: 2 },
)
  .option(
    '--subnet <cidr>',
    'underlay subnet (not in 10.0.0.0/8 or 172.16.0.0/12)',
    DEFAULT_UNDERLAY_CIDR,
  )
  .option('--no-shoald', 'run only containerd and dockerd on each node')
  .action(async (flags: NodeFlags & { subnet: string; shoald: boolean }) => {
    const options: LabCreateOptions = {
      ...nodesOptions(flags),
      subnet: flags.subnet,
      shoald: flags.shoald,
      onProgress: progress,
    };
    const lab = await Lab.create(options);
    progress(`lab up: ${lab.nodes.map((node) => `${node.name} ${node.ip}`).join(', ')}`);
  });

withNodeFlags(
  program.command('add').description('add nodes to the running lab (names continue the series)'),
  { managers: 0, workers: 0 },
).action(async (flags: NodeFlags) => {
  const lab = await Lab.open({ onProgress: progress });
  const added = await lab.add(nodesOptions(flags));
  progress(`added: ${added.map((node) => `${node.name} ${node.ip}`).join(', ') || 'nothing'}`);
});

program
  .command('status')
  .description(
    'show the nodes and the pids of their daemons; with --json print one object ' +
      '{"image","subnet","nodes":[{"name","role","hostname","ip","netns","dockerSocket",' +
      '"shoaldSocket","linkUp","pids":{"dockerd","containerd","shoald"}}]} where a pid is ' +
      'null when that daemon is not running',
  )
  .option('--json', 'print JSON')
  .action(async (flags: { json?: boolean }) => {
    const lab = await Lab.open();
    const status = await lab.status();
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(status)}\n`);
      return;
    }
    const rows = [
      ['NAME', 'ROLE', 'IP', 'LINK', 'CONTAINERD', 'DOCKERD', 'SHOALD'],
      ...status.nodes.map((node) => [
        node.name,
        node.role,
        node.ip,
        node.linkUp ? 'up' : 'cut',
        String(node.pids.containerd ?? '-'),
        String(node.pids.dockerd ?? '-'),
        String(node.pids.shoald ?? '-'),
      ]),
    ];
    const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
    process.stdout.write(`image ${status.image}, subnet ${status.subnet}\n`);
    if (lab.currentPartition) {
      process.stdout.write(
        `partition ${lab.currentPartition.map((group) => group.join(',')).join(' | ')}\n`,
      );
    }
    for (const row of rows) {
      process.stdout.write(
        `${row
          .map((cell, column) => cell.padEnd(widths[column]!))
          .join('   ')
          .trimEnd()}\n`,
      );
    }
  });

program
  .command('exec')
  .description(
    "run a command in a node's network namespace with SHOAL_HOST and DOCKER_HOST set to its " +
      "daemons and shoal and docker on PATH; exits with the command's exit code",
  )
  .argument('<node>', 'node name, e.g. w1')
  .argument('<command...>', 'the command, after "--"')
  .passThroughOptions()
  .action(async (node: string, argv: string[]) => {
    // With passThroughOptions commander hands the "--" separator on as an argument.
    if (argv[0] === '--') argv = argv.slice(1);
    const result = await (await Lab.open()).exec(node, argv, { stdio: 'inherit' });
    process.exitCode = result.exitCode;
  });

program
  .command('kill')
  .description(
    'SIGKILL a node: by default everything of it (shoald, dockerd, containerd, shims, ' +
      'containers); --only dockerd kills dockerd and containerd and so the whole runtime',
  )
  .argument('<node>', 'node name')
  .addOption(new Option('--only <daemon>', 'kill only this part').choices(['shoald', 'dockerd']))
  .action(async (node: string, flags: { only?: 'shoald' | 'dockerd' }) => {
    await (await Lab.open({ onProgress: progress })).kill(
      node,
      flags.only ? { only: flags.only } : {},
    );
  });

program
  .command('stop')
  .description(
    'stop a node gracefully: SIGTERM to shoald (it drains; a leader hands over), SIGKILL ' +
      'after --timeout; then kill the rest of the node unless --only shoald',
  )
  .argument('<node>', 'node name')
  .addOption(new Option('--only <daemon>', 'stop only this part').choices(['shoald']))
  .option('--timeout <seconds>', 'grace period for shoald (default: 15)', seconds)
  .action(async (node: string, flags: { only?: 'shoald'; timeout?: number }) => {
    const lab = await Lab.open({ onProgress: progress });
    await lab.stop(node, {
      ...(flags.only ? { only: flags.only } : {}),
      ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout }),
    });
  });

program
  .command('start')
  .description("start whichever of a node's daemons is not running, on the same state")
  .argument('<node>', 'node name')
  .action(async (node: string) => {
    await (await Lab.open({ onProgress: progress })).start(node);
  });

program
  .command('logs')
  .description("print a node's daemon log (its stdout and stderr)")
  .argument('<node>', 'node name')
  .addArgument(new Argument('[daemon]', 'which daemon').choices(LAB_DAEMONS).default('shoald'))
  .option('--tail <lines>', 'only the last lines', lineCount)
  .action(async (node: string, daemon: LabDaemon, flags: { tail?: number }) => {
    const file = (await Lab.open()).logFile(node, daemon);
    const lines = (await readFile(file, 'utf8')).split('\n');
    if (lines.at(-1) === '') lines.pop();
    const shown = flags.tail === undefined ? lines : lines.slice(-flags.tail);
    process.stdout.write(shown.length > 0 ? `${shown.join('\n')}\n` : '');
  });

program
  .command('cut')
  .description("take a node's underlay link down (host side of its veth)")
  .argument('<node>', 'node name')
  .action(async (node: string) => {
    await (await Lab.open({ onProgress: progress })).cut(node);
  });

program
  .command('heal')
  .description("bring a node's underlay link back up")
  .argument('<node>', 'node name')
  .action(async (node: string) => {
    await (await Lab.open({ onProgress: progress })).heal(node);
  });

program
  .command('partition')
  .description(
    'split the underlay into groups of nodes (comma-separated, e.g. "m1 m2,m3"): traffic ' +
      'between groups is dropped, nodes in no group are untouched; replaces any earlier partition',
  )
  .argument('<groups...>', 'two or more groups, each "node[,node…]"')
  .action(async (groups: string[]) => {
    const lab = await Lab.open({ onProgress: progress });
    await lab.partition(groups.map((group) => group.split(',').filter((name) => name !== '')));
  });

program
  .command('unpartition')
  .description('make the underlay whole again')
  .action(async () => {
    await (await Lab.open({ onProgress: progress })).unpartition();
  });

program
  .command('down')
  .description(
    'remove every namespace, process, mount, cgroup, bridge and state directory a lab made, ' +
      'found by name (works after a crash, without the state file); keeps the image cache',
  )
  .action(async () => {
    const report = await Lab.down();
    progress(
      `lab down: ${report.netns.length} namespaces, ${report.links.length} links, ` +
        `${report.unmounted.length} mounts, ${report.directories.length} directories removed`,
    );
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof LabError) {
    process.stderr.write(`lab: ${error.message} [${error.code}]\n`);
  } else {
    process.stderr.write(
      `lab: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exitCode = 1;
}
