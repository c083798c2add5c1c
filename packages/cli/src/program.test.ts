import { pb, ShoalError } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import type { LocalApiClient } from './client/cli-context.js';
import type { DaemonAddress } from './parse.js';
import { runShoal } from './program.js';

const INFO: pb.InfoResponse = {
  nodeId: 'abcdefghijklmnopqrstuvwxy',
  hostname: 'lab-m1',
  swarmState: pb.LocalNodeState.LOCAL_NODE_STATE_INACTIVE,
  controlAvailable: false,
  clusterId: '',
  nodeAddr: '',
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

function harness(options: { env?: Record<string, string>; failConnect?: Error } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const addresses: DaemonAddress[] = [];
  const client: LocalApiClient = {
    info: async () => INFO,
    version: async () => ({ daemon: INFO.version }),
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
  return { run, out, err, addresses };
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
