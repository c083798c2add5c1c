// What the lab benchmarks share: forming a swarm through `shoal`, polling with a
// deadline, percentiles, and the output contract (progress on stderr, one JSON line last).
import { type LocalApiClient, LocalClient, parseDaemonAddress, runShoal } from '@shoal/cli';
import { shoalOk } from '../kit/lab-shoal.js';
import { Lab } from '../lab/index.js';

/** Progress and diagnostics: stderr only, so stdout's last line stays the result. */
export function log(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** Inits the swarm on m1 and joins every other node of the lab with the right token. */
export async function formSwarm(
  lab: Lab,
  nodes: { managers: string[]; workers: string[] },
): Promise<void> {
  const addr = `${lab.node('m1').ip}:2377`;
  await shoalOk(lab, 'm1', ['swarm', 'init', '--advertise-addr', lab.node('m1').ip]);
  const managerToken = (await shoalOk(lab, 'm1', ['swarm', 'join-token', '-q', 'manager'])).trim();
  const workerToken = (await shoalOk(lab, 'm1', ['swarm', 'join-token', '-q', 'worker'])).trim();
  for (const m of nodes.managers.filter((n) => n !== 'm1'))
    await shoalOk(lab, m, ['swarm', 'join', '--token', managerToken, addr]);
  for (const w of nodes.workers)
    await shoalOk(lab, w, ['swarm', 'join', '--token', workerToken, addr]);
  const count = nodes.managers.length + nodes.workers.length;
  await until(`${count} nodes Ready`, async () => {
    const rows = JSON.parse(await shoalOk(lab, 'm1', ['node', 'ls', '--format', 'json'])) as {
      Status: string;
    }[];
    return rows.filter((r) => r.Status === 'Ready').length === count ? rows : undefined;
  });
}

/** A 1-manager, 2-worker lab with its swarm formed: what the task benchmarks run on. */
export async function smallSwarmLab(): Promise<Lab> {
  const lab = await Lab.create({
    managers: 1,
    workers: 2,
    onProgress: (line) => log(`lab: ${line}`),
  });
  await formSwarm(lab, { managers: ['m1'], workers: ['w1', 'w2'] });
  return lab;
}

/** Polls `check` every `intervalMs` until it returns a value; fails after `timeoutMs`. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  { timeoutMs = 120_000, intervalMs = 200 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The p-th percentile (nearest rank) of `samples`. */
export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[
    Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  ]!;
}

/** The running current tasks (not history) in the output of `service ps --format json`. */
export function runningRows(psJson: string): { Node: string }[] {
  const rows = JSON.parse(psJson) as {
    Name: string;
    Node: string;
    DesiredState: string;
    CurrentState: string;
  }[];
  return rows.filter(
    (r) =>
      r.DesiredState === 'Running' &&
      r.CurrentState.startsWith('Running') &&
      !r.Name.startsWith('\\_'),
  );
}

/**
 * `shoal` run in this process by the CLI's own code (`runShoal`) through one connection
 * to a node's shoald that stays open: what the command prints, without a process (and
 * a Node.js start-up) per call, which on a 2-core machine takes CPU from the engines a
 * benchmark measures and delays what it sees.
 */
export class InProcessShoal {
  readonly #client: LocalClient;
  /** The client as each command gets it: every command closes its connection when done. */
  readonly #kept: LocalApiClient;
  readonly #socket: string;

  private constructor(client: LocalClient, socket: string) {
    this.#client = client;
    this.#socket = socket;
    this.#kept = {
      version: () => client.version(),
      info: () => client.info(),
      swarmInit: (request) => client.swarmInit(request),
      swarmJoin: (request) => client.swarmJoin(request),
      swarmLeave: (request) => client.swarmLeave(request),
      control: client.control,
      close: () => {},
    };
  }

  /** Connects to the shoald of lab node `node` and makes one call, so the channel is up. */
  static async connect(lab: Lab, node: string): Promise<InProcessShoal> {
    const socket = lab.node(node).paths.shoaldSocket;
    const shoal = new InProcessShoal(
      await LocalClient.connect(parseDaemonAddress(`unix://${socket}`)),
      socket,
    );
    await shoal.run(['version']);
    return shoal;
  }

  /** Runs `shoal ARGS` and returns its stdout; throws with its error line on failure. */
  async run(args: readonly string[]): Promise<string> {
    let out = '';
    let err = '';
    const code = await runShoal(args, {
      out: (text) => {
        out += text;
      },
      err: (text) => {
        err += text;
      },
      env: { SHOAL_HOST: `unix://${this.#socket}` },
      connect: async () => this.#kept,
    });
    if (code !== 0) throw new Error(`shoal ${args.join(' ')}: exit ${code}: ${err.trim()}`);
    return out;
  }

  close(): void {
    this.#client.close();
  }
}

/** Runs `main` with a lab that is always taken down, and prints its result as the last line. */
export function runBench(main: () => Promise<object>): void {
  main()
    .then((result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    })
    .catch((error: unknown) => {
      log(`Error: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    })
    .finally(() => Lab.down().catch(() => {}));
}
