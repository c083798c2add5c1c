// The daemon's root pino logger: JSON lines for machines by default, pretty lines for a
// person at a terminal. Components take children of it (`component`, `nodeId` bound).
import { type Logger, pino } from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat, LogLevel } from './daemon-options.js';

/** Makes the root logger writing to `destination` (stdout by default). */
export function createRootLogger(options: {
  level: LogLevel;
  format: LogFormat;
  destination?: NodeJS.WritableStream;
}): Logger {
  const base = { level: options.level, base: { pid: process.pid } };
  if (options.format === 'pretty') {
    return pino(base, pretty({ destination: options.destination ?? 1, sync: true }));
  }
  return options.destination ? pino(base, options.destination) : pino(base);
}
