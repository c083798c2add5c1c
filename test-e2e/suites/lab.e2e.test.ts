// The lab itself, end to end: real namespaces, containerd, dockerd and shoald on this
// machine. Other suites trust what this one checks: that a node is isolated in its own
// namespace but reachable over the underlay, that `kill` leaves nothing of a node running,
// that `start` resumes it on the same state, and that `down` leaves nothing behind.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compileLabLayout,
  LAB_BRIDGE,
  LAB_CGROUP,
  LAB_LINK_PREFIX,
  LAB_NETNS_PREFIX,
  Lab,
  LabError,
  listMountsUnder,
  parseCapacityFlag,
  parseLabelFlag,
  parseMemorySize,
  parseUnderlaySubnet,
} from '../lab/index.js';

const suiteStarted = Date.now();
const layout = compileLabLayout();
const HTTP_PORT = 8080;
const NODES = ['m1', 'w1', 'w2'] as const;

let lab: Lab;

function ipOf(name: string): string {
  return lab.node(name).ip;
}

async function run(node: string, argv: string[]): Promise<string> {
  const result = await lab.exec(node, argv, { timeoutMs: 30_000 });
  if (result.exitCode !== 0) {
    throw new Error(`${node}: ${argv.join(' ')}: exit ${result.exitCode}: ${result.stderr.trim()}`);
  }
  return result.stdout.trim();
}

// Every cgroup directory under the lab's cgroup in every mounted hierarchy.
async function labCgroupDirs(relative: string): Promise<string[]> {
  const dirs: string[] = [];
  for (const hierarchy of await readdir('/sys/fs/cgroup')) {
    const root = join('/sys/fs/cgroup', hierarchy, relative);
    if (!existsSync(root)) continue;
    const queue = [root];
    for (let dir = queue.shift(); dir !== undefined; dir = queue.shift()) {
      dirs.push(dir);
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) queue.push(join(dir, entry.name));
      }
    }
  }
  return dirs;
}

async function pidsInCgroups(relative: string): Promise<number[]> {
  const pids = new Set<number>();
  for (const dir of await labCgroupDirs(relative)) {
    const text = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
    for (const line of text.split('\n')) if (line !== '') pids.add(Number(line));
  }
  return [...pids];
}

interface ProcessInfo {
  readonly pid: number;
  readonly state: string;
  readonly netns: string;
  readonly cmdline: string;
}

async function processes(): Promise<ProcessInfo[]> {
  const found: ProcessInfo[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const statText = await readFile(`/proc/${entry}/stat`, 'utf8');
      const state = statText.slice(statText.lastIndexOf(')') + 2).split(' ')[0] ?? '?';
      const netns = await readlink(`/proc/${entry}/ns/net`).catch(() => '');
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      found.push({ pid: Number(entry), state, netns, cmdline });
    } catch {
      // exited while we looked
    }
  }
  return found;
}

// Live (non-zombie) processes that belong to node `name`: in its namespace, or naming its
// directories on their command line.
async function liveProcessesOfNode(name: string): Promise<ProcessInfo[]> {
  const { paths } = lab.node(name);
  const netnsInode = `net:[${(await stat(paths.netnsPath)).ino}]`;
  return (await processes()).filter(
    (info) =>
      info.state !== 'Z' &&
      info.pid !== process.pid &&
      (info.netns === netnsInode ||
        info.cmdline.includes(`${paths.runDir}/`) ||
        info.cmdline.includes(`${paths.dir}/`)),
  );
}

beforeAll(async () => {
  // Leftovers of a crashed run: up must remove them before it starts.
  execFileSync('ip', ['netns', 'add', `${LAB_NETNS_PREFIX}w9`]);
  await mkdir(join('/sys/fs/cgroup/freezer', LAB_CGROUP, 'w9'), { recursive: true });
  await mkdir(join(layout.runDir, 'w9'), { recursive: true });
  lab = await Lab.create({
    managers: 1,
    workers: 2,
    labels: { w1: { zone: 'a' } },
  });
}, 180_000);

afterAll(async () => {
  // Runs even when a test failed, so a broken run never leaves a lab behind.
  await Lab.down();
  console.log(`lab.e2e: ${((Date.now() - suiteStarted) / 1000).toFixed(1)} s`);
});

describe('lab', () => {
  it('lab: up removes the leftovers of an earlier run when they are found', () => {
    expect(existsSync(`/run/netns/${LAB_NETNS_PREFIX}w9`)).toBe(false);
    expect(existsSync(join('/sys/fs/cgroup/freezer', LAB_CGROUP, 'w9'))).toBe(false);
    expect(existsSync(join(layout.runDir, 'w9'))).toBe(false);
  });

  it('lab: status lists every node with running daemons when the lab is up', async () => {
    const status = await lab.status();
    expect(status.subnet).toBe('198.18.0.0/24');
    expect(status.image).toBe('shoal-lab/busybox:latest');
    expect(status.nodes.map((node) => [node.name, node.role, node.ip, node.netns])).toEqual([
      ['m1', 'manager', '198.18.0.1', 'lab-m1'],
      ['w1', 'worker', '198.18.0.2', 'lab-w1'],
      ['w2', 'worker', '198.18.0.3', 'lab-w2'],
    ]);
    for (const node of status.nodes) {
      expect(node.pids.containerd).toBeGreaterThan(0);
      expect(node.pids.dockerd).toBeGreaterThan(0);
      expect(node.pids.shoald).toBeGreaterThan(0);
      expect(node.linkUp).toBe(true);
    }
  });

  it("lab: every node's dockerd answers and holds the task image when the lab is up", async () => {
    for (const name of NODES) {
      expect(await run(name, ['docker', 'version', '--format', '{{.Server.Version}}'])).toMatch(
        /^\d+\./,
      );
      const id = await run(name, ['docker', 'image', 'inspect', '--format', '{{.Id}}', lab.image]);
      expect(id).toMatch(/^sha256:/);
      // Each node has its own UTS namespace: the engine and a shell see the node's name.
      expect(await run(name, ['docker', 'info', '--format', '{{.Name}}'])).toBe(`lab-${name}`);
      expect(await run(name, ['hostname'])).toBe(`lab-${name}`);
    }
    const labels = await run('w1', ['docker', 'info', '--format', '{{json .Labels}}']);
    expect(JSON.parse(labels)).toContain('zone=a');
  });

  it('lab: a node has its underlay route and no route out of the lab when it is made', async () => {
    for (const name of NODES) {
      // shoald may add routes of its own (gateway bridge, overlays) but never a default one.
      const routes = (await run(name, ['ip', '-4', 'route', 'show']))
        .split('\n')
        .map((route) => route.trim());
      expect(routes).toContain(`198.18.0.0/24 dev eth0 proto kernel scope link src ${ipOf(name)}`);
      expect(routes.filter((route) => route.startsWith('default'))).toEqual([]);
      // A route lookup sends nothing: no lab namespace may reach beyond the lab.
      const lookup = await lab.exec(name, ['ip', 'route', 'get', '192.0.2.1']);
      expect(lookup.exitCode).not.toBe(0);
    }
    const bridge = JSON.parse(
      execFileSync('ip', ['-json', 'addr', 'show', 'dev', LAB_BRIDGE], { encoding: 'utf8' }),
    ) as {
      addr_info: unknown[];
    }[];
    expect(bridge[0]?.addr_info).toEqual([]);
  });

  it('lab: nodes ping each other over the underlay', async () => {
    for (const from of NODES) {
      for (const to of NODES) {
        if (from === to) continue;
        await run(from, ['ping', '-c', '1', '-W', '2', ipOf(to)]);
      }
    }
  });

  it('lab: a host-network httpd on one node is reachable from the other nodes when it runs', async () => {
    for (const name of NODES) {
      await run(name, [
        'docker',
        'run',
        '-d',
        '--name',
        'web',
        '--network',
        'host',
        lab.image,
        'sh',
        '-c',
        `echo served-by-${name} > /www/node.txt && exec httpd -f -p ${HTTP_PORT} -h /www`,
      ]);
    }
    for (const server of NODES) {
      for (const client of NODES) {
        if (client === server) continue;
        const url = `http://${ipOf(server)}:${HTTP_PORT}/node.txt`;
        // httpd binds right after the container starts: retry for its first second only.
        let body = '';
        for (let attempt = 0; attempt < 20 && body === ''; attempt += 1) {
          // No -T: busybox 1.35's wget segfaults with it; the exec timeout bounds the wait.
          const result = await lab.exec(client, ['busybox', 'wget', '-q', '-O', '-', url], {
            timeoutMs: 10_000,
          });
          if (result.exitCode === 0) body = result.stdout.trim();
          else await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(body, `${client} -> ${server}`).toBe(`served-by-${server}`);
      }
    }
  });

  it('lab: shoal info answers on every node when shoald runs', async () => {
    for (const name of NODES) {
      const info = JSON.parse(await run(name, ['shoal', 'info', '--format', 'json'])) as {
        nodeId: string;
        hostname: string;
        swarmState: string;
      };
      expect(info.hostname).toBe(`lab-${name}`);
      expect(info.nodeId).not.toBe('');
      expect(info.swarmState).toBe('inactive');
    }
  });

  it("lab: kill leaves none of the node's processes or containers running", async () => {
    const containerPid = Number(
      await run('w2', ['docker', 'inspect', '--format', '{{.State.Pid}}', 'web']),
    );
    expect(containerPid).toBeGreaterThan(0);
    expect((await liveProcessesOfNode('w2')).length).toBeGreaterThan(0);

    await lab.kill('w2');

    expect(await pidsInCgroups(`${LAB_CGROUP}/w2`)).toEqual([]);
    expect(await liveProcessesOfNode('w2')).toEqual([]);
    expect(existsSync(`/proc/${containerPid}`)).toBe(false);
    const status = (await lab.status()).nodes.find((node) => node.name === 'w2');
    expect(status?.pids).toEqual({ containerd: null, dockerd: null, shoald: null });
    // The other nodes are untouched.
    expect(
      await run('w1', [
        'busybox',
        'wget',
        '-q',
        '-O',
        '-',
        `http://${ipOf('m1')}:${HTTP_PORT}/node.txt`,
      ]),
    ).toBe('served-by-m1');
  });

  it('lab: start brings a killed node back on the same state', async () => {
    await lab.start('w2');
    const status = (await lab.status()).nodes.find((node) => node.name === 'w2');
    expect(status?.pids.containerd).toBeGreaterThan(0);
    expect(status?.pids.dockerd).toBeGreaterThan(0);
    expect(status?.pids.shoald).toBeGreaterThan(0);
    expect(
      await run('w2', ['docker', 'image', 'inspect', '--format', '{{.Id}}', lab.image]),
    ).toMatch(/^sha256:/);
    // The container survived as a record (same data root) but not as a process.
    expect(await run('w2', ['docker', 'inspect', '--format', '{{.State.Running}}', 'web'])).toBe(
      'false',
    );
  });

  it('lab: kill --only dockerd stops the runtime and its containers but not shoald', async () => {
    const before = (await lab.status()).nodes.find((node) => node.name === 'm1')!;
    await lab.kill('m1', { only: 'dockerd' });
    const after = (await lab.status()).nodes.find((node) => node.name === 'm1')!;
    expect(after.pids.containerd).toBeNull();
    expect(after.pids.dockerd).toBeNull();
    expect(after.pids.shoald).toBe(before.pids.shoald);
    expect(await pidsInCgroups(`${LAB_CGROUP}/m1/containers`)).toEqual([]);
    const unreachable = await lab.exec(
      'w1',
      ['busybox', 'wget', '-q', '-O', '-', `http://${ipOf('m1')}:${HTTP_PORT}/`],
      { timeoutMs: 10_000 },
    );
    expect(unreachable.exitCode).not.toBe(0);
    await lab.start('m1');
    expect(await run('m1', ['docker', 'info', '--format', '{{.Images}}'])).not.toBe('0');
  });

  it('lab: kill --only shoald leaves the runtime running', async () => {
    const before = (await lab.status()).nodes.find((node) => node.name === 'w1')!;
    await lab.kill('w1', { only: 'shoald' });
    const after = (await lab.status()).nodes.find((node) => node.name === 'w1')!;
    expect(after.pids.shoald).toBeNull();
    expect(after.pids.dockerd).toBe(before.pids.dockerd);
    await lab.start('w1');
    expect(JSON.parse(await run('w1', ['shoal', 'info', '--format', 'json'])).hostname).toBe(
      'lab-w1',
    );
  });

  it('lab: stop --only shoald lets shoald drain and exit on SIGTERM', async () => {
    const before = (await lab.status()).nodes.find((node) => node.name === 'm1')!;
    expect(await lab.stop('m1', { only: 'shoald' })).toBe(true);
    const after = (await lab.status()).nodes.find((node) => node.name === 'm1')!;
    expect(after.pids.shoald).toBeNull();
    expect(after.pids.dockerd).toBe(before.pids.dockerd);
    await lab.start('m1');
    expect(JSON.parse(await run('m1', ['shoal', 'info', '--format', 'json'])).hostname).toBe(
      'lab-m1',
    );
  });

  it('lab: cut takes a node off the underlay and heal brings it back', async () => {
    await lab.cut('w1');
    expect((await lab.status()).nodes.find((node) => node.name === 'w1')?.linkUp).toBe(false);
    const cut = await lab.exec('m1', ['ping', '-c', '1', '-W', '1', ipOf('w1')]);
    expect(cut.exitCode).not.toBe(0);
    await lab.heal('w1');
    await run('m1', ['ping', '-c', '1', '-W', '2', ipOf('w1')]);
  });

  it('lab: partition drops traffic between groups only, and unpartition restores it', async () => {
    await lab.partition([['m1'], ['w1']]);
    const across = await lab.exec('m1', ['ping', '-c', '1', '-W', '1', ipOf('w1')]);
    expect(across.exitCode).not.toBe(0);
    // w2 is in no group: it still reaches both sides.
    await run('w2', ['ping', '-c', '1', '-W', '2', ipOf('m1')]);
    await run('w2', ['ping', '-c', '1', '-W', '2', ipOf('w1')]);
    await lab.unpartition();
    await run('m1', ['ping', '-c', '1', '-W', '2', ipOf('w1')]);
  });

  it('lab: down leaves no namespace, process, mount, cgroup, link, nft table or directory behind', async () => {
    const names = lab.nodes.map((node) => node.name);
    // A partition left in force must go too.
    await lab.partition([['m1'], ['w1', 'w2']]);
    await lab.down();

    expect(() =>
      execFileSync('nft', ['list', 'table', 'bridge', 'shoal_lab'], { stdio: 'ignore' }),
    ).toThrow();

    const netns = existsSync('/run/netns') ? await readdir('/run/netns') : [];
    expect(netns.filter((name) => name.startsWith(LAB_NETNS_PREFIX))).toEqual([]);
    const links = JSON.parse(
      execFileSync('ip', ['-json', 'link', 'show'], { encoding: 'utf8' }),
    ) as {
      ifname: string;
    }[];
    expect(
      links.map((link) => link.ifname).filter((name) => name.startsWith(LAB_LINK_PREFIX)),
    ).toEqual([]);
    expect(await labCgroupDirs(LAB_CGROUP)).toEqual([]);
    expect(await listMountsUnder([layout.stateDir, layout.runDir])).toEqual([]);
    expect(existsSync(layout.stateDir)).toBe(false);
    expect(existsSync(layout.runDir)).toBe(false);
    const strays = (await processes()).filter(
      (info) =>
        info.state !== 'Z' &&
        (info.cmdline.includes(`${layout.runDir}/`) ||
          info.cmdline.includes(`${layout.stateDir}/`)),
    );
    expect(strays).toEqual([]);
    expect(names).toEqual(['m1', 'w1', 'w2']);
  });
});

// The lab's pure parsers, here because the unit project only collects packages/*/src.
describe('lab flags', () => {
  const subnetCases: { name: string; input: string; want?: string; error?: string }[] = [
    { name: 'default', input: '198.18.0.0/24', want: '198.18.0.0/24' },
    { name: 'host bits cleared', input: '198.18.7.9/16', want: '198.18.0.0/16' },
    {
      name: 'overlay pool',
      input: '10.1.0.0/16',
      error:
        'Parse subnet: "10.1.0.0/16" overlaps 10.0.0.0/8 (Shoal\'s overlay address pool): choose another, e.g. "198.18.0.0/24"',
    },
    {
      name: 'docker pools',
      input: '172.20.0.0/24',
      error:
        'Parse subnet: "172.20.0.0/24" overlaps 172.16.0.0/12 (Docker\'s bridge address pools): choose another, e.g. "198.18.0.0/24"',
    },
    {
      name: 'too wide to hold the overlay pool apart',
      input: '0.0.0.0/4',
      error: 'Parse subnet: prefix length must be between 8 and 29: "0.0.0.0/4"',
    },
    {
      name: 'not a cidr',
      input: '198.18.0.0',
      error: 'Parse subnet: not an IPv4 CIDR: "198.18.0.0" (want e.g. "198.18.0.0/24")',
    },
  ];
  for (const { name, input, want, error } of subnetCases) {
    it(`parseUnderlaySubnet: ${error ? 'refuses' : 'accepts'} ${input} when ${name}`, () => {
      if (want !== undefined) {
        expect(parseUnderlaySubnet(input).cidr).toBe(want);
        return;
      }
      let thrown: unknown;
      try {
        parseUnderlaySubnet(input);
      } catch (caught) {
        thrown = caught;
      }
      expect(thrown).toBeInstanceOf(LabError);
      expect((thrown as LabError).code).toBe('SHOAL_LAB_INVALID_ARGUMENT');
      expect((thrown as LabError).message).toBe(error);
    });
  }

  it('parseLabelFlag: splits node, key and value when the value holds "="', () => {
    expect(parseLabelFlag('w1=zone=a=b')).toEqual({ node: 'w1', key: 'zone', value: 'a=b' });
    expect(() => parseLabelFlag('x1=zone=a')).toThrow(
      'Parse --label: want node=key=value, e.g. "w1=zone=a": "x1=zone=a"',
    );
  });

  it('parseCapacityFlag: reads cpus and a memory size with a unit', () => {
    expect(parseCapacityFlag('w2=1.5,512m')).toEqual({
      node: 'w2',
      capacity: { cpus: 1.5, memoryBytes: 512 * 1024 ** 2 },
    });
    expect(parseMemorySize('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseMemorySize('4096')).toBe(4096);
    expect(() => parseCapacityFlag('w2=0,1g')).toThrow(
      'Parse --capacity: want node=cpus,memory, e.g. "w1=2,1g": "w2=0,1g"',
    );
  });
});
