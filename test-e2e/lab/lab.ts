// The Lab: a Kind-like Shoal cluster on one machine. Each node is a network namespace on
// the lab bridge with its own containerd, dockerd and shoald, all in the node's cgroup.
// This class is the library the e2e suites drive; cli.ts maps one verb to each method.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { constants } from 'node:os';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { killCgroup } from './cgroup-tree.js';
import { LabError } from './errors.js';
import {
  compileLabLayout,
  LAB_NETNS_PREFIX,
  type LabLayout,
  type LabLayoutOptions,
  NODE_NAME_PATTERN,
  type NodePaths,
  nodePaths,
} from './lab-layout.js';
import {
  type LabDaemon,
  type LabNodeRecord,
  type LabStateRecord,
  type NodeCapacity,
  type NodeRole,
  readLabState,
  writeLabState,
} from './lab-state.js';
import { type TeardownReport, tearDownLab } from './lab-teardown.js';
import {
  daemonLogFile,
  isDaemonAlive,
  isProcessRunning,
  LAB_DAEMONS,
  labEnvironment,
  prepareNode,
  spawnDaemon,
  waitDaemonReady,
} from './node-daemons.js';
import { ensureNodeUts, nodeNamespaceArgs } from './node-hostname.js';
import { type CommandResult, runCommand } from './run-command.js';
import { ensureTaskImageTarball, loadTaskImage, TASK_IMAGE } from './task-image.js';
import { createNodeNetwork, ensureBridge, isNodeLinkUp, setNodeLink } from './underlay-network.js';
import { applyPartition, clearPartition } from './underlay-partition.js';
import {
  DEFAULT_UNDERLAY_CIDR,
  hostAddress,
  hostCapacity,
  parseUnderlaySubnet,
} from './underlay-subnet.js';

/** Options shared by every way of getting a {@link Lab}. */
export interface LabOpenOptions extends LabLayoutOptions {
  /** Called with one line per step (node made, daemon ready, …). @default ignore */
  onProgress?: (message: string) => void;
}

/** Nodes to add, by role, with their per-node settings. */
export interface LabNodesOptions {
  /** Manager nodes to make (`m1`, `m2`, … after the last one). @default 0 for add, 1 for up */
  managers?: number;
  /** Worker nodes to make (`w1`, `w2`, …). @default 0 for add, 2 for up */
  workers?: number;
  /** Engine labels per node name: `{ w1: { zone: 'a' } }`. @default none */
  labels?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** What each node's shoald announces, per node name. @default the machine's own */
  capacity?: Readonly<Record<string, NodeCapacity>>;
  /** Aborts waiting for the daemons (what was started keeps running: call `down`). */
  signal?: AbortSignal;
}

/** Options of {@link Lab.create} (`up`). */
export interface LabCreateOptions extends LabOpenOptions, LabNodesOptions {
  /** The underlay subnet; must not overlap 10.0.0.0/8 or 172.16.0.0/12. @default '198.18.0.0/24' */
  subnet?: string;
  /**
   * Run shoald on every node. Off only to exercise the runtime part of the lab without a
   * built `deploy/bin/shoald`. @default true
   */
  shoald?: boolean;
}

/** Options of {@link Lab.kill}. */
export interface LabKillOptions {
  /**
   * Kill only part of the node: `shoald`, or `dockerd` (dockerd and containerd, and with
   * them the shims and containers). @default everything of the node
   */
  only?: 'shoald' | 'dockerd';
}

/** Options of {@link Lab.stop}. */
export interface LabStopOptions {
  /** Stop only shoald and leave the runtime running. @default the whole node */
  only?: 'shoald';
  /** How long shoald may take to drain after SIGTERM before it is SIGKILLed. @default 15_000 */
  timeoutMs?: number;
}

/** Options of {@link Lab.exec}. */
export interface LabExecOptions {
  /** `pipe` collects stdout and stderr; `inherit` passes this process's stdio. @default 'pipe' */
  stdio?: 'pipe' | 'inherit';
  /** Text written to stdin (`pipe` only). @default nothing */
  input?: string;
  /** SIGKILL the command after this long (`pipe` only). @default 60_000 */
  timeoutMs?: number;
}

/** One node in {@link LabStatus}; a pid is null when that daemon is not running. */
export interface LabNodeStatus {
  readonly name: string;
  readonly role: NodeRole;
  readonly hostname: string;
  readonly ip: string;
  readonly netns: string;
  readonly dockerSocket: string;
  readonly shoaldSocket: string;
  /** Whether the node's underlay link is up (false after `cut`). */
  readonly linkUp: boolean;
  readonly pids: Readonly<Record<LabDaemon, number | null>>;
}

/** What `status --json` prints. */
export interface LabStatus {
  readonly image: string;
  readonly subnet: string;
  readonly nodes: readonly LabNodeStatus[];
}

interface CompiledNodesOptions {
  readonly managers: number;
  readonly workers: number;
  readonly labels: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly capacity: Readonly<Record<string, NodeCapacity>>;
  readonly signal: AbortSignal | undefined;
}

function compileNodesOptions(
  options: LabNodesOptions,
  defaults: { managers: number; workers: number },
): CompiledNodesOptions {
  const managers = options.managers ?? defaults.managers;
  const workers = options.workers ?? defaults.workers;
  for (const [flag, count] of [
    ['managers', managers],
    ['workers', workers],
  ] as const) {
    if (!Number.isInteger(count) || count < 0 || count > 99) {
      throw new LabError(
        'SHOAL_LAB_INVALID_ARGUMENT',
        `Make nodes: --${flag} must be a whole number from 0 to 99: "${count}"`,
      );
    }
  }
  return {
    managers,
    workers,
    labels: options.labels ?? {},
    capacity: options.capacity ?? {},
    signal: options.signal,
  };
}

const noProgress = (): void => {};

// Namespaces, cgroups, mounts and the daemons themselves all need root: say so up front
// rather than failing half-way with EPERM.
function assertRoot(action: string): void {
  if (process.getuid?.() !== 0) {
    throw new LabError('SHOAL_LAB_NOT_ROOT', `${action}: the lab needs root: run it with sudo`);
  }
}

/**
 * A running lab. Get one with {@link Lab.create} (`up`) or {@link Lab.open} (attach to the
 * lab the state file describes); remove everything with {@link Lab.down}.
 *
 * @example
 * const lab = await Lab.create({ managers: 1, workers: 2 });
 * const { stdout } = await lab.exec('w1', ['docker', 'ps']);
 * await lab.kill('w1');
 * await lab.start('w1');
 * await lab.down();
 */
export class Lab {
  readonly #layout: LabLayout;
  readonly #state: LabStateRecord;
  readonly #progress: (message: string) => void;
  #saving: Promise<void> = Promise.resolve();

  private constructor(layout: LabLayout, state: LabStateRecord, progress: (m: string) => void) {
    this.#layout = layout;
    this.#state = state;
    this.#progress = progress;
  }

  /**
   * `up`: tears down any leftover lab, then makes the bridge and the nodes and resolves
   * once every dockerd answers `/_ping`, holds the task image, and every shoald answers
   * `shoal info`.
   *
   * @throws {LabError} `SHOAL_LAB_INVALID_ARGUMENT` for a bad subnet or count;
   * `SHOAL_LAB_DAEMON_NOT_READY` when a daemon does not come up (the lab is left as it is
   * for inspection: run `down`).
   */
  static async create(options: LabCreateOptions = {}): Promise<Lab> {
    assertRoot('Start lab');
    const layout = compileLabLayout(options);
    const progress = options.onProgress ?? noProgress;
    const subnet = parseUnderlaySubnet(options.subnet ?? DEFAULT_UNDERLAY_CIDR);
    const nodes = compileNodesOptions(options, { managers: 1, workers: 2 });
    if (nodes.managers + nodes.workers > hostCapacity(subnet)) {
      throw new LabError(
        'SHOAL_LAB_INVALID_ARGUMENT',
        `Make nodes: subnet "${subnet.cidr}" holds ${hostCapacity(subnet)} nodes, not ${nodes.managers + nodes.workers}`,
      );
    }
    const shoald = options.shoald ?? true;
    if (shoald && !existsSync(layout.shoaldBin)) {
      throw new LabError(
        'SHOAL_LAB_MISSING_BINARY',
        `Start lab: no such file: "${layout.shoaldBin}": build the checkout or pass --no-shoald`,
      );
    }
    const report = await tearDownLab(layout);
    if (report.netns.length > 0 || report.directories.length > 0) {
      progress(`removed a leftover lab (${report.netns.length} namespaces)`);
    }
    await ensureBridge();
    const state: LabStateRecord = {
      version: 1,
      subnet: subnet.cidr,
      image: TASK_IMAGE,
      shoald,
      createdAt: new Date().toISOString(),
      nodes: [],
    };
    await writeLabState(layout, state);
    const lab = new Lab(layout, state, progress);
    await lab.#addNodes(nodes);
    return lab;
  }

  /**
   * Attaches to the lab described by the state file.
   *
   * @throws {LabError} `SHOAL_LAB_NOT_RUNNING` when there is no state file.
   */
  static async open(options: LabOpenOptions = {}): Promise<Lab> {
    assertRoot('Open lab');
    const layout = compileLabLayout(options);
    const state = await readLabState(layout);
    if (state === undefined) {
      throw new LabError(
        'SHOAL_LAB_NOT_RUNNING',
        `Open lab: no lab state at "${layout.stateFile}": run "lab up" first`,
      );
    }
    return new Lab(layout, state, options.onProgress ?? noProgress);
  }

  /**
   * `down` without a Lab object: removes whatever a lab left on the system (found by name,
   * not from the state file). The image cache is kept.
   */
  static async down(options: LabLayoutOptions = {}): Promise<TeardownReport> {
    assertRoot('Tear down lab');
    return tearDownLab(compileLabLayout(options));
  }

  /** The layout (paths) this lab uses. */
  get layout(): LabLayout {
    return this.#layout;
  }

  /** The underlay subnet, e.g. `198.18.0.0/24`. */
  get subnet(): string {
    return this.#state.subnet;
  }

  /** The task image every node's runtime holds. */
  get image(): string {
    return this.#state.image;
  }

  /** The nodes, in the order they were made. */
  get nodes(): readonly LabNodeRecord[] {
    return this.#state.nodes;
  }

  /**
   * The record of node `name` (`m1`, or its namespace name `lab-m1`).
   *
   * @throws {LabError} `SHOAL_LAB_UNKNOWN_NODE`.
   */
  node(name: string): LabNodeRecord {
    // The namespace name (`lab-m1`) is accepted too: it is what `ip netns` shows.
    const bare = name.startsWith(LAB_NETNS_PREFIX) ? name.slice(LAB_NETNS_PREFIX.length) : name;
    const node = this.#state.nodes.find((candidate) => candidate.name === bare);
    if (node === undefined) {
      const known = this.#state.nodes.map((candidate) => candidate.name).join(', ');
      throw new LabError(
        'SHOAL_LAB_UNKNOWN_NODE',
        `Find node: no such node: "${name}" (the lab has ${known || 'no nodes'})`,
        { node: name },
      );
    }
    return node;
  }

  /** The environment `exec` gives commands on node `name`. */
  env(name: string): Record<string, string> {
    const { paths } = this.node(name);
    const base = labEnvironment();
    return {
      SHOAL_HOST: `unix://${paths.shoaldSocket}`,
      DOCKER_HOST: `unix://${paths.dockerSocket}`,
      PATH: [
        dirname(this.#layout.shoalBin),
        dirname(this.#layout.dockerCli),
        ...(base.PATH ?? '').split(':'),
      ]
        .filter((dir, index, all) => dir !== '' && all.indexOf(dir) === index)
        .join(':'),
    };
  }

  /**
   * `add`: makes more nodes (names continue after the highest of each role) and resolves
   * when they are ready, as `up` does.
   *
   * @returns the new nodes.
   */
  async add(options: LabNodesOptions): Promise<LabNodeRecord[]> {
    return this.#addNodes(compileNodesOptions(options, { managers: 0, workers: 0 }));
  }

  async #addNodes(options: CompiledNodesOptions): Promise<LabNodeRecord[]> {
    const subnet = parseUnderlaySubnet(this.#state.subnet);
    const records = this.#planNodes(options, hostCapacity(subnet));
    for (const name of [...Object.keys(options.labels), ...Object.keys(options.capacity)]) {
      if (!records.some((record) => record.name === name)) {
        throw new LabError(
          'SHOAL_LAB_INVALID_ARGUMENT',
          `Make nodes: a --label or --capacity names "${name}", which is not a node being made (${records.map((r) => r.name).join(', ') || 'none'})`,
          { node: name },
        );
      }
    }
    for (const record of records) {
      await createNodeNetwork(record.paths, {
        address: record.ip,
        prefixLength: subnet.prefixLength,
      });
      await prepareNode(record.paths);
      await ensureNodeUts(record.paths, record.hostname);
      this.#state.nodes.push(record);
      await this.#save();
      this.#progress(`${record.name}: namespace ${record.paths.netns}, address ${record.ip}`);
    }
    const runtime: LabDaemon[] = ['containerd', 'dockerd'];
    await Promise.all(records.map((record) => this.#startDaemons(record, runtime, options.signal)));
    const [builder] = records;
    if (builder !== undefined) {
      const built = await ensureTaskImageTarball(this.#layout, builder.paths);
      this.#progress(built ? `built ${TASK_IMAGE} on ${builder.name}` : `${TASK_IMAGE} from cache`);
      await Promise.all(
        records
          .filter((record) => !(built && record === builder))
          .map((record) => loadTaskImage(this.#layout, record.paths)),
      );
      this.#progress(`${TASK_IMAGE} loaded on ${records.map((r) => r.name).join(', ')}`);
    }
    if (this.#state.shoald) {
      await Promise.all(
        records.map((record) => this.#startDaemons(record, ['shoald'], options.signal)),
      );
    }
    return records;
  }

  #planNodes(options: CompiledNodesOptions, capacity: number): LabNodeRecord[] {
    const used = new Set(this.#state.nodes.map((node) => node.ip));
    const nextNumber = (prefix: 'm' | 'w'): number => {
      let highest = 0;
      for (const node of this.#state.nodes) {
        const match = NODE_NAME_PATTERN.exec(node.name);
        if (match?.[1] === prefix) highest = Math.max(highest, Number(match[2]));
      }
      return highest + 1;
    };
    const subnet = parseUnderlaySubnet(this.#state.subnet);
    let hostNumber = 1;
    const records: LabNodeRecord[] = [];
    const plan: [NodeRole, 'm' | 'w', number][] = [
      ['manager', 'm', options.managers],
      ['worker', 'w', options.workers],
    ];
    for (const [role, prefix, count] of plan) {
      const first = nextNumber(prefix);
      for (let i = 0; i < count; i += 1) {
        const name = `${prefix}${first + i}`;
        while (hostNumber <= capacity && used.has(hostAddress(subnet, hostNumber))) {
          hostNumber += 1;
        }
        if (hostNumber > capacity) {
          throw new LabError(
            'SHOAL_LAB_INVALID_ARGUMENT',
            `Make nodes: subnet "${subnet.cidr}" has no free address for "${name}"`,
          );
        }
        const ip = hostAddress(subnet, hostNumber);
        used.add(ip);
        records.push({
          name,
          role,
          hostname: `lab-${name}`,
          ip,
          labels: { 'org.shoal.lab.node': name, ...options.labels[name] },
          capacity: options.capacity[name] ?? null,
          pids: { containerd: null, dockerd: null, shoald: null },
          paths: nodePaths(this.#layout, name),
        });
      }
    }
    return records;
  }

  // Starts `daemons` of the node in order, each once the previous answers, skipping those
  // already running. Sockets of dead daemons are removed first so none of them can trip
  // over a stale file (or the probe over a stale dockerd pid file).
  async #startDaemons(
    record: LabNodeRecord,
    daemons: readonly LabDaemon[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const { paths } = record;
    for (const daemon of daemons) {
      if (await isDaemonAlive(paths, { daemon, pid: record.pids[daemon] })) continue;
      for (const stale of staleFiles(paths, daemon)) {
        await unlink(stale).catch(() => {});
      }
      const context = { layout: this.#layout, paths, spec: record };
      const pid = await spawnDaemon(context, daemon);
      record.pids[daemon] = pid;
      await this.#save();
      await waitDaemonReady(context, daemon, { pid, ...(signal ? { signal } : {}) });
      this.#progress(`${record.name}: ${daemon} ready (pid ${pid})`);
    }
  }

  // Saves run one after another: parallel node start-ups save concurrently, and an older
  // snapshot renamed last would undo a newer one.
  #save(): Promise<void> {
    const write = this.#saving.then(() => writeLabState(this.#layout, this.#state));
    this.#saving = write.catch(() => {});
    return write;
  }

  /** `status`: every node with the pids of its running daemons. */
  async status(): Promise<LabStatus> {
    const nodes: LabNodeStatus[] = [];
    for (const node of this.#state.nodes) {
      const pids = { containerd: null, dockerd: null, shoald: null } as Record<
        LabDaemon,
        number | null
      >;
      for (const daemon of LAB_DAEMONS) {
        const pid = node.pids[daemon];
        pids[daemon] = (await isDaemonAlive(node.paths, { daemon, pid })) ? pid : null;
      }
      nodes.push({
        name: node.name,
        role: node.role,
        hostname: node.hostname,
        ip: node.ip,
        netns: node.paths.netns,
        dockerSocket: node.paths.dockerSocket,
        shoaldSocket: node.paths.shoaldSocket,
        linkUp: await isNodeLinkUp(node.paths).catch(() => false),
        pids,
      });
    }
    return { image: this.#state.image, subnet: this.#state.subnet, nodes };
  }

  /**
   * `exec`: runs `argv` in node `name`'s network and UTS namespaces, with `SHOAL_HOST` and
   * `DOCKER_HOST` pointing at its daemons and `shoal` and `docker` on PATH.
   *
   * @returns the exit code (128 + signal number when killed by a signal) and, with
   * `stdio: 'pipe'`, the output.
   */
  async exec(
    name: string,
    argv: readonly string[],
    options: LabExecOptions = {},
  ): Promise<CommandResult> {
    const { paths } = this.node(name);
    if (argv.length === 0) {
      throw new LabError('SHOAL_LAB_INVALID_ARGUMENT', `Exec on "${name}": no command given`, {
        node: name,
      });
    }
    const env = { ...labEnvironment(), ...this.env(name) };
    const args = [...nodeNamespaceArgs(paths), '--', ...argv];
    if ((options.stdio ?? 'pipe') === 'pipe') {
      return runCommand('nsenter', args, {
        env,
        allowFailure: true,
        ...(options.input === undefined ? {} : { input: options.input }),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      });
    }
    return new Promise((resolve, reject) => {
      const child = spawn('nsenter', args, { env, stdio: 'inherit' });
      child.on('error', (error) =>
        reject(
          new LabError('SHOAL_LAB_COMMAND_FAILED', `Exec on "${name}": ${error.message}`, {
            cause: error,
            node: name,
          }),
        ),
      );
      child.on('close', (code, signal) => {
        const signalNumber = signal ? constants.signals[signal] : 0;
        resolve({ exitCode: code ?? 128 + signalNumber, stdout: '', stderr: '' });
      });
    });
  }

  /**
   * `kill`: SIGKILLs node `name`'s processes and waits until none is left (by its cgroups,
   * so shims and containers go too).
   */
  async kill(name: string, options: LabKillOptions = {}): Promise<void> {
    const { paths } = this.node(name);
    switch (options.only) {
      case undefined:
        await killCgroup(paths.cgroups.node);
        break;
      case 'shoald':
        await killCgroup(paths.cgroups.shoald);
        break;
      case 'dockerd':
        await killCgroup(paths.cgroups.runtime);
        await killCgroup(paths.cgroups.containers);
        break;
      default:
        throw new LabError(
          'SHOAL_LAB_INVALID_ARGUMENT',
          `Kill node "${name}": --only must be "shoald" or "dockerd": "${String(options.only)}"`,
          { node: name },
        );
    }
    this.#progress(`${name}: killed ${options.only ?? 'everything'}`);
  }

  /**
   * `stop`: stops node `name` gracefully: SIGTERM to shoald (which drains and, on a
   * leader, hands leadership over), SIGKILL only if it is still there after `timeoutMs`;
   * then, unless `only: 'shoald'`, kills the rest of the node as {@link Lab.kill} does.
   *
   * @returns whether shoald exited on its own (false: it had to be killed, or was not running).
   */
  async stop(name: string, options: LabStopOptions = {}): Promise<boolean> {
    const record = this.node(name);
    const timeoutMs = options.timeoutMs ?? 15_000;
    if (!(Number.isFinite(timeoutMs) && timeoutMs >= 0)) {
      throw new LabError(
        'SHOAL_LAB_INVALID_ARGUMENT',
        `Stop node "${record.name}": timeout must be a number of milliseconds >= 0: "${timeoutMs}"`,
        { node: record.name },
      );
    }
    const { paths } = record;
    const pid = record.pids.shoald;
    let graceful = false;
    if (pid !== null && (await isDaemonAlive(paths, { daemon: 'shoald', pid }))) {
      process.kill(pid, 'SIGTERM');
      graceful = await waitProcessGone(pid, timeoutMs);
    }
    await killCgroup(paths.cgroups.shoald);
    if (options.only === undefined) await killCgroup(paths.cgroups.node);
    this.#progress(
      `${record.name}: stopped ${options.only ?? 'everything'} (shoald ${graceful ? 'drained' : 'killed or not running'})`,
    );
    return graceful;
  }

  /** `start`: starts whichever of node `name`'s daemons is not running, on the same state. */
  async start(name: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const record = this.node(name);
    await prepareNode(record.paths);
    await ensureNodeUts(record.paths, record.hostname);
    const daemons = LAB_DAEMONS.filter((daemon) => daemon !== 'shoald' || this.#state.shoald);
    await this.#startDaemons(record, daemons, options.signal);
  }

  /** The log file (stdout and stderr) of `daemon` on node `name`. */
  logFile(name: string, daemon: LabDaemon): string {
    return daemonLogFile(this.node(name).paths, daemon);
  }

  /** `cut`: takes node `name`'s underlay link down (the host side of its veth). */
  async cut(name: string): Promise<void> {
    await setNodeLink(this.node(name).paths, false);
    this.#progress(`${name}: underlay link down`);
  }

  /** `heal`: brings node `name`'s underlay link back up. */
  async heal(name: string): Promise<void> {
    await setNodeLink(this.node(name).paths, true);
    this.#progress(`${name}: underlay link up`);
  }

  /** The partition in force (groups of node names), or null when the underlay is whole. */
  get currentPartition(): readonly (readonly string[])[] | null {
    return this.#state.partition ?? null;
  }

  /**
   * `partition`: splits the underlay into `groups` of nodes; frames between nodes of
   * different groups are dropped (ARP included), nodes in no group keep talking to all.
   * Replaces any earlier partition.
   *
   * @throws {LabError} `SHOAL_LAB_INVALID_ARGUMENT` for fewer than two non-empty groups or
   * a node named twice; `SHOAL_LAB_UNKNOWN_NODE` for a node the lab does not have.
   * @example
   * await lab.partition([['m1'], ['m2', 'm3']]); // m1 alone, away from the other managers
   */
  async partition(groups: readonly (readonly string[])[]): Promise<void> {
    const named = groups.map((group) => group.map((name) => this.node(name).name));
    const all = named.flat();
    const twice = all.find((name, index) => all.indexOf(name) !== index);
    if (named.filter((group) => group.length > 0).length < 2 || twice !== undefined) {
      throw new LabError(
        'SHOAL_LAB_INVALID_ARGUMENT',
        twice === undefined
          ? `Partition lab: want at least two non-empty groups: ${JSON.stringify(named)}`
          : `Partition lab: node "${twice}" is in more than one group: ${JSON.stringify(named)}`,
      );
    }
    await applyPartition(named.map((group) => group.map((name) => this.node(name).paths.hostVeth)));
    this.#state.partition = named;
    await this.#save();
    this.#progress(`partition: ${named.map((group) => group.join(',')).join(' | ')}`);
  }

  /** `unpartition`: makes the underlay whole again (a no-op when it is). */
  async unpartition(): Promise<void> {
    await clearPartition();
    this.#state.partition = null;
    await this.#save();
    this.#progress('partition removed');
  }

  /** `down`: removes the whole lab; see {@link Lab.down}. */
  async down(): Promise<TeardownReport> {
    return tearDownLab(this.#layout);
  }
}

// Waits until `pid` has exited and been reaped (a zombie still holds its pid, which a
// restarted daemon's lock check would take for a live predecessor).
async function waitProcessGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (existsSync(`/proc/${pid}`)) {
    if (Date.now() > deadline) return !(await isProcessRunning(pid));
    await sleep(50);
  }
  return true;
}

function staleFiles(paths: NodePaths, daemon: LabDaemon): string[] {
  switch (daemon) {
    case 'containerd':
      return [paths.containerdSocket, `${paths.containerdSocket}.ttrpc`];
    case 'dockerd':
      return [paths.dockerSocket, paths.dockerPidfile];
    case 'shoald':
      return [paths.shoaldSocket];
  }
}

/** Whether the checkout has `deploy/bin/shoald`, which a lab with shoald needs. */
export function hasShoald(options: LabLayoutOptions = {}): boolean {
  return existsSync(compileLabLayout(options).shoaldBin);
}
