// A node's own UTS namespace, so that everything on it (dockerd's `docker info` Name,
// shoald, `hostname` in `exec`) sees the node's name instead of the machine's, as on a
// real host. It is kept alive by a bind mount of the namespace file, like `ip netns`
// does for network namespaces, and goes with the other mounts under the run dir on `down`.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import type { NodePaths } from './lab-layout.js';
import { runCommand } from './run-command.js';

async function isMountPoint(path: string): Promise<boolean> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  return mountinfo.split('\n').some((line) => line.split(' ')[4] === path);
}

/**
 * Makes the node's UTS namespace with hostname `hostname`, unless it exists already
 * (`start` after `kill` keeps it). Needs the node's run dir.
 */
export async function ensureNodeUts(paths: NodePaths, hostname: string): Promise<void> {
  if (existsSync(paths.utsPath) && (await isMountPoint(paths.utsPath))) return;
  // unshare --uts=FILE bind-mounts the new namespace on FILE, which must exist.
  await writeFile(paths.utsPath, '');
  await runCommand('unshare', [`--uts=${paths.utsPath}`, 'hostname', hostname]);
}

/** nsenter's arguments that enter the node's network and UTS namespaces. */
export function nodeNamespaceArgs(paths: NodePaths): string[] {
  return [`--net=${paths.netnsPath}`, `--uts=${paths.utsPath}`];
}
