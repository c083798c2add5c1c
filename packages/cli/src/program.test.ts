import { pb, ShoalError } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import type { LocalApiClient } from './client/cli-context.js';
import type { DaemonAddress } from './parse.js';
import { runShoal } from './program.js';

const INFO: pb.InfoResponse = {
  nodeAddr: '198.18.0.2:2377',
  nodeId: 'abcdefghijklmnopqrstuvwxy',
  hostname: 'lab-m1',
  swarmState: pb.LocalNodeState.LOCAL_NODE_STATE_INACTIVE,
  controlAvailable: false,
  clusterId: '',
  resources: { nanoCpus: 2e9, memoryBytes: 1024 ** 3 },
  dataDir: '/var/lib/shoal',
  managers: 0,
  nodes: 0,
  managerAddrs: [],
  error: '',
  version: {
    version: '9.9.9',
    gitCommit: '',
    apiVersion: '1',
    nodeVersion: 'v20',
    os: 'linux',
    arch: 'x64',
  },
};

const NODES: pb.Node[] = [
  pb.Node.fromPartial({
    id: INFO.nodeId,
    role: pb.NodeRole.NODE_ROLE_MANAGER,
    spec: { desiredRole: pb.NodeRole.NODE_ROLE_MANAGER, annotations: { labels: { zone: 'a' } } },
    description: { hostname: 'lab-m1', engine: { engineVersion: '20.10.24' } },
    status: { state: pb.NodeStatus_State.STATE_READY },
    managerStatus: {
      leader: true,
      reachability: pb.ManagerStatus_Reachability.REACHABILITY_REACHABLE,
    },
  }),
  pb.Node.fromPartial({
    id: 'zzzzzzzzzzzzzzzzzzzzzzzzz',
    spec: { availability: pb.NodeAvailability.NODE_AVAILABILITY_DRAIN },
    description: { hostname: 'lab-w1', engine: { engineVersion: '20.10.24' } },
    status: { state: pb.NodeStatus_State.STATE_DOWN },
  }),
];

const CLUSTER = pb.Cluster.fromPartial({
  id: 'c1',
  meta: { version: 7 },
  rootCa: { joinTokens: { worker: 'SWMTKN-1-aaa-worker', manager: 'SWMTKN-1-aaa-manager' } },
});

function harness(options: { env?: Record<string, string>; failConnect?: Error } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const addresses: DaemonAddress[] = [];
  const calls: { method: string; request: unknown }[] = [];
  const record =
    <T>(method: string, response: T) =>
    async (request: unknown) => {
      calls.push({ method, request });
      return response;
    };
  const client: LocalApiClient = {
    info: async () => INFO,
    version: async () => ({ daemon: INFO.version }),
    swarmInit: record('swarmInit', {
      nodeId: INFO.nodeId,
      clusterId: 'c1',
      workerToken: 'SWMTKN-1-abc-def',
      joinAddr: '198.18.0.2:2377',
    }),
    swarmJoin: record('swarmJoin', { nodeId: INFO.nodeId, manager: false }),
    swarmLeave: record('swarmLeave', {}),
    control: {
      listNodes: record('listNodes', { nodes: NODES }),
      getNode: async (request) => {
        calls.push({ method: 'getNode', request });
        const node = NODES.find(
          (n) => n.id === request.nodeId || n.description?.hostname === request.nodeId,
        );
        if (!node)
          throw new ShoalError(
            'SHOAL_NOT_FOUND',
            `Inspect node: no such node: "${request.nodeId}"`,
          );
        return { node };
      },
      updateNode: async (request) => {
        calls.push({ method: 'updateNode', request });
        return { node: { ...NODES[0]!, spec: request.spec } };
      },
      removeNode: record('removeNode', {}),
      getCluster: record('getCluster', { cluster: CLUSTER }),
      updateCluster: record('updateCluster', { cluster: CLUSTER }),
      getService: record('getService', {}),
      listServices: record('listServices', { services: [] }),
      createService: record('createService', {}),
      updateService: record('updateService', {}),
      removeService: record('removeService', {}),
      getTask: record('getTask', {}),
      listTasks: record('listTasks', { tasks: [] }),
    },
    close: () => {},
  };
  const run = (...argv: string[]) =>
    runShoal(argv, {
      out: (text) => out.push(text),
      err: (text) => err.push(text),
      env: options.env ?? {},
      connect: async (address) => {
        addresses.push(address);
        if (options.failConnect) throw options.failConnect;
        return client;
      },
    });
  return { run, out, err, addresses, calls };
}

describe('shoal CLI', () => {
  it('shoal info: prints one JSON document with --format json', async () => {
    const h = harness();
    expect(await h.run('info', '--format', 'json')).toBe(0);
    expect(JSON.parse(h.out.join(''))).toMatchObject({
      nodeId: INFO.nodeId,
      hostname: 'lab-m1',
      swarmState: 'inactive',
    });
    expect(h.err).toEqual([]);
  });

  it('shoal info: prints the swarm state for people by default', async () => {
    const h = harness();
    expect(await h.run('info')).toBe(0);
    expect(h.out.join('')).toContain('Swarm: inactive');
    expect(h.out.join('')).toContain(`Node ID: ${INFO.nodeId}`);
  });

  it('shoal: asks the daemon --host names before SHOAL_HOST and the default', async () => {
    const h = harness({ env: { SHOAL_HOST: 'unix:///env.sock' } });
    await h.run('--host', 'unix:///flag.sock', 'info');
    await h.run('info');
    const plain = harness();
    await plain.run('info');
    expect(h.addresses.map((a) => a.socketPath)).toEqual(['/flag.sock', '/env.sock']);
    expect(plain.addresses.map((a) => a.socketPath)).toEqual(['/run/shoal/shoal.sock']);
  });

  const usage: { name: string; argv: string[]; error: string }[] = [
    {
      name: 'an unknown flag',
      argv: ['info', '--bogus'],
      error: "Error: Unknown option '--bogus'\n",
    },
    { name: 'an unknown command', argv: ['frob'], error: "Error: Unknown command 'frob'\n" },
    {
      name: 'an unknown format',
      argv: ['info', '--format', 'yaml'],
      error:
        "Error: Option '--format <format>' argument 'yaml' is invalid. Allowed choices are table, json.\n",
    },
    {
      name: 'a tcp host',
      argv: ['-H', 'tcp://10.0.0.1:2375', 'info'],
      error:
        'Error: Invalid daemon address "tcp://10.0.0.1:2375": want unix:///path/to/shoal.sock\n',
    },
    {
      name: 'a bad SHOAL_HOST',
      argv: ['info'],
      error: 'Error: Invalid daemon address "localhost": want unix:///path/to/shoal.sock\n',
    },
  ];
  for (const c of usage) {
    it(`shoal: exits 2 with one error line for ${c.name}`, async () => {
      const h = harness(c.name === 'a bad SHOAL_HOST' ? { env: { SHOAL_HOST: 'localhost' } } : {});
      expect(await h.run(...c.argv)).toBe(2);
      expect(h.err).toEqual([c.error]);
      expect(h.out).toEqual([]);
      if (c.name !== 'a bad SHOAL_HOST') expect(h.addresses).toEqual([]);
    });
  }

  it('shoal info: exits 1 with the daemon error when the daemon is not running', async () => {
    const h = harness({
      failConnect: new ShoalError(
        'SHOAL_DAEMON_UNREACHABLE',
        'Cannot connect to the Shoal daemon at unix:///x.sock: no such socket; is shoald running?',
      ),
    });
    expect(await h.run('info')).toBe(1);
    expect(h.err).toEqual([
      'Error: Cannot connect to the Shoal daemon at unix:///x.sock: no such socket; is shoald running?\n',
    ]);
  });

  it('shoal version: prints the client part even when the daemon is away', async () => {
    const h = harness({
      failConnect: new ShoalError('SHOAL_DAEMON_UNREACHABLE', 'Cannot connect'),
    });
    expect(await h.run('version')).toBe(1);
    expect(h.out.join('')).toMatch(/^Client:\n Version: +\d+\.\d+\.\d+/);
    expect(h.err).toEqual(['Error: Cannot connect\n']);
  });

  it('shoal version: prints client and server as one JSON document', async () => {
    const h = harness();
    expect(await h.run('version', '--format', 'json')).toBe(0);
    const doc = JSON.parse(h.out.join(''));
    expect(doc.server.version).toBe('9.9.9');
    expect(doc.client.version).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('shoal swarm and node', () => {
  it("shoal node ls: prints Docker's columns with a star after the local node", async () => {
    const h = harness();
    expect(await h.run('node', 'ls')).toBe(0);
    const lines = h.out.join('').trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^ID +HOSTNAME +STATUS +AVAILABILITY +MANAGER STATUS +ENGINE VERSION$/,
    );
    expect(lines[1]).toMatch(
      new RegExp(`^${INFO.nodeId} \\* +lab-m1 +Ready +Active +Leader +20\\.10\\.24$`),
    );
    expect(lines[2]).toMatch(/^z{25} +lab-w1 +Down +Drain +20\.10\.24$/);
  });

  it('shoal node ls: prints IDs only with -q and one JSON document with --format json', async () => {
    const quiet = harness();
    await quiet.run('node', 'ls', '-q');
    expect(quiet.out.join('')).toBe(`${INFO.nodeId}\nzzzzzzzzzzzzzzzzzzzzzzzzz\n`);
    const json = harness();
    await json.run('node', 'ls', '--format', 'json');
    expect(
      JSON.parse(json.out.join('')).map((r: { Hostname: string; Self: boolean }) => [
        r.Hostname,
        r.Self,
      ]),
    ).toEqual([
      ['lab-m1', true],
      ['lab-w1', false],
    ]);
  });

  it('shoal node update: adds and removes labels and sets availability in one update', async () => {
    const h = harness();
    expect(
      await h.run(
        'node',
        'update',
        '--availability',
        'drain',
        '--label-add',
        'disk=ssd',
        '--label-rm',
        'zone',
        'lab-m1',
      ),
    ).toBe(0);
    const update = h.calls.find((c) => c.method === 'updateNode')!.request as pb.UpdateNodeRequest;
    expect(update.spec?.availability).toBe(pb.NodeAvailability.NODE_AVAILABILITY_DRAIN);
    expect(update.spec?.annotations?.labels).toEqual({ disk: 'ssd' });
    expect(h.out.join('')).toBe(`${INFO.nodeId}\n`);
  });

  it('shoal node update: refuses a label with an empty key and changes nothing', async () => {
    const h = harness();
    expect(await h.run('node', 'update', '--label-add', '=x', 'lab-m1')).toBe(2);
    expect(h.err).toEqual([
      'Error: Invalid --label-add "=x": want key=value with a non-empty key\n',
    ]);
    expect(h.calls.filter((c) => c.method === 'updateNode')).toEqual([]);
  });

  it('shoal node promote: asks for the manager role and says so as Docker does', async () => {
    const h = harness();
    expect(await h.run('node', 'promote', 'lab-w1')).toBe(0);
    expect(h.out.join('')).toBe('Node lab-w1 promoted to a manager in the swarm.\n');
    const update = h.calls.find((c) => c.method === 'updateNode')!.request as pb.UpdateNodeRequest;
    expect(update.spec?.desiredRole).toBe(pb.NodeRole.NODE_ROLE_MANAGER);
  });

  it('shoal node inspect: exits 1 with the daemon error for an unknown node', async () => {
    const h = harness();
    expect(await h.run('node', 'inspect', 'nope')).toBe(1);
    expect(h.err).toEqual(['Error: Inspect node: no such node: "nope"\n']);
  });

  it('shoal swarm init: prints the exact join command', async () => {
    const h = harness();
    expect(await h.run('swarm', 'init', '--advertise-addr', '198.18.0.2')).toBe(0);
    expect(h.out.join('')).toContain(
      `Swarm initialized: current node (${INFO.nodeId}) is now a manager.`,
    );
    expect(h.out.join('')).toContain(
      '    shoal swarm join --token SWMTKN-1-abc-def 198.18.0.2:2377\n',
    );
    expect(h.calls[0]).toMatchObject({
      method: 'swarmInit',
      request: { advertiseAddr: '198.18.0.2', listenAddr: '0.0.0.0:2377' },
    });
  });

  it('shoal swarm join-token: prints the bare token with -q and rotates with --rotate', async () => {
    const h = harness();
    expect(await h.run('swarm', 'join-token', '-q', 'manager')).toBe(0);
    expect(h.out.join('')).toBe('SWMTKN-1-aaa-manager\n');
    const r = harness();
    expect(await r.run('swarm', 'join-token', '--rotate', 'worker')).toBe(0);
    expect(r.out.join('')).toContain('Successfully rotated worker join token.');
    expect(r.calls.find((c) => c.method === 'updateCluster')?.request).toMatchObject({
      clusterVersion: 7,
      rotation: { workerJoinToken: true, managerJoinToken: false },
    });
  });

  it('shoal swarm join-token: refuses a role that is not worker or manager', async () => {
    const h = harness();
    expect(await h.run('swarm', 'join-token', 'boss')).toBe(2);
    expect(h.err).toEqual(['Error: Invalid role "boss": want worker or manager\n']);
  });

  it('shoal swarm join: needs --token', async () => {
    const h = harness();
    expect(await h.run('swarm', 'join', '198.18.0.2:2377')).toBe(2);
    expect(h.err).toEqual(["Error: Required option '--token <token>' not specified\n"]);
  });

  it('shoal swarm update: refuses a malformed duration before calling the daemon', async () => {
    const h = harness();
    expect(await h.run('swarm', 'update', '--dispatcher-heartbeat', 'soon')).toBe(2);
    expect(h.err).toEqual([
      'Error: Invalid --dispatcher-heartbeat "soon": want a duration such as 30s, 5m or 1h30m\n',
    ]);
    expect(h.calls).toEqual([]);
  });
});
