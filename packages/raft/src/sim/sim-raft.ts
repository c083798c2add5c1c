// sim:raft — runs randomised fault schedules against the Raft core and reports safety,
// linearizability and liveness violations.
//
//   node packages/raft/dist/sim/sim-raft.js --seeds 300 [--from 1] [--json] [--trace SEED]
//
// Progress and failing seeds go to stderr; the last stdout line is always
// {"schedules": N, "violations": V, "seconds": S}. Exit code 1 when V > 0.

import { runSchedule } from '../testing/schedule.js';

interface Args {
  seeds: number;
  from: number;
  json: boolean;
  trace: number | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { seeds: 100, from: 1, json: false, trace: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isSafeInteger(v) || v < 0) {
        throw new RangeError(`sim-raft: ${a} needs a non-negative integer: got ${argv[i]}`);
      }
      return v;
    };
    if (a === '--seeds') args.seeds = next();
    else if (a === '--from') args.from = next();
    else if (a === '--json') args.json = true;
    else if (a === '--trace') args.trace = next();
    else throw new RangeError(`sim-raft: unknown argument: ${a}`);
  }
  return args;
}

function main(): number {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    console.error('usage: sim-raft --seeds N [--from S] [--json] [--trace SEED]');
    return 2;
  }
  if (args.trace !== undefined) {
    const r = runSchedule(args.trace, { trace: (line) => process.stdout.write(`${line}\n`) });
    console.error(JSON.stringify(r, null, 2));
    return r.violations.length > 0 ? 1 : 0;
  }
  const started = performance.now();
  let violations = 0;
  let operations = 0;
  let inconclusive = 0;
  for (let i = 0; i < args.seeds; i++) {
    const seed = args.from + i;
    let result: ReturnType<typeof runSchedule> | undefined;
    let failure: string[] = [];
    try {
      result = runSchedule(seed);
      failure = [...result.violations];
      operations += result.operations;
      if (result.inconclusive) inconclusive++;
    } catch (err) {
      failure = [`crashed: ${(err as Error).stack ?? String(err)}`];
    }
    if (failure.length > 0) {
      violations++;
      console.error(`seed ${seed}: FAIL`);
      for (const v of failure.slice(0, 5)) console.error(`  ${v}`);
      if (args.json) console.error(JSON.stringify({ seed, violations: failure }));
    }
    const done = i + 1;
    if (done % 100 === 0 || done === args.seeds) {
      const s = (performance.now() - started) / 1000;
      console.error(
        `sim-raft: ${done}/${args.seeds} schedules, ${violations} failing, ${operations} client ops, ${s.toFixed(1)} s`,
      );
    }
  }
  const seconds = Math.round((performance.now() - started) / 10) / 100;
  if (inconclusive > 0)
    console.error(`sim-raft: ${inconclusive} linearizability checks hit the search bound`);
  // The result line: the last line of stdout, as every simulator and benchmark prints it.
  process.stdout.write(
    `{"schedules": ${args.seeds}, "violations": ${violations}, "seconds": ${seconds}}\n`,
  );
  return violations > 0 ? 1 : 0;
}

process.exitCode = main();
