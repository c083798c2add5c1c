// The shoal command line: global options, the command tree and the one-line error
// contract. `runShoal` is what the entry point and the tests call.
import { Command, CommanderError, Option } from 'commander';
import type { CliIo } from './client/cli-context.js';
import { infoCommand } from './commands/info-command.js';
import { nodeCommand } from './commands/node-command.js';
import { nodePsCommand, serviceCommand } from './commands/service-command.js';
import { swarmCommand } from './commands/swarm-command.js';
import { versionCommand } from './commands/version-command.js';
import { errorLine } from './error-line.js';
import { parseDaemonAddress } from './parse.js';

/** Exit code for a usage error (bad flag, bad value), as shells expect. */
export const EXIT_USAGE = 2;
/** Exit code for a command that ran and failed. */
export const EXIT_FAILURE = 1;

/** Builds the command tree; every command is created with the same io. */
export function createProgram(io: CliIo & { readonly err: (text: string) => void }): Command {
  const program = new Command('shoal')
    .description('Drive a Shoal swarm through the local shoald daemon')
    .addOption(
      new Option(
        '-H, --host <url>',
        'daemon socket to connect to (default: $SHOAL_HOST or unix:///run/shoal/shoal.sock)',
      ).argParser((value) => parseDaemonAddress(value).url),
    )
    .showSuggestionAfterError(true)
    // Global options come before the command, as Docker's do; this lets `service
    // create` pass everything after IMAGE to the task's command.
    .enablePositionalOptions();
  for (const command of [
    versionCommand(io),
    infoCommand(io),
    swarmCommand(io),
    nodeCommand(io).addCommand(nodePsCommand(io)),
    serviceCommand(io),
  ]) {
    program.addCommand(command);
  }
  quietErrors(program, io);
  return program;
}

/** Every command reports through runShoal's one error line, never commander's own output. */
function quietErrors(command: Command, io: CliIo & { readonly err: (text: string) => void }): void {
  command.exitOverride().configureOutput({
    writeOut: (text) => io.out(text),
    writeErr: (text) => io.err(text),
    outputError: () => {},
  });
  for (const sub of command.commands) quietErrors(sub, io);
}

/**
 * Runs one shoal invocation. Returns the exit code and writes every failure to `err` as
 * one line starting with `Error: `.
 */
export async function runShoal(
  argv: readonly string[],
  io: CliIo & { readonly err: (text: string) => void },
): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end the parse through an "error" with exit code 0.
      if (error.exitCode === 0) return 0;
      if (error.code === 'commander.help' || error.code === 'commander.helpDisplayed') return 0;
      io.err(`${errorLine(error)}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof TypeError || error instanceof RangeError) {
      io.err(`${errorLine(error)}\n`);
      return EXIT_USAGE;
    }
    io.err(`${errorLine(error)}\n`);
    return EXIT_FAILURE;
  }
}
