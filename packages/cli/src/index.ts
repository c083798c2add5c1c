// @shoal/cli: the shoal command and the shoald daemon. Exported for the lab and tests.
export type { CliIo, LocalApiClient } from './client/cli-context.js';
export { LocalClient } from './client/local-client.js';
export { Daemon, type DaemonState } from './daemon/daemon.js';
export {
  type CompiledDaemonOptions,
  compileDaemonOptions,
  type DaemonOptions,
} from './daemon/daemon-options.js';
export { type DaemonAddress, parseDaemonAddress } from './parse.js';
export { createProgram, EXIT_FAILURE, EXIT_USAGE, runShoal } from './program.js';
