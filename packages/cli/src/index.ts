// @shoal/cli: the shoal command and the shoald daemon. Exported for the lab and tests.
export { Daemon, type DaemonState } from './daemon/daemon.js';
export {
  type CompiledDaemonOptions,
  compileDaemonOptions,
  type DaemonOptions,
} from './daemon/daemon-options.js';
export { createProgram, EXIT_FAILURE, EXIT_USAGE, runShoal } from './program.js';
