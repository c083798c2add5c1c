import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pb, ShoalError } from '@shoal/api';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalClient } from '../client/local-client.js';
import { parseDaemonAddress } from '../parse.js';
import { Daemon } from './daemon.js';
import { compileDaemonOptions } from './daemon-options.js';

const silent = pino({ level: 'silent' });

describe('Daemon', () => {
  let dir: string;
  const open: Daemon[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoald-'));
  });
  afterEach(async () => {
    for (const daemon of open.splice(0)) await daemon.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function start(name: string, socket = join(dir, `${name}.sock`)) {
    const options = compileDaemonOptions(
      { dataDir: join(dir, name), socket, hostname: `host-${name}` },
      { isTty: false },
    );
    const daemon = await Daemon.create(options, silent);
    open.push(daemon);
    return { daemon, address: parseDaemonAddress(`unix://${socket}`) };
  }

  it('Daemon: answers info on a root-only socket with a stable node ID', async () => {
    const { daemon, address } = await start('a');
    expect((await stat(address.socketPath)).mode & 0o777).toBe(0o600);
    const client = await LocalClient.connect(address);
    const info = await client.info();
    client.close();
    expect(info).toMatchObject({
      hostname: 'host-a',
      swarmState: pb.LocalNodeState.LOCAL_NODE_STATE_INACTIVE,
    });
    await daemon.drain({ graceMs: 1000 });
    const again = await start('a');
    const second = await LocalClient.connect(again.address);
    expect((await second.info()).nodeId).toBe(info.nodeId);
    second.close();
  });

  it('Daemon: drain closes the socket and removes it', async () => {
    const { daemon, address } = await start('b');
    await daemon.drain({ graceMs: 1000 });
    expect(daemon.state).toBe('closed');
    expect(await daemon.closed()).toBe('drained');
    await expect(stat(address.socketPath)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(LocalClient.connect(address)).rejects.toThrow(
      `Cannot connect to the Shoal daemon at ${address.url}: no such socket; is shoald running?`,
    );
  });

  it('Daemon: refuses a second daemon on the same data directory', async () => {
    await start('c');
    const failure = start('c', join(dir, 'other.sock'));
    await expect(failure).rejects.toBeInstanceOf(ShoalError);
    await expect(failure).rejects.toThrow(
      /^Start shoald: data directory ".*\/c" is in use by shoald \(pid \d+\)/,
    );
  });

  it('Daemon: refuses a socket another live daemon serves', async () => {
    const first = await start('d');
    await expect(start('e', first.address.socketPath)).rejects.toThrow(
      `Start shoald: another daemon is serving "${first.address.socketPath}": stop it or pass another --socket`,
    );
    const client = await LocalClient.connect(first.address);
    expect((await client.info()).hostname).toBe('host-d');
    client.close();
  });
});
