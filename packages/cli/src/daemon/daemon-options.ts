// shoald's options: what the command line may set (all optional, each with its
// default) and the compiled form the daemon runs with (all present, all checked).
import { cpus, hostname as osHostname, totalmem } from 'node:os';
import { isAbsolute } from 'node:path';
import { parseDaemonAddress } from '../parse.js';

/** Where shoald keeps its state when `--data-dir` is not given. */
export const DEFAULT_DATA_DIR = '/var/lib/shoal';
/** Where shoald serves the Local API when `--socket` is not given. */
export const DEFAULT_SOCKET = '/run/shoal/shoal.sock';
/** The local Docker engine when `--engine-host` is not given. */
export const DEFAULT_ENGINE_HOST = 'unix:///var/run/docker.sock';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = 'json' | 'pretty';

/** What a user may set; every field is optional. */
export interface DaemonOptions {
  /** @default '/var/lib/shoal' */
  dataDir?: string;
  /** @default '/run/shoal/shoal.sock' */
  socket?: string;
  /** The node's name in `node ls`. @default the host's name */
  hostname?: string;
  /** @default 'unix:///var/run/docker.sock' */
  engineHost?: string;
  /** CPU the node offers the scheduler, in nano-CPUs. @default the host's CPU count */
  capacityNanoCpus?: number;
  /** Memory the node offers the scheduler, in bytes. @default the host's memory */
  capacityMemoryBytes?: number;
  /** @default 'info' */
  logLevel?: string;
  /** @default 'pretty' on a terminal, else 'json' */
  logFormat?: string;
}

/** The checked options the daemon runs with. */
export interface CompiledDaemonOptions {
  readonly dataDir: string;
  readonly socket: string;
  readonly hostname: string;
  readonly engineHost: string;
  readonly capacityNanoCpus: number;
  readonly capacityMemoryBytes: number;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
}

/** RFC 1123 host name: labels of letters, digits and hyphens, at most 253 characters. */
const HOSTNAME_PATTERN =
  /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/**
 * Checks `options` once and fills in defaults. `isTty` decides the default log format.
 *
 * @example compileDaemonOptions({ dataDir: '/tmp/n1' }, { isTty: false }).socket
 */
export function compileDaemonOptions(
  options: DaemonOptions,
  { isTty }: { isTty: boolean },
): CompiledDaemonOptions {
  const dataDir = options.dataDir ?? DEFAULT_DATA_DIR;
  if (!isAbsolute(dataDir)) {
    throw new TypeError(`Invalid --data-dir "${dataDir}": must be an absolute path`);
  }
  const socket = options.socket ?? DEFAULT_SOCKET;
  if (!isAbsolute(socket)) {
    throw new TypeError(`Invalid --socket "${socket}": must be an absolute path`);
  }
  parseDaemonAddress(`unix://${socket}`);
  const hostname = options.hostname ?? osHostname();
  if (!HOSTNAME_PATTERN.test(hostname)) {
    throw new TypeError(
      `Invalid --hostname "${hostname}": want letters, digits, hyphens and dots (RFC 1123)`,
    );
  }
  const engineHost = options.engineHost ?? DEFAULT_ENGINE_HOST;
  parseDaemonAddress(engineHost);
  const logLevel = options.logLevel ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new TypeError(`Invalid --log-level "${logLevel}": want one of ${LOG_LEVELS.join(', ')}`);
  }
  const logFormat = options.logFormat ?? (isTty ? 'pretty' : 'json');
  if (logFormat !== 'json' && logFormat !== 'pretty') {
    throw new TypeError(`Invalid --log-format "${logFormat}": want json or pretty`);
  }
  return {
    dataDir,
    socket,
    hostname,
    engineHost,
    capacityNanoCpus: options.capacityNanoCpus ?? cpus().length * 1e9,
    capacityMemoryBytes: options.capacityMemoryBytes ?? totalmem(),
    logLevel: logLevel as LogLevel,
    logFormat,
  };
}
