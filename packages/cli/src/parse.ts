// Parsers for the values users type on command lines: sizes, counts, daemon addresses.
// Each throws a RangeError or TypeError whose message names the flag and the value.

const BYTE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
};

/**
 * A memory size as Docker reads it: a number with an optional unit b, k, m, g or t
 * (binary multiples).
 *
 * @example parseBytes('512m', '--capacity-memory') // 536870912
 */
export function parseBytes(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = match ? BYTE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new TypeError(`Invalid ${flag} "${text}": want a size such as 536870912, 512m or 2g`);
  }
  const bytes = Math.round(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new RangeError(`Invalid ${flag} "${text}": must be more than 0 bytes`);
  }
  return bytes;
}

/**
 * A positive number of CPUs, fractions allowed, as nano-CPUs (1e9 per CPU).
 *
 * @example parseNanoCpus('1.5', '--capacity-cpus') // 1500000000
 */
export function parseNanoCpus(text: string, flag: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) {
    throw new TypeError(`Invalid ${flag} "${text}": want a number of CPUs such as 2 or 0.5`);
  }
  if (value <= 0 || value > 4096) {
    throw new RangeError(`Invalid ${flag} "${text}": must be more than 0 and at most 4096`);
  }
  return Math.round(value * 1e9);
}

/** A daemon address in the form the `--host` flag and `SHOAL_HOST` take. */
export interface DaemonAddress {
  readonly url: string;
  readonly socketPath: string;
}

/**
 * Reads `--host`/`SHOAL_HOST`: `unix:///absolute/path`. TCP is not offered because the
 * Local API trusts whoever can open the socket, which only file permissions restrict.
 *
 * @example parseDaemonAddress('unix:///run/shoal/shoal.sock').socketPath // '/run/shoal/shoal.sock'
 */
export function parseDaemonAddress(text: string): DaemonAddress {
  const match = /^unix:\/\/(\/.+)$/.exec(text);
  if (!match) {
    throw new TypeError(`Invalid daemon address "${text}": want unix:///path/to/shoal.sock`);
  }
  const socketPath = match[1]!;
  // sockaddr_un holds 108 bytes including the terminating NUL.
  if (Buffer.byteLength(socketPath) > 107) {
    throw new RangeError(
      `Invalid daemon address "${text}": the socket path is longer than 107 bytes`,
    );
  }
  return { url: `unix://${socketPath}`, socketPath };
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * A duration as Docker's flags take it (Go's syntax: `90s`, `1h30m`, `2160h0m0s`,
 * `500ms`), in milliseconds.
 *
 * @example parseDurationMs('1m30s', '--update-delay') // 90000
 */
export function parseDurationMs(text: string, flag: string): number {
  const trimmed = text.trim();
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (trimmed === '0') return 0;
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== trimmed) {
    throw new TypeError(`Invalid ${flag} "${text}": want a duration such as 30s, 5m or 1h30m`);
  }
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * DURATION_UNITS_MS[p[2]!]!, 0));
}

/** Milliseconds as the Duration message the API carries. */
export function durationFromMs(ms: number): { seconds: number; nanos: number } {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}
