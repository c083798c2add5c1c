import { describe, expect, it } from 'vitest';
import { parseBytes, parseDaemonAddress, parseDurationMs, parseNanoCpus } from './parse.js';

describe('parseBytes', () => {
  const cases: { name: string; input: string; want?: number; error?: RegExp }[] = [
    { name: 'plain bytes', input: '1048576', want: 1048576 },
    { name: 'megabytes', input: '512m', want: 512 * 1024 ** 2 },
    { name: 'gigabytes with b', input: '2GB', want: 2 * 1024 ** 3 },
    { name: 'fractional', input: '1.5g', want: 1.5 * 1024 ** 3 },
    {
      name: 'unknown unit',
      input: '12x',
      error: /^Invalid --mem "12x": want a size such as 536870912, 512m or 2g$/,
    },
    { name: 'negative', input: '-1', error: /^Invalid --mem "-1": want a size/ },
    { name: 'zero', input: '0', error: /^Invalid --mem "0": must be more than 0 bytes$/ },
    { name: 'empty', input: '', error: /^Invalid --mem "": want a size/ },
  ];
  for (const c of cases) {
    it(`parseBytes: ${c.error ? 'refuses' : 'reads'} ${c.name}`, () => {
      if (c.error) expect(() => parseBytes(c.input, '--mem')).toThrow(c.error);
      else expect(parseBytes(c.input, '--mem')).toBe(c.want);
    });
  }
});

describe('parseNanoCpus', () => {
  it('parseNanoCpus: reads whole and fractional CPUs as nano-CPUs', () => {
    expect(parseNanoCpus('2', '--cpus')).toBe(2e9);
    expect(parseNanoCpus('0.25', '--cpus')).toBe(2.5e8);
  });
  it('parseNanoCpus: refuses zero, negatives and words with the flag named', () => {
    expect(() => parseNanoCpus('0', '--cpus')).toThrow(RangeError);
    expect(() => parseNanoCpus('-2', '--cpus')).toThrow(
      'Invalid --cpus "-2": must be more than 0 and at most 4096',
    );
    expect(() => parseNanoCpus('two', '--cpus')).toThrow(TypeError);
    expect(() => parseNanoCpus('', '--cpus')).toThrow(
      'Invalid --cpus "": want a number of CPUs such as 2 or 0.5',
    );
  });
});

describe('parseDaemonAddress', () => {
  it('parseDaemonAddress: reads a unix socket URL', () => {
    expect(parseDaemonAddress('unix:///run/shoal/shoal.sock')).toEqual({
      url: 'unix:///run/shoal/shoal.sock',
      socketPath: '/run/shoal/shoal.sock',
    });
  });
  it('parseDaemonAddress: refuses tcp, relative paths and over-long paths', () => {
    expect(() => parseDaemonAddress('tcp://1.2.3.4:2375')).toThrow(
      'Invalid daemon address "tcp://1.2.3.4:2375": want unix:///path/to/shoal.sock',
    );
    expect(() => parseDaemonAddress('unix://run/x.sock')).toThrow(TypeError);
    expect(() => parseDaemonAddress(`unix:///${'a'.repeat(120)}`)).toThrow(/longer than 107 bytes/);
  });
});

describe('parseDurationMs', () => {
  const cases: { input: string; want?: number; error?: string }[] = [
    { input: '90s', want: 90_000 },
    { input: '1h30m', want: 5_400_000 },
    { input: '2160h0m0s', want: 2160 * 3_600_000 },
    { input: '500ms', want: 500 },
    { input: '1.5s', want: 1500 },
    { input: '0', want: 0 },
    { input: '10', error: 'Invalid --delay "10": want a duration such as 30s, 5m or 1h30m' },
    {
      input: '5 minutes',
      error: 'Invalid --delay "5 minutes": want a duration such as 30s, 5m or 1h30m',
    },
    { input: '-3s', error: 'Invalid --delay "-3s": want a duration such as 30s, 5m or 1h30m' },
  ];
  for (const c of cases) {
    it(`parseDurationMs: ${c.error ? 'refuses' : 'reads'} "${c.input}"`, () => {
      if (c.error)
        expect(() => parseDurationMs(c.input, '--delay')).toThrow(new TypeError(c.error));
      else expect(parseDurationMs(c.input, '--delay')).toBe(c.want);
    });
  }
});
