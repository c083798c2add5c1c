// `down`: removes everything a lab made, found on the system by name and path rather than
// read from the state file, so it also cleans up after a run that crashed half-way (or a
// state file that was deleted). Order matters: processes first (they hold mounts and
// cgroups), then mounts (they pin directories and namespaces), then namespaces, links,
// cgroups and directories.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, readlink, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { killCgroup, removeCgroupTrees } from './cgroup-tree.js';
import { LabError } from './errors.js';
import { LAB_CGROUP, type LabLayout, NODE_NAME_PATTERN, nodePaths } from './lab-layout.js';
import { runCommand } from './run-command.js';
import { deleteLink, deleteNetns, listLabLinks, listLabNetns } from './underlay-network.js';
import { clearPartition, hasPartitionTable, PARTITION_TABLE } from './underlay-partition.js';

/** What {@link tearDownLab} removed. */
export interface TeardownReport {
  /** Processes killed outside the lab cgroup (strays of a crashed run); the cgroup's are not listed. */
  readonly strayPids: number[];
  readonly unmounted: string[];
  readonly netns: string[];
  readonly links: string[];
  readonly directories: string[];
  readonly shimSockets: string[];
}

// containerd 1.6 puts every shim's socket in /run/containerd/s, whatever its own state dir,
// named sha256(<containerd address>/<namespace>/<container id>) (runtime/v2/shim/util_unix.go
// SocketAddress). A killed shim leaves its socket there.
const SHIM_SOCKET_DIR = '/run/containerd/s';
const DOCKER_CONTAINERD_NAMESPACE = 'moby';

function decodeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  );
}

function isUnder(path: string, roots: readonly string[]): boolean {
  return roots.some((root) => path === root || path.startsWith(`${root}/`));
}

/** Mount points (in this mount namespace) at or under any of `roots`, deepest first. */
export async function listMountsUnder(roots: readonly string[]): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const points = text
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((field): field is string => field !== undefined)
    .map(decodeMountPath)
    .filter((point) => isUnder(point, roots));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

async function netnsInodes(names: readonly string[]): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const name of names) {
    try {
      inodes.add(`net:[${(await stat(`/run/netns/${name}`)).ino}]`);
    } catch {
      // a stale entry without a namespace behind it pins nothing
    }
  }
  return inodes;
}

// Daemons that may have escaped a crashed run's cgroup; their command line names a lab path.
const LAB_DAEMON_COMMANDS = /^(containerd|containerd-shim.*|dockerd|runc|docker-init)$/;

async function ancestors(): Promise<Set<number>> {
  const chain = new Set<number>([process.pid]);
  let pid = process.ppid;
  while (pid > 1 && !chain.has(pid)) {
    chain.add(pid);
    try {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      pid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    } catch {
      break;
    }
  }
  return chain;
}

/**
 * Processes that belong to a lab but escaped its cgroup: those inside a lab namespace, and
 * daemons whose command line names a lab path (a shim of a crashed run, say). Never this
 * process or its ancestors (the shell that ran `down` from inside a node, say).
 */
async function findStrayPids(layout: LabLayout, netns: readonly string[]): Promise<number[]> {
  const inodes = await netnsInodes(netns);
  const roots = [layout.runDir, layout.stateDir];
  const spared = await ancestors();
  const strays: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (spared.has(pid)) continue;
    try {
      const inNetns = inodes.has(await readlink(`/proc/${pid}/ns/net`));
      const comm = (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      const isLabDaemon =
        LAB_DAEMON_COMMANDS.test(comm) &&
        argv.some((arg) => roots.some((root) => arg.includes(`${root}/`)));
      if (inNetns || isLabDaemon) strays.push(pid);
    } catch {
      // gone, or a kernel thread without a readable cmdline
    }
  }
  return strays;
}

async function killStrays(layout: LabLayout, netns: readonly string[]): Promise<number[]> {
  const killed = new Set<number>();
  for (let round = 0; round < 50; round += 1) {
    const strays = await findStrayPids(layout, netns);
    if (strays.length === 0) break;
    for (const pid of strays) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.add(pid);
      } catch {
        // already gone
      }
    }
    await sleep(50);
  }
  return [...killed];
}

async function removeShimSockets(layout: LabLayout): Promise<string[]> {
  const removed: string[] = [];
  const nodesDir = join(layout.stateDir, 'nodes');
  if (!existsSync(nodesDir) || !existsSync(SHIM_SOCKET_DIR)) return removed;
  for (const name of await readdir(nodesDir)) {
    if (!NODE_NAME_PATTERN.test(name)) continue;
    const paths = nodePaths(layout, name);
    const containersDir = join(paths.dockerDataRoot, 'containers');
    if (!existsSync(containersDir)) continue;
    for (const id of await readdir(containersDir)) {
      const key = join(paths.containerdSocket, DOCKER_CONTAINERD_NAMESPACE, id);
      const socket = join(SHIM_SOCKET_DIR, createHash('sha256').update(key).digest('hex'));
      if (existsSync(socket)) {
        await unlink(socket);
        removed.push(socket);
      }
    }
  }
  // Only containerd shims make these directories; left empty they are ours to remove.
  for (const dir of [SHIM_SOCKET_DIR, '/run/containerd']) {
    try {
      await rmdir(dir);
    } catch {
      break; // not empty (someone else's) or already gone
    }
  }
  return removed;
}

// The host end of a veth disappears shortly after its peer's namespace is deleted.
async function waitLinksGone(): Promise<void> {
  for (let attempt = 0; attempt < 40; attempt += 1) {
    if ((await listLabLinks()).length === 0) return;
    await sleep(50);
  }
}

async function unmountAll(roots: readonly string[]): Promise<string[]> {
  const unmounted: string[] = [];
  for (let round = 0; round < 5; round += 1) {
    const points = await listMountsUnder(roots);
    if (points.length === 0) break;
    for (const point of points) {
      const plain = await runCommand('umount', [point], { allowFailure: true });
      if (plain.exitCode !== 0) await runCommand('umount', ['-l', point], { allowFailure: true });
      unmounted.push(point);
    }
  }
  return unmounted;
}

/**
 * Removes every namespace, process, mount, cgroup, link, partition table, shim socket and
 * directory of a lab under `layout`, whether or not its state file exists. Idempotent; the image cache
 * is kept.
 *
 * @throws {LabError} `SHOAL_LAB_TEARDOWN_INCOMPLETE` naming what could not be removed.
 */
export async function tearDownLab(layout: LabLayout): Promise<TeardownReport> {
  // Every step runs even when an earlier one failed: a half-done teardown would make the
  // next `up` trip over what is left. The failures are reported together at the end.
  const failures: string[] = [];
  async function step<T>(what: string, action: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return await action();
    } catch (error) {
      failures.push(`${what}: ${(error as Error).message}`);
      return fallback;
    }
  }
  const netnsBefore = await step('list namespaces', listLabNetns, []);
  await step('kill the lab cgroup', () => killCgroup(LAB_CGROUP), undefined);
  const strayPids = await step('kill strays', () => killStrays(layout, netnsBefore), []);
  const shimSockets = await step('remove shim sockets', () => removeShimSockets(layout), []);
  const roots = [layout.stateDir, layout.runDir];
  const unmounted = await step('unmount', () => unmountAll(roots), []);

  const netns = await step('list namespaces', listLabNetns, []);
  for (const name of netns) await step(`delete netns ${name}`, () => deleteNetns(name), undefined);
  const links = await step('list links', listLabLinks, []);
  for (const name of links) await step(`delete link ${name}`, () => deleteLink(name), undefined);
  await waitLinksGone();
  await step('remove the partition table', clearPartition, undefined);
  const cgroupLeftovers = await step('remove cgroups', () => removeCgroupTrees(LAB_CGROUP), []);

  const mountLeftovers = await listMountsUnder(roots);
  const directories: string[] = [];
  // rm -r through a mount point would delete what is mounted there: only with none left.
  if (mountLeftovers.length === 0) {
    for (const dir of roots) {
      if (!existsSync(dir)) continue;
      await step(`remove ${dir}`, () => rm(dir, { recursive: true, force: true }), undefined);
      directories.push(dir);
    }
  }
  const leftovers = [
    ...mountLeftovers.map((point) => `mount ${point}`),
    ...cgroupLeftovers.map((dir) => `cgroup ${dir}`),
    ...(await listLabNetns()).map((name) => `netns ${name}`),
    ...(await listLabLinks()).map((name) => `link ${name}`),
    ...((await hasPartitionTable()) ? [`nft table bridge ${PARTITION_TABLE}`] : []),
    ...roots.filter((dir) => existsSync(dir)).map((dir) => `directory ${dir}`),
    ...(await findStrayPids(layout, [])).map((pid) => `process ${pid}`),
  ];
  // A failed step whose work got done anyway (a veth that vanished on its own) is no
  // failure of the teardown: only what is left counts.
  if (leftovers.length > 0) {
    throw new LabError(
      'SHOAL_LAB_TEARDOWN_INCOMPLETE',
      `Tear down lab: could not remove: ${leftovers.join(', ')}${failures.length > 0 ? `; failed steps: ${failures.join('; ')}` : ''}`,
    );
  }
  return {
    strayPids,
    unmounted,
    netns: [...new Set([...netnsBefore, ...netns])],
    links,
    directories,
    shimSockets,
  };
}
