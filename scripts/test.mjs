#!/usr/bin/env node
// `npm test`: set-up, build, static checks, unit tests, then the lab suites, each step
// timed. Ends with one line `tests: N passed, N failed` counted from vitest's reports.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const reports = mkdtempSync(join(tmpdir(), 'shoal-test-'));
const only = process.argv.slice(2);

const steps = [
  ['setup', 'node', ['scripts/setup.mjs']],
  ['build', 'npx', ['tsc', '-b']],
  ['lint', 'npm', ['run', '-s', 'lint']],
  ['api', 'node', ['scripts/gen-proto.mjs', '--check']],
  ['deploy', 'bash', ['scripts/verify-deploy.sh']],
  [
    'unit',
    'npx',
    [
      'vitest',
      'run',
      '--project',
      'unit',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${join(reports, 'unit.json')}`,
    ],
  ],
  // A few hundred randomised Raft fault schedules (10,000 pass when run by hand).
  ['sim', 'node', ['packages/raft/dist/sim/sim-raft.js', '--seeds', '300', '--json']],
  [
    'e2e',
    'npx',
    [
      'vitest',
      'run',
      '--project',
      'e2e',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${join(reports, 'e2e.json')}`,
    ],
  ],
].filter(([name]) => only.length === 0 || only.includes(name));

let passed = 0;
let failed = 0;
let broken = '';
for (const [name, command, args] of steps) {
  const started = Date.now();
  process.stderr.write(`\n=== ${name}: ${command} ${args.join(' ')}\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const report = join(reports, `${name}.json`);
  if (existsSync(report)) {
    const counts = JSON.parse(readFileSync(report, 'utf8'));
    passed += counts.numPassedTests;
    failed += counts.numFailedTests;
  }
  process.stderr.write(`=== ${name}: ${result.status === 0 ? 'ok' : 'FAILED'} in ${seconds} s\n`);
  if (result.status !== 0) {
    broken = name;
    break;
  }
}
rmSync(reports, { recursive: true, force: true });
console.log(`tests: ${passed} passed, ${failed} failed`);
if (broken) {
  console.error(`Error: step "${broken}" failed`);
  process.exit(1);
}
