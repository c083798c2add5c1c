import { describe, expect, it } from 'vitest';
import { compileDaemonOptions, DEFAULT_DATA_DIR, DEFAULT_SOCKET } from './daemon-options.js';

describe('compileDaemonOptions', () => {
  it('compileDaemonOptions: fills every default when nothing is set', () => {
    const compiled = compileDaemonOptions({}, { isTty: false });
    expect(compiled.dataDir).toBe(DEFAULT_DATA_DIR);
    expect(compiled.socket).toBe(DEFAULT_SOCKET);
    expect(compiled.engineHost).toBe('unix:///var/run/docker.sock');
    expect(compiled.logLevel).toBe('info');
    expect(compiled.logFormat).toBe('json');
    expect(compiled.capacityNanoCpus).toBeGreaterThan(0);
    expect(compiled.capacityMemoryBytes).toBeGreaterThan(0);
  });

  it('compileDaemonOptions: logs pretty by default on a terminal', () => {
    expect(compileDaemonOptions({}, { isTty: true }).logFormat).toBe('pretty');
    expect(compileDaemonOptions({ logFormat: 'json' }, { isTty: true }).logFormat).toBe('json');
  });

  it('compileDaemonOptions: keeps a declared capacity instead of the host one', () => {
    const compiled = compileDaemonOptions(
      { capacityNanoCpus: 5e8, capacityMemoryBytes: 1024 ** 3, hostname: 'lab-w1' },
      { isTty: false },
    );
    expect(compiled).toMatchObject({
      capacityNanoCpus: 5e8,
      capacityMemoryBytes: 1024 ** 3,
      hostname: 'lab-w1',
    });
  });

  const bad: {
    name: string;
    options: Parameters<typeof compileDaemonOptions>[0];
    error: string;
  }[] = [
    {
      name: 'a relative data dir',
      options: { dataDir: 'state' },
      error: 'Invalid --data-dir "state": must be an absolute path',
    },
    {
      name: 'a relative socket',
      options: { socket: 's.sock' },
      error: 'Invalid --socket "s.sock": must be an absolute path',
    },
    {
      name: 'a host name with spaces',
      options: { hostname: 'lab m1' },
      error: 'Invalid --hostname "lab m1": want letters, digits, hyphens and dots (RFC 1123)',
    },
    {
      name: 'an unknown log level',
      options: { logLevel: 'loud' },
      error: 'Invalid --log-level "loud": want one of trace, debug, info, warn, error, fatal',
    },
    {
      name: 'an unknown log format',
      options: { logFormat: 'xml' },
      error: 'Invalid --log-format "xml": want json or pretty',
    },
    {
      name: 'a tcp engine host',
      options: { engineHost: 'tcp://1.2.3.4:2375' },
      error: 'Invalid daemon address "tcp://1.2.3.4:2375": want unix:///path/to/shoal.sock',
    },
  ];
  for (const c of bad) {
    it(`compileDaemonOptions: refuses ${c.name}`, () => {
      expect(() => compileDaemonOptions(c.options, { isTty: false })).toThrow(
        new TypeError(c.error),
      );
    });
  }
});
