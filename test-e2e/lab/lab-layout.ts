// Where the lab puts things: directories, sockets, namespace, link and cgroup names. Every
// name carries a lab prefix so `down` can find leftovers on the system by name alone, even
// when the state file is gone.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabError } from './errors.js';

/** Options that move the lab's files; the defaults suit a dedicated test machine. */
export interface LabLayoutOptions {
  /** Lab state: the state file and each node's data roots and logs. @default '/var/lib/shoal-lab' */
  stateDir?: string;
  /**
   * Sockets, pid files and Docker exec roots. Kept short because a unix socket path holds
   * at most 108 bytes and Docker puts sockets under its exec root. @default '/run/shl'
   */
  runDir?: string;
  /** The task image tarball; survives `down` so the next `up` need not rebuild. @default '/var/cache/shoal-lab' */
  cacheDir?: string;
  /** The Shoal checkout holding `deploy/bin/shoald` and `deploy/bin/shoal`. @default this checkout */
  repoRoot?: string;
  /** The Docker CLI used by the lab and put on PATH by `exec`. @default '/usr/bin/docker', else '/usr/local/bin/docker' */
  dockerCli?: string;
}

/** {@link LabLayoutOptions} with every default filled in. */
export interface LabLayout {
  readonly stateDir: string;
  readonly runDir: string;
  readonly cacheDir: string;
  readonly repoRoot: string;
  readonly dockerCli: string;
  /** The state file, `<stateDir>/lab.json`. */
  readonly stateFile: string;
  /** `deploy/bin/shoald` of the checkout. */
  readonly shoaldBin: string;
  /** `deploy/bin/shoal` of the checkout. */
  readonly shoalBin: string;
}

/** The lab bridge in the host namespace. */
export const LAB_BRIDGE = 'shl-br0';
/** Prefix of every link the lab makes in the host namespace (bridge and host-side veths). */
export const LAB_LINK_PREFIX = 'shl-';
/** Prefix of every network namespace the lab makes (`lab-m1`, `lab-w2`, …). */
export const LAB_NETNS_PREFIX = 'lab-';
/** The lab's cgroup, relative to the root of every cgroup hierarchy. */
export const LAB_CGROUP = 'shoal-lab';
/** Node names: `m<N>` for managers, `w<N>` for workers. */
export const NODE_NAME_PATTERN = /^([mw])([1-9]\d{0,2})$/;

// The checkout is the nearest directory above this module holding deploy/bin: this file
// runs from test-e2e/dist/lab (built) and from test-e2e/lab (vitest), at different depths.
function defaultRepoRoot(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (let dir = here; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'deploy/bin')) && existsSync(join(dir, 'test-e2e'))) return dir;
  }
  return resolve(here, '../../..');
}

/**
 * Fills in the defaults of {@link LabLayoutOptions} once.
 *
 * @example
 * const layout = compileLabLayout({ stateDir: '/tmp/lab-state' });
 */
export function compileLabLayout(options: LabLayoutOptions = {}): LabLayout {
  const stateDir = resolve(options.stateDir ?? '/var/lib/shoal-lab');
  const runDir = resolve(options.runDir ?? '/run/shl');
  const repoRoot = resolve(options.repoRoot ?? defaultRepoRoot());
  if (runDir.length > 24) {
    throw new LabError(
      'SHOAL_LAB_INVALID_ARGUMENT',
      `Compile lab layout: run dir is too long for unix socket paths: "${runDir}" (${runDir.length} bytes, at most 24)`,
    );
  }
  const dockerCli =
    options.dockerCli ??
    ['/usr/bin/docker', '/usr/local/bin/docker'].find((path) => existsSync(path)) ??
    'docker';
  return {
    stateDir,
    runDir,
    cacheDir: resolve(options.cacheDir ?? '/var/cache/shoal-lab'),
    repoRoot,
    dockerCli,
    stateFile: join(stateDir, 'lab.json'),
    shoaldBin: join(repoRoot, 'deploy/bin/shoald'),
    shoalBin: join(repoRoot, 'deploy/bin/shoal'),
  };
}

/** Every path and name of one lab node. */
export interface NodePaths {
  /** Network namespace name, e.g. `lab-m1`; its handle is `netnsPath`. */
  readonly netns: string;
  readonly netnsPath: string;
  /** Host-side end of the node's veth (the node side is `eth0` in its namespace). */
  readonly hostVeth: string;
  /** The node's UTS namespace (its own hostname), bind-mounted at `<runDir>/<name>/uts`. */
  readonly utsPath: string;
  /** `<stateDir>/nodes/<name>`: data roots, configs and logs. */
  readonly dir: string;
  /** `<runDir>/<name>`: sockets, pid files, exec roots. */
  readonly runDir: string;
  readonly containerdConfig: string;
  readonly containerdRoot: string;
  readonly containerdState: string;
  readonly containerdOptDir: string;
  readonly containerdSocket: string;
  readonly dockerConfig: string;
  readonly dockerDataRoot: string;
  readonly dockerExecRoot: string;
  readonly dockerPidfile: string;
  readonly dockerSocket: string;
  readonly shoaldDataDir: string;
  readonly shoaldSocket: string;
  readonly logDir: string;
  /** Cgroups relative to each hierarchy's root: the node's whole subtree and its parts. */
  readonly cgroups: {
    readonly node: string;
    /** containerd, dockerd and the containerd shims (shims stay in containerd's cgroup). */
    readonly runtime: string;
    readonly shoald: string;
    /** Docker's `--cgroup-parent`: runc makes one child per container here. */
    readonly containers: string;
  };
}

/**
 * The paths and names of node `name` under `layout`.
 *
 * @throws {LabError} `SHOAL_LAB_INVALID_ARGUMENT` for a name that is not `m<N>` or `w<N>`.
 */
export function nodePaths(layout: LabLayout, name: string): NodePaths {
  if (!NODE_NAME_PATTERN.test(name)) {
    throw new LabError(
      'SHOAL_LAB_INVALID_ARGUMENT',
      `Resolve node: bad node name: "${name}" (want m<N> or w<N>, e.g. "m1", "w2")`,
      { node: name },
    );
  }
  const dir = join(layout.stateDir, 'nodes', name);
  const run = join(layout.runDir, name);
  const cgroup = `${LAB_CGROUP}/${name}`;
  return {
    netns: `${LAB_NETNS_PREFIX}${name}`,
    netnsPath: `/run/netns/${LAB_NETNS_PREFIX}${name}`,
    hostVeth: `${LAB_LINK_PREFIX}${name}`,
    utsPath: join(run, 'uts'),
    dir,
    runDir: run,
    containerdConfig: join(dir, 'containerd.toml'),
    containerdRoot: join(dir, 'containerd'),
    containerdState: join(run, 'c'),
    containerdOptDir: join(dir, 'containerd-opt'),
    containerdSocket: join(run, 'containerd.sock'),
    dockerConfig: join(dir, 'daemon.json'),
    dockerDataRoot: join(dir, 'docker'),
    dockerExecRoot: join(run, 'd'),
    dockerPidfile: join(run, 'dockerd.pid'),
    dockerSocket: join(run, 'docker.sock'),
    shoaldDataDir: join(dir, 'shoald'),
    shoaldSocket: join(run, 'shoald.sock'),
    logDir: join(dir, 'logs'),
    cgroups: {
      node: cgroup,
      runtime: `${cgroup}/runtime`,
      shoald: `${cgroup}/shoald`,
      containers: `${cgroup}/containers`,
    },
  };
}
