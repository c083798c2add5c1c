// One promise adapter over child_process.spawn for the lab's short-lived commands (ip,
// docker, umount, …), so every failure becomes a LabError that names the command and
// quotes its stderr.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { LabError } from './errors.js';

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  /** Environment of the command. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Text written to the command's stdin. @default nothing (stdin closed) */
  input?: string;
  /** Kill the command (SIGKILL) after this long. @default 60_000 */
  timeoutMs?: number;
  /** Resolve with a non-zero exit code instead of rejecting. @default false */
  allowFailure?: boolean;
  /** Aborts the wait and kills the command. */
  signal?: AbortSignal;
}

/** What a finished command printed and how it exited. */
export interface CommandResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;

/**
 * Runs `file` with `args` (no shell) and collects its output.
 *
 * @throws {LabError} `SHOAL_LAB_COMMAND_FAILED` when it cannot start, times out, or exits
 * non-zero (unless `allowFailure`).
 * @example
 * const { stdout } = await runCommand('ip', ['-json', 'link', 'show']);
 */
export function runCommand(
  file: string,
  args: readonly string[],
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const shown = [file, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const signals = [AbortSignal.timeout(timeoutMs)];
    if (options.signal) signals.push(options.signal);
    const child = spawn(file, args, {
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: AbortSignal.any(signals),
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    // A command that exits before reading its stdin makes the write fail with EPIPE;
    // the exit code tells what happened, so the write error itself carries nothing.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
    child.on('error', (error) => {
      reject(
        new LabError('SHOAL_LAB_COMMAND_FAILED', `Run "${shown}": ${error.message}`, {
          cause: error,
        }),
      );
    });
    child.on('close', (code, signal) => {
      // Killed by a signal (a timeout, say): report it as a shell would, 128 + its number.
      const exitCode = code ?? 128 + (signal ? constants.signals[signal] : 0);
      if (exitCode === 0 || options.allowFailure) {
        resolve({ exitCode, stdout, stderr });
        return;
      }
      const detail = stderr.trim() || stdout.trim() || `killed by ${signal ?? 'unknown signal'}`;
      reject(
        new LabError(
          'SHOAL_LAB_COMMAND_FAILED',
          `Run "${shown}": exit code ${exitCode}: ${detail.slice(-2000)}`,
        ),
      );
    });
  });
}
