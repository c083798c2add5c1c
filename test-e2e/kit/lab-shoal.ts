// What the lab suites and benchmarks share: running `shoal` on a node, polling until a
// check holds, and printing the daemons' last log lines when something failed.
import { readFile } from 'node:fs/promises';
import type { CommandResult, Lab } from '../lab/index.js';

/** Runs `shoal ARGS` inside lab node `node`; the result, whatever the exit code. */
export function shoal(lab: Lab, node: string, args: readonly string[]): Promise<CommandResult> {
  return lab.exec(node, ['shoal', ...args], { timeoutMs: 120_000 });
}

/** Runs `shoal ARGS` on `node` and returns its stdout; throws with its stderr on failure. */
export async function shoalOk(lab: Lab, node: string, args: readonly string[]): Promise<string> {
  const result = await shoal(lab, node, args);
  if (result.exitCode !== 0) {
    throw new Error(
      `${node}: shoal ${args.join(' ')}: exit ${result.exitCode}: ${result.stderr.trim()}`,
    );
  }
  return result.stdout;
}

/** Polls `check` until it stops throwing; fails with its last error after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T>,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

/** The last `lines` lines of every node's shoald log, as one text for stderr. */
export async function shoaldLogTails(lab: Lab, lines = 25): Promise<string> {
  const parts: string[] = [];
  for (const node of (await lab.status()).nodes) {
    const text = await readFile(lab.logFile(node.name, 'shoald'), 'utf8').catch(() => '');
    parts.push(
      `--- shoald log of ${node.name} (last ${lines} lines)\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`,
    );
  }
  return parts.join('\n');
}
