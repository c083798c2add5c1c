#!/usr/bin/env node
// shoald's entry point: the only file that touches `process` (argv, signals, exit).
// SIGTERM or SIGINT drains with a grace period, a second signal forces the stop.
import { Command, CommanderError, Option } from 'commander';
import { Daemon } from './daemon/daemon.js';
import {
  compileDaemonOptions,
  DEFAULT_DATA_DIR,
  DEFAULT_ENGINE_HOST,
  DEFAULT_SOCKET,
  LOG_LEVELS,
} from './daemon/daemon-options.js';
import { createRootLogger } from './daemon/logger.js';
import { errorLine } from './error-line.js';
import { parseBytes, parseNanoCpus } from './parse.js';
import { versionInfo } from './version.js';

const DRAIN_GRACE_MS = 10_000;

async function main(argv: string[]): Promise<number> {
  const program = new Command('shoald')
    .description('The Shoal daemon: runs the agent on every node and the manager on managers')
    .version(versionInfo().version, '-v, --version')
    .option('--data-dir <dir>', 'where the daemon keeps its state', DEFAULT_DATA_DIR)
    .option('--socket <path>', 'unix socket of the Local API for the shoal CLI', DEFAULT_SOCKET)
    .option('--hostname <name>', "the node's name (default: the host's name)")
    .option('--engine-host <url>', 'the Docker engine to run tasks on', DEFAULT_ENGINE_HOST)
    .option('--capacity-cpus <n>', "CPUs to offer the scheduler (default: the host's)")
    .option(
      '--capacity-memory <size>',
      "memory to offer the scheduler, e.g. 2g (default: the host's)",
    )
    .addOption(
      new Option('--log-level <level>', 'least severe level logged')
        .choices(LOG_LEVELS)
        .default('info'),
    )
    .addOption(
      new Option('--log-format <format>', 'json, or pretty (default on a terminal)').choices([
        'json',
        'pretty',
      ]),
    )
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
  try {
    program.parse(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0;
      process.stderr.write(`${errorLine(error)}\n`);
      return 2;
    }
    throw error;
  }
  const flags = program.opts<Record<string, string | undefined>>();
  let options: ReturnType<typeof compileDaemonOptions>;
  try {
    options = compileDaemonOptions(
      {
        dataDir: flags.dataDir,
        socket: flags.socket,
        hostname: flags.hostname,
        engineHost: flags.engineHost,
        capacityNanoCpus:
          flags.capacityCpus === undefined
            ? undefined
            : parseNanoCpus(flags.capacityCpus, '--capacity-cpus'),
        capacityMemoryBytes:
          flags.capacityMemory === undefined
            ? undefined
            : parseBytes(flags.capacityMemory, '--capacity-memory'),
        logLevel: flags.logLevel,
        logFormat: flags.logFormat,
      },
      { isTty: process.stdout.isTTY === true },
    );
  } catch (error) {
    process.stderr.write(`${errorLine(error)}\n`);
    return 2;
  }
  const log = createRootLogger({ level: options.logLevel, format: options.logFormat });
  let daemon: Daemon;
  try {
    daemon = await Daemon.create(options, log);
  } catch (error) {
    log.fatal({ err: error }, 'shoald failed to start');
    process.stderr.write(`${errorLine(error)}\n`);
    return 1;
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) {
      log.info({ signal, graceMs: DRAIN_GRACE_MS }, 'stopping: draining');
      void daemon.drain({ graceMs: DRAIN_GRACE_MS });
    } else {
      log.warn({ signal }, 'second signal: stopping now');
      void daemon.close('forced by a second signal');
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await daemon.closed();
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  return 0;
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${errorLine(error)}\n`);
    process.exitCode = 1;
  },
);
