// Tasks on real nodes: `shoal service create` starts containers on the lab's engines,
// and the cluster heals itself when containers, nodes and daemons die.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  shoaldLogTails,
  shoal as shoalIn,
  shoalOk as shoalOkIn,
} from '../kit/lab-shoal.js';
import { Lab, TASK_IMAGE } from '../lab/index.js';

const suiteStarted = Date.now();
let lab: Lab;
const shoal = (node: string, args: string[]) => shoalIn(lab, node, args);
const shoalOk = (node: string, args: string[]) => shoalOkIn(lab, node, args);

interface TaskRow {
  ID: string;
  Name: string;
  Node: string;
  DesiredState: string;
  CurrentState: string;
  Error: string;
}

async function docker(node: string, args: string[]): Promise<string> {
  const result = await lab.exec(node, ['docker', ...args], { timeoutMs: 60_000 });
  if (result.exitCode !== 0)
    throw new Error(`${node}: docker ${args.join(' ')}: ${result.stderr.trim()}`);
  return result.stdout.trim();
}

async function tasks(service: string): Promise<TaskRow[]> {
  return JSON.parse(
    await shoalOk('m1', ['service', 'ps', '--no-trunc', '--format', 'json', service]),
  ) as TaskRow[];
}

/** Current tasks (not history) that run, by node hostname. */
async function runningByNode(service: string): Promise<Map<string, TaskRow[]>> {
  const byNode = new Map<string, TaskRow[]>();
  for (const t of await tasks(service)) {
    if (
      t.DesiredState !== 'Running' ||
      !t.CurrentState.startsWith('Running') ||
      t.Name.startsWith('\\_')
    )
      continue;
    byNode.set(t.Node, [...(byNode.get(t.Node) ?? []), t]);
  }
  return byNode;
}

function total(byNode: Map<string, TaskRow[]>): number {
  return [...byNode.values()].reduce((sum, rows) => sum + rows.length, 0);
}

const h = (name: string) => lab.node(name).hostname;

/**
 * Runs `shoal service logs -f SERVICE` against m1's shoald and reads its lines until
 * `done` holds of them, `maxLines` were read or `timeoutMs` passed; then kills it.
 */
async function followLogs(
  service: string,
  done: (lines: readonly string[]) => boolean,
  { timeoutMs, maxLines }: { timeoutMs: number; maxLines: number },
): Promise<string[]> {
  const child = spawn('shoal', ['service', 'logs', '-f', service], {
    env: { ...process.env, ...lab.env('m1') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const lines: string[] = [];
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      lines.push(line);
      if (done(lines) || lines.length >= maxLines) break;
    }
  } finally {
    clearTimeout(timer);
    child.kill('SIGKILL');
    await exited;
  }
  if (!done(lines)) {
    throw new Error(
      `Follow logs of "${service}": not done after ${lines.length} lines (within ${timeoutMs} ms): ${stderr.trim()}`,
    );
  }
  return lines;
}

describe('tasks on real nodes', () => {
  beforeAll(async () => {
    lab = await Lab.create({ managers: 1, workers: 2 });
    await shoalOk('m1', ['swarm', 'init', '--advertise-addr', lab.node('m1').ip]);
    const token = (await shoalOk('m1', ['swarm', 'join-token', '-q', 'worker'])).trim();
    for (const w of ['w1', 'w2'])
      await shoalOk(w, ['swarm', 'join', '--token', token, `${lab.node('m1').ip}:2377`]);
    await eventually(async () => {
      const rows = JSON.parse(await shoalOk('m1', ['node', 'ls', '--format', 'json'])) as {
        Status: string;
      }[];
      expect(rows.filter((r) => r.Status === 'Ready')).toHaveLength(3);
    });
  });

  afterEach(async (context) => {
    if (context.task.result?.state === 'fail') console.error(await shoaldLogTails(lab, 20));
  });

  afterAll(async () => {
    await Lab.down();
    console.log(`tasks suite: ${((Date.now() - suiteStarted) / 1000).toFixed(1)} s`);
  });

  it('service create: 6 replicas spread 2/2/2 over the nodes, running as containers named as Docker names them', async () => {
    const out = await shoalOk('m1', [
      'service',
      'create',
      '--name',
      'web',
      '--replicas',
      '6',
      // busybox httpd as PID 1 ignores SIGTERM: keep the stop (and the update) short.
      '--stop-grace-period',
      '1s',
      TASK_IMAGE,
      'httpd',
      '-f',
      '-p',
      '8080',
    ]);
    expect(out).toContain('verify: Service converged');
    const byNode = await runningByNode('web');
    expect([...byNode.keys()].sort()).toEqual([h('m1'), h('w1'), h('w2')].sort());
    for (const rows of byNode.values()) expect(rows).toHaveLength(2);
    const names = (await docker('w1', ['ps', '--format', '{{.Names}}'])).split('\n');
    expect(names).toHaveLength(2);
    for (const name of names) expect(name).toMatch(/^web\.[1-6]\.[a-z0-9]{25}$/);
    expect(
      await docker('w1', [
        'inspect',
        '--format',
        '{{.HostConfig.NetworkMode}} {{.HostConfig.RestartPolicy.Name}}',
        names[0]!,
      ]),
    ).toBe('none no');
  });

  it('a container killed by hand is replaced', async () => {
    const [victim] = (await docker('w2', ['ps', '--format', '{{.Names}}'])).split('\n');
    await docker('w2', ['kill', victim!]);
    await eventually(async () => {
      const rows = await tasks('web');
      const failed = rows.find((t) => victim!.endsWith(t.ID));
      expect(failed?.CurrentState).toMatch(/^Failed/);
      expect(total(await runningByNode('web'))).toBe(6);
    });
  });

  it('shoald killed and started again adopts its containers without restarting them', async () => {
    const before = await docker('w1', [
      'ps',
      '--format',
      '{{.Names}} {{.RunningFor}}',
      '--no-trunc',
    ]);
    const started = await docker('w1', [
      'inspect',
      '--format',
      '{{.Name}} {{.State.StartedAt}}',
      ...before.split('\n').map((l) => l.split(' ')[0]!),
    ]);
    await lab.kill('w1', { only: 'shoald' });
    await lab.start('w1');
    await eventually(async () => {
      const rows = JSON.parse(await shoalOk('m1', ['node', 'ls', '--format', 'json'])) as {
        Hostname: string;
        Status: string;
      }[];
      expect(rows.find((r) => r.Hostname === h('w1'))?.Status).toBe('Ready');
    });
    // Give the agent time to reconcile, then check nothing was restarted or added.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const after = await docker('w1', [
      'inspect',
      '--format',
      '{{.Name}} {{.State.StartedAt}}',
      ...before.split('\n').map((l) => l.split(' ')[0]!),
    ]);
    expect(after).toBe(started);
    expect((await docker('w1', ['ps', '-q'])).split('\n')).toHaveLength(2);
    expect(total(await runningByNode('web'))).toBe(6);
  });

  it('a worker node killed whole: its tasks are replaced on the other nodes', async () => {
    await lab.kill('w2');
    await eventually(async () => {
      const byNode = await runningByNode('web');
      expect(byNode.has(h('w2'))).toBe(false);
      expect(total(byNode)).toBe(6);
    }, 90_000);
    await lab.start('w2');
    await eventually(async () => {
      const rows = JSON.parse(await shoalOk('m1', ['node', 'ls', '--format', 'json'])) as {
        Hostname: string;
        Status: string;
      }[];
      expect(rows.find((r) => r.Hostname === h('w2'))?.Status).toBe('Ready');
    });
  });

  it("drain moves a node's tasks off it", async () => {
    await shoalOk('m1', ['node', 'update', '--availability', 'drain', h('w1')]);
    await eventually(async () => {
      const byNode = await runningByNode('web');
      expect(byNode.has(h('w1'))).toBe(false);
      expect(total(byNode)).toBe(6);
      expect(await docker('w1', ['ps', '-q'])).toBe('');
    }, 90_000);
    await shoalOk('m1', ['node', 'update', '--availability', 'active', h('w1')]);
  });

  it('rolling update with parallelism 2, then rollback', async () => {
    const out = await shoalOk('m1', [
      'service',
      'update',
      '--update-parallelism',
      '2',
      '--env-add',
      'VERSION=2',
      'web',
    ]);
    expect(out).toContain('verify: Service converged');
    const inspect = JSON.parse(await shoalOk('m1', ['service', 'inspect', 'web'])) as [
      { Spec: { TaskTemplate: { ContainerSpec: { Env?: string[] } } } },
    ];
    expect(inspect[0].Spec.TaskTemplate.ContainerSpec.Env).toEqual(['VERSION=2']);
    const names = (await docker('m1', ['ps', '--format', '{{.Names}}']))
      .split('\n')
      .filter(Boolean);
    for (const name of names)
      expect(await docker('m1', ['inspect', '--format', '{{json .Config.Env}}', name])).toContain(
        'VERSION=2',
      );
    const rolledBack = await shoalOk('m1', ['service', 'rollback', 'web']);
    expect(rolledBack).toContain('verify: Service converged');
    const env = JSON.parse(await shoalOk('m1', ['service', 'inspect', 'web'])) as [
      { Spec: { TaskTemplate: { ContainerSpec: { Env?: string[] } } } },
    ];
    expect(env[0].Spec.TaskTemplate.ContainerSpec.Env ?? []).toEqual([]);
    expect(total(await runningByNode('web'))).toBe(6);
  });

  it('a global service follows a node added to the lab', async () => {
    await shoalOk('m1', [
      'service',
      'create',
      '--name',
      'agent',
      '--mode',
      'global',
      // sleep as PID 1 ignores SIGTERM: keep the stop at `swarm leave` below short.
      '--stop-grace-period',
      '1s',
      TASK_IMAGE,
      'sleep',
      '3600',
    ]);
    expect(total(await runningByNode('agent'))).toBe(3);
    await lab.add({ workers: 1 });
    const token = (await shoalOk('m1', ['swarm', 'join-token', '-q', 'worker'])).trim();
    await shoalOk('w3', ['swarm', 'join', '--token', token, `${lab.node('m1').ip}:2377`]);
    await eventually(async () => {
      const byNode = await runningByNode('agent');
      expect(byNode.get(h('w3'))).toHaveLength(1);
      expect(total(byNode)).toBe(4);
    });
  });

  it('a task whose health check fails never counts as running and is replaced', async () => {
    const result = await shoal('m1', [
      'service',
      'create',
      '--name',
      'sick',
      '--replicas',
      '1',
      '--health-cmd',
      'false',
      '--health-interval',
      '1s',
      '--health-retries',
      '1',
      '--health-timeout',
      '1s',
      '-d',
      TASK_IMAGE,
      'sleep',
      '3600',
    ]);
    expect(result.exitCode).toBe(0);
    await eventually(async () => {
      const rows = await tasks('sick');
      expect(rows.filter((t) => /^Failed/.test(t.CurrentState)).length).toBeGreaterThanOrEqual(2);
      expect(rows.every((t) => !t.CurrentState.startsWith('Running'))).toBe(true);
      expect(rows.find((t) => /^Failed/.test(t.CurrentState))?.Error).toMatch(/unhealthy/);
    }, 90_000);
    await shoalOk('m1', ['service', 'rm', 'sick']);
  });

  it('a missing image is reported and not retried silently', async () => {
    const result = await shoal('m1', [
      'service',
      'create',
      '--name',
      'ghost',
      '-d',
      'shoal-lab/no-such-image:1',
      'true',
    ]);
    expect(result.exitCode).toBe(0);
    await eventually(async () => {
      const rows = await tasks('ghost');
      const rejected = rows.filter((t) => /^Rejected/.test(t.CurrentState));
      expect(rejected.length).toBeGreaterThanOrEqual(1);
      expect(rejected[0]!.Error).toMatch(/No such image/);
    });
    await shoalOk('m1', ['service', 'rm', 'ghost']);
  });

  it("service logs shows each task's output, prefixed with its task and node", async () => {
    await shoalOk('m1', [
      'service',
      'create',
      '--name',
      'talk',
      '--replicas',
      '2',
      // sh as PID 1 ignores SIGTERM: keep the stop after `service rm` short.
      '--stop-grace-period',
      '1s',
      TASK_IMAGE,
      'sh',
      '-c',
      'echo hello from $(hostname); sleep 3600',
    ]);
    const lines = await eventually(async () => {
      const out = (await shoalOk('m1', ['service', 'logs', 'talk'])).trim().split('\n');
      expect(out).toHaveLength(2);
      return out;
    }, 30_000);
    for (const line of lines)
      expect(line).toMatch(/^talk\.[12]\.[a-z0-9]{12}@lab-[mw]\d +\| hello from [0-9a-f]{12}$/);
    // As Docker's: the task name and node stay, the task ID goes.
    const bare = (await shoalOk('m1', ['service', 'logs', '--no-task-ids', 'talk']))
      .trim()
      .split('\n');
    for (const line of bare)
      expect(line).toMatch(/^talk\.[12]@lab-[mw]\d +\| hello from [0-9a-f]{12}$/);
    await shoalOk('m1', ['service', 'rm', 'talk']);
  });

  it('service logs -f: 3 tasks printing 200 numbered lines over 20 s, each line shown once, in order, with Docker prefixes', async () => {
    const lines = 200;
    await shoalOk('m1', [
      'service',
      'create',
      '--name',
      'soak',
      '--replicas',
      '3',
      '--stop-grace-period',
      '1s',
      TASK_IMAGE,
      'sh',
      '-c',
      `i=0; while [ $i -lt ${lines} ]; do echo "line $i"; i=$((i+1)); usleep 100000; done; exec sleep 3600`,
    ]);
    try {
      const last = `| line ${lines - 1}`;
      const out = await followLogs(
        'soak',
        (seen) => seen.filter((l) => l.endsWith(last)).length === 3,
        {
          timeoutMs: 60_000,
          maxLines: 3 * lines * 2,
        },
      );
      const byTask = new Map<string, number[]>();
      for (const line of out) {
        const match = /^(soak\.[1-3]\.[a-z0-9]{12}@lab-[mw]\d+) +\| line (\d+)$/.exec(line);
        expect(match, `line "${line}"`).not.toBeNull();
        byTask.set(match![1]!, [...(byTask.get(match![1]!) ?? []), Number(match![2])]);
      }
      expect([...byTask.keys()].map((name) => name.split('.')[1]).sort()).toEqual(['1', '2', '3']);
      const every = Array.from({ length: lines }, (_, i) => i);
      for (const numbers of byTask.values()) expect(numbers).toEqual(every);
    } finally {
      await shoalOk('m1', ['service', 'rm', 'soak']);
    }
  });

  it('swarm leave on a worker: its task containers are gone when the command returns', async () => {
    const before = (await docker('w3', ['ps', '-a', '--format', '{{.Names}}'])).split('\n');
    expect(before).toContainEqual(expect.stringMatching(/^agent\.[a-z0-9]{25}\.[a-z0-9]{25}$/));
    expect(await shoalOk('w3', ['swarm', 'leave'])).toBe('Node left the swarm.\n');
    // Not polled: leave waits until the executor has removed them.
    expect(await docker('w3', ['ps', '-a', '--format', '{{.Names}}'])).toBe('');
    expect(await shoalOk('w3', ['info'])).toMatch(/^Swarm: inactive$/m);
  });
});
