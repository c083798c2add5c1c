// The lab's per-node cgroups on a cgroup v1 (hybrid) host. Daemons join a cgroup in the
// freezer and pids hierarchies before they exec, Docker puts containers under the node's
// cgroup with --cgroup-parent, and so one subtree holds everything a node runs, shims
// included. v1 has no cgroup.kill: a subtree is killed by freezing it (nothing can fork
// any more), SIGKILLing every member, and thawing it so the signals are delivered.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LabError } from './errors.js';

/** Where the cgroup hierarchies are mounted. */
export const CGROUP_FS = '/sys/fs/cgroup';
/** The hierarchies lab daemons join: freezer to stop forks while killing, pids to count. */
export const DAEMON_HIERARCHIES = ['freezer', 'pids'] as const;

const KILL_TIMEOUT_MS = 10_000;
const POLL_MS = 50;
const REAP_GRACE_MS = 5_000;

/** Options of {@link killCgroup}. */
export interface KillCgroupOptions {
  /** Give up (and throw) when members remain this long. @default 10_000 */
  timeoutMs?: number;
}

/**
 * Makes cgroup `relative` (e.g. `shoal-lab/m1/runtime`) in every hierarchy daemons join.
 * Idempotent.
 */
export async function createCgroup(relative: string): Promise<void> {
  for (const hierarchy of DAEMON_HIERARCHIES) {
    await mkdir(join(CGROUP_FS, hierarchy, relative), { recursive: true });
  }
}

/**
 * A shell fragment that moves the shell itself into cgroup `relative`, for a wrapper that
 * then `exec`s the daemon: the daemon is in its cgroup before it can fork anything.
 */
export function cgroupJoinScript(relative: string): string {
  return DAEMON_HIERARCHIES.map(
    (hierarchy) => `echo $$ > '${join(CGROUP_FS, hierarchy, relative, 'cgroup.procs')}'`,
  ).join(' && ');
}

async function subtreeDirs(root: string): Promise<string[]> {
  if (!existsSync(root)) return [];
  const dirs = [root];
  for (let i = 0; i < dirs.length; i += 1) {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dirs[i]!, { withFileTypes: true });
    } catch {
      continue; // removed while we walked: nothing in it to list
    }
    for (const entry of entries) {
      if (entry.isDirectory()) dirs.push(join(dirs[i]!, entry.name));
    }
  }
  return dirs;
}

async function readPids(dir: string): Promise<number[]> {
  try {
    const text = await readFile(join(dir, 'cgroup.procs'), 'utf8');
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * The processes in cgroup `relative` and all its descendants, in the freezer and pids
 * hierarchies (zombies leave their cgroup, so every pid listed is alive).
 */
export async function listCgroupPids(relative: string): Promise<number[]> {
  const pids = new Set<number>();
  for (const hierarchy of DAEMON_HIERARCHIES) {
    for (const dir of await subtreeDirs(join(CGROUP_FS, hierarchy, relative))) {
      for (const pid of await readPids(dir)) pids.add(pid);
    }
  }
  return [...pids].sort((a, b) => a - b);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // ESRCH: it died between the listing and the signal, which is what we want
  }
}

async function setFreezerState(dirs: readonly string[], state: 'FROZEN' | 'THAWED'): Promise<void> {
  for (const dir of dirs) {
    try {
      await writeFile(join(dir, 'freezer.state'), state);
    } catch {
      // the root of a hierarchy has no freezer.state; a removed cgroup needs no thaw
    }
  }
}

/**
 * SIGKILLs every process in cgroup `relative` and its descendants and waits until none is
 * left. Safe on a cgroup that does not exist.
 *
 * @throws {LabError} `SHOAL_LAB_KILL_FAILED` when processes remain after `timeoutMs`.
 */
export async function killCgroup(relative: string, options: KillCgroupOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? KILL_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const freezerRoot = join(CGROUP_FS, 'freezer', relative);
  const killed = new Set<number>();
  for (;;) {
    const pids = await listCgroupPids(relative);
    if (pids.length === 0) {
      await waitReaped(killed, deadline);
      return;
    }
    if (Date.now() > deadline) {
      throw new LabError(
        'SHOAL_LAB_KILL_FAILED',
        `Kill cgroup "${relative}": processes still running after ${timeoutMs} ms: ${pids.join(', ')}`,
      );
    }
    const freezerDirs = await subtreeDirs(freezerRoot);
    await setFreezerState(freezerDirs.slice(0, 1), 'FROZEN');
    await waitFrozen(freezerRoot);
    for (const pid of await listCgroupPids(relative)) {
      killQuietly(pid);
      killed.add(pid);
    }
    // Thaw every level: a child frozen on its own (docker pause) would keep its killed
    // tasks alive while frozen.
    await setFreezerState(freezerDirs, 'THAWED');
    await sleep(POLL_MS);
  }
}

// A killed process leaves its cgroup at once but stays a zombie until its parent reaps it,
// and the parent of a daemon whose starter exited is PID 1, which here reaps only every
// second or so. Meanwhile its pid still answers kill(pid, 0), so a restarted daemon that
// checks a pid-file lock would think its predecessor alive: wait for the reaping.
async function waitReaped(pids: ReadonlySet<number>, deadline: number): Promise<void> {
  const remaining = new Set(pids);
  while (remaining.size > 0 && Date.now() < deadline + REAP_GRACE_MS) {
    for (const pid of remaining) {
      if (!existsSync(`/proc/${pid}`)) remaining.delete(pid);
    }
    if (remaining.size > 0) await sleep(POLL_MS);
  }
}

async function waitFrozen(freezerDir: string): Promise<void> {
  // FREEZING can stick on a task in uninterruptible sleep; after a short wait we kill
  // anyway and let the outer loop catch anything that forked in between.
  for (let i = 0; i < 20; i += 1) {
    try {
      const state = (await readFile(join(freezerDir, 'freezer.state'), 'utf8')).trim();
      if (state !== 'FREEZING') return;
    } catch {
      return;
    }
    await sleep(10);
  }
}

/** The mounted hierarchies under {@link CGROUP_FS} (`cpu`, `freezer`, …, `unified`). */
export async function listHierarchies(): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(CGROUP_FS, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter(
      (entry) => entry.isDirectory() && existsSync(join(CGROUP_FS, entry.name, 'cgroup.procs')),
    )
    .map((entry) => join(CGROUP_FS, entry.name));
}

/**
 * Removes cgroup `relative` and its descendants from every hierarchy (runc creates container
 * cgroups in all of them, `unified` and `name=systemd` included). Kill the members first.
 *
 * @returns the directories that could not be removed (still busy), empty on success.
 */
export async function removeCgroupTrees(relative: string): Promise<string[]> {
  const leftovers: string[] = [];
  for (const hierarchy of await listHierarchies()) {
    const dirs = await subtreeDirs(join(hierarchy, relative));
    // Deepest first: a cgroup with children cannot be removed.
    for (const dir of dirs.reverse()) {
      let removed = false;
      for (let attempt = 0; attempt < 20 && !removed; attempt += 1) {
        try {
          await rmdir(dir);
          removed = true;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') removed = true;
          else await sleep(POLL_MS); // EBUSY: a killed task has not left yet
        }
      }
      if (!removed) leftovers.push(dir);
    }
  }
  return leftovers;
}
