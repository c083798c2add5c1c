// Starting, finding and probing one node's daemons: containerd, dockerd and shoald. Each
// is started through `sh -c 'join cgroup && exec nsenter --net=<netns> -- daemon …'`, so
// it is in the node's cgroup before it can fork and in the node's network namespace but
// still in the host's mount namespace (`ip netns exec` would remount /sys and hide the
// cgroup hierarchies from dockerd), and in the node's UTS namespace (its hostname). nsenter
// execs the daemon, so the pid we get is its pid.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cgroupJoinScript, createCgroup, listCgroupPids } from './cgroup-tree.js';
import { acceptsConnections, pingDocker } from './engine-probe.js';
import { LabError } from './errors.js';
import type { LabLayout, NodePaths } from './lab-layout.js';
import type { LabDaemon, NodeCapacity } from './lab-state.js';
import { nodeNamespaceArgs } from './node-hostname.js';
import { runCommand } from './run-command.js';

/** The daemons of a node in start order. */
export const LAB_DAEMONS: readonly LabDaemon[] = ['containerd', 'dockerd', 'shoald'];

/** How long a daemon may take to answer after it was started. */
export const DAEMON_READY_TIMEOUT_MS = 60_000;
const READY_POLL_MS = 100;

/** What a node's daemons are started with. */
export interface NodeDaemonSpec {
  readonly name: string;
  readonly hostname: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly capacity: NodeCapacity | null;
}

/** One node's daemons: where the lab lives, the node's paths, and what to start them with. */
export interface NodeDaemonContext {
  readonly layout: LabLayout;
  readonly paths: NodePaths;
  readonly spec: NodeDaemonSpec;
}

/** The environment for daemons and `exec`: no client variables pointing at other nodes. */
export function labEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const key of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'SHOAL_HOST', 'CONTAINERD_ADDRESS']) {
    if (!(key in extra)) delete env[key];
  }
  const path = env.PATH ?? '';
  const needed = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  env.PATH = [...path.split(':').filter((dir) => dir !== ''), ...needed]
    .filter((dir, index, all) => all.indexOf(dir) === index)
    .join(':');
  return env;
}

/** The cgroup (relative to each hierarchy) daemon `daemon` of a node runs in. */
export function daemonCgroup(paths: NodePaths, daemon: LabDaemon): string {
  return daemon === 'shoald' ? paths.cgroups.shoald : paths.cgroups.runtime;
}

function containerdConfig(paths: NodePaths): string {
  // The CRI plugin is off: it is Kubernetes' and would only add noise and a CNI search.
  return [
    'version = 2',
    `root = ${JSON.stringify(paths.containerdRoot)}`,
    `state = ${JSON.stringify(paths.containerdState)}`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '',
    '[grpc]',
    `  address = ${JSON.stringify(paths.containerdSocket)}`,
    '',
    '[ttrpc]',
    `  address = ${JSON.stringify(`${paths.containerdSocket}.ttrpc`)}`,
    '',
    '[debug]',
    '  address = ""',
    '',
    '[metrics]',
    '  address = ""',
    '',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${JSON.stringify(paths.containerdOptDir)}`,
    '',
  ].join('\n');
}

/**
 * Writes the node's daemon configs and makes its directories and cgroups. Idempotent, so
 * `start` can call it again on the same state.
 */
export async function prepareNode(paths: NodePaths): Promise<void> {
  for (const dir of [
    paths.dir,
    paths.logDir,
    paths.runDir,
    paths.containerdRoot,
    paths.containerdState,
    paths.containerdOptDir,
    paths.dockerDataRoot,
    paths.dockerExecRoot,
    paths.shoaldDataDir,
  ]) {
    await mkdir(dir, { recursive: true });
  }
  await writeFile(paths.containerdConfig, containerdConfig(paths));
  // An explicit (empty) config file keeps a host /etc/docker/daemon.json out of the lab.
  await writeFile(paths.dockerConfig, '{}\n');
  await createCgroup(paths.cgroups.runtime);
  await createCgroup(paths.cgroups.shoald);
}

/** The command line of `daemon` for the node. */
export function daemonArgv(context: NodeDaemonContext, daemon: LabDaemon): string[] {
  const { layout, paths, spec } = context;
  switch (daemon) {
    case 'containerd':
      return ['containerd', '--config', paths.containerdConfig];
    case 'dockerd':
      return [
        'dockerd',
        '--config-file',
        paths.dockerConfig,
        '--data-root',
        paths.dockerDataRoot,
        '--exec-root',
        paths.dockerExecRoot,
        '--pidfile',
        paths.dockerPidfile,
        '-H',
        `unix://${paths.dockerSocket}`,
        '--containerd',
        paths.containerdSocket,
        '--bridge=none',
        '--iptables=false',
        '--ip6tables=false',
        '--ip-masq=false',
        // Absolute, so runc puts containers under the node's cgroup in every hierarchy.
        `--cgroup-parent=/${paths.cgroups.containers}`,
        ...Object.entries(spec.labels).flatMap(([key, value]) => ['--label', `${key}=${value}`]),
      ];
    case 'shoald':
      return [
        layout.shoaldBin,
        '--data-dir',
        paths.shoaldDataDir,
        '--socket',
        paths.shoaldSocket,
        '--hostname',
        spec.hostname,
        '--engine-host',
        `unix://${paths.dockerSocket}`,
        ...(spec.capacity
          ? [
              '--capacity-cpus',
              String(spec.capacity.cpus),
              '--capacity-memory',
              String(spec.capacity.memoryBytes),
            ]
          : []),
        '--log-level',
        'info',
      ];
  }
}

/** The log file of `daemon` (its stdout and stderr). */
export function daemonLogFile(paths: NodePaths, daemon: LabDaemon): string {
  return join(paths.logDir, `${daemon}.log`);
}

/**
 * Starts `daemon` of the node in the background and returns its pid. Does not wait for
 * it to answer: see {@link waitDaemonReady}.
 */
export async function spawnDaemon(context: NodeDaemonContext, daemon: LabDaemon): Promise<number> {
  const { layout, paths, spec } = context;
  const argv = daemonArgv(context, daemon);
  if (daemon === 'shoald' && !existsSync(layout.shoaldBin)) {
    throw new LabError(
      'SHOAL_LAB_MISSING_BINARY',
      `Start shoald on "${spec.name}": no such file: "${layout.shoaldBin}": build the checkout or pass --no-shoald`,
      { node: spec.name },
    );
  }
  const script = `${cgroupJoinScript(daemonCgroup(paths, daemon))} && exec nsenter ${nodeNamespaceArgs(paths).join(' ')} -- "$@"`;
  const log = openSync(daemonLogFile(paths, daemon), 'a');
  try {
    const child = spawn('sh', ['-c', script, 'sh', ...argv], {
      detached: true,
      stdio: ['ignore', log, log],
      env: labEnvironment(),
      cwd: paths.dir,
    });
    const pid = child.pid;
    child.unref();
    if (pid === undefined) {
      throw new LabError(
        'SHOAL_LAB_COMMAND_FAILED',
        `Start ${daemon} on "${spec.name}": spawn failed`,
        {
          node: spec.name,
        },
      );
    }
    return pid;
  } finally {
    closeSync(log);
  }
}

/** Whether `pid` is alive in the daemon's cgroup (a zombie or a reused pid is not). */
export async function isDaemonAlive(
  paths: NodePaths,
  options: { daemon: LabDaemon; pid: number | null },
): Promise<boolean> {
  const { daemon, pid } = options;
  if (pid === null || pid <= 0) return false;
  return (await listCgroupPids(daemonCgroup(paths, daemon))).includes(pid);
}

/** Whether process `pid` exists and is not a zombie. */
export async function isProcessRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command name, which is in parentheses and may hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function logTail(paths: NodePaths, daemon: LabDaemon): Promise<string> {
  try {
    const lines = (await readFile(daemonLogFile(paths, daemon), 'utf8')).trimEnd().split('\n');
    return lines.slice(-8).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Whether the daemon answers: containerd and shoald accept connections, dockerd pings. */
export async function probeDaemon(context: NodeDaemonContext, daemon: LabDaemon): Promise<boolean> {
  const { layout, paths } = context;
  switch (daemon) {
    case 'containerd':
      return acceptsConnections(paths.containerdSocket);
    case 'dockerd':
      return pingDocker(paths.dockerSocket);
    case 'shoald': {
      if (!(await acceptsConnections(paths.shoaldSocket))) return false;
      const result = await runCommand(layout.shoalBin, ['info', '--format', 'json'], {
        env: labEnvironment({ SHOAL_HOST: `unix://${paths.shoaldSocket}` }),
        allowFailure: true,
        timeoutMs: 10_000,
      });
      return result.exitCode === 0;
    }
  }
}

/**
 * Waits until the daemon answers its probe.
 *
 * @throws {LabError} `SHOAL_LAB_DAEMON_NOT_READY` when it exits first or does not answer
 * within `timeoutMs`; the message ends with the tail of its log.
 */
export async function waitDaemonReady(
  context: NodeDaemonContext,
  daemon: LabDaemon,
  options: { pid: number; timeoutMs?: number; signal?: AbortSignal },
): Promise<void> {
  const { paths } = context;
  const node = context.spec.name;
  const timeoutMs = options.timeoutMs ?? DAEMON_READY_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    if (await probeDaemon(context, daemon)) return;
    // Not the cgroup check: right after spawn the wrapper may not have joined it yet.
    const alive = await isProcessRunning(options.pid);
    if (!alive || Date.now() > deadline) {
      const why = alive ? `no answer after ${timeoutMs} ms` : `it exited (pid ${options.pid})`;
      throw new LabError(
        'SHOAL_LAB_DAEMON_NOT_READY',
        `Start ${daemon} on "${node}": ${why}; log ${daemonLogFile(paths, daemon)} ends:\n${await logTail(paths, daemon)}`,
        { node },
      );
    }
    await sleep(READY_POLL_MS);
  }
}
