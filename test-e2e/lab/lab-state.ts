// The lab's state file (`<stateDir>/lab.json`): what `up` and `add` made, so later verbs
// (and other processes: the CLI, the test runner) can find the nodes. It records intent
// and the pids last started; liveness is always checked against the cgroups.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LabError } from './errors.js';
import type { LabLayout, NodePaths } from './lab-layout.js';

/** A node's role in the lab: which kind of join it is meant for. */
export type NodeRole = 'manager' | 'worker';

/** The lab's daemons on each node. */
export type LabDaemon = 'containerd' | 'dockerd' | 'shoald';

/** Resources a node's shoald announces instead of the machine's. */
export interface NodeCapacity {
  readonly cpus: number;
  readonly memoryBytes: number;
}

/** One node as recorded in the state file. */
export interface LabNodeRecord {
  readonly name: string;
  readonly role: NodeRole;
  readonly hostname: string;
  /** Underlay address of the node's `eth0`. */
  readonly ip: string;
  /** Engine labels (`dockerd --label k=v`). */
  readonly labels: Readonly<Record<string, string>>;
  readonly capacity: NodeCapacity | null;
  /** Pid each daemon was last started with; null if it never was. */
  pids: Record<LabDaemon, number | null>;
  /** Where the node's files live (derived from the layout; recorded for other tools). */
  readonly paths: NodePaths;
}

/** The whole state file. */
export interface LabStateRecord {
  readonly version: 1;
  readonly subnet: string;
  /** The task image loaded into every node's runtime. */
  readonly image: string;
  /** Whether the lab runs shoald on its nodes. */
  readonly shoald: boolean;
  readonly createdAt: string;
  nodes: LabNodeRecord[];
  /** The partition in force (groups of node names), or null when the underlay is whole. */
  partition?: string[][] | null;
}

/** Reads the state file, or returns undefined when there is none. */
export async function readLabState(layout: LabLayout): Promise<LabStateRecord | undefined> {
  if (!existsSync(layout.stateFile)) return undefined;
  const text = await readFile(layout.stateFile, 'utf8');
  try {
    const state = JSON.parse(text) as LabStateRecord;
    if (state.version !== 1) throw new Error(`unknown version ${String(state.version)}`);
    return state;
  } catch (error) {
    throw new LabError(
      'SHOAL_LAB_NOT_RUNNING',
      `Read lab state: "${layout.stateFile}" is unreadable: ${(error as Error).message}: run "lab down"`,
      { cause: error },
    );
  }
}

/** Writes the state file atomically (write a temporary file, then rename). */
export async function writeLabState(layout: LabLayout, state: LabStateRecord): Promise<void> {
  await mkdir(dirname(layout.stateFile), { recursive: true });
  const temporary = `${layout.stateFile}.${randomUUID()}.tmp`;
  await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`);
  await rename(temporary, layout.stateFile);
}
