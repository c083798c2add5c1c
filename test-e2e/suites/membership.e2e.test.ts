// Swarm membership end to end in the lab: 3 managers and 2 workers formed through
// `shoal`, then the failures and operations a cluster must live through: bad tokens,
// token rotation, worker-side refusal, leader loss and return, a cut link, drain,
// promote, demote and rm.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  shoaldLogTails,
  shoal as shoalIn,
  shoalOk as shoalOkIn,
} from '../kit/lab-shoal.js';
import { Lab } from '../lab/index.js';

const suiteStarted = Date.now();
const MANAGERS = ['m1', 'm2', 'm3'] as const;
const WORKERS = ['w1', 'w2'] as const;

interface NodeRow {
  ID: string;
  Self: boolean;
  Hostname: string;
  Status: string;
  Availability: string;
  ManagerStatus: string;
}

let lab: Lab;
const shoal = (node: string, args: string[]) => shoalIn(lab, node, args);
const shoalOk = (node: string, args: string[]) => shoalOkIn(lab, node, args);

async function nodeLs(node: string): Promise<NodeRow[]> {
  return JSON.parse(await shoalOk(node, ['node', 'ls', '--format', 'json'])) as NodeRow[];
}

/** The hostname `node ls` shows for lab node `name`. */
function h(name: string): string {
  return lab.node(name).hostname;
}

function row(rows: NodeRow[], hostname: string): NodeRow {
  const found = rows.find((r) => r.Hostname === hostname);
  if (!found) throw new Error(`no node "${hostname}" in node ls: ${JSON.stringify(rows)}`);
  return found;
}

/** Any manager that answers; the suite kills some on purpose. */
async function leaderView(candidates: readonly string[]): Promise<NodeRow[]> {
  let lastError: unknown;
  for (const node of candidates) {
    try {
      return await nodeLs(node);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

function leaderHostname(rows: NodeRow[]): string {
  const leaders = rows.filter((r) => r.ManagerStatus === 'Leader');
  if (leaders.length !== 1) throw new Error(`want one leader, got ${JSON.stringify(rows)}`);
  return leaders[0]!.Hostname;
}

describe('swarm membership in the lab', () => {
  let workerToken = '';
  let managerToken = '';
  let joinAddr = '';

  beforeAll(async () => {
    lab = await Lab.create({ managers: 3, workers: 2 });
  });

  afterEach(async (context) => {
    // What the daemons said is the first thing to read when a CI run fails here.
    if (context.task.result?.state === 'fail') console.error(await shoaldLogTails(lab));
  });

  afterAll(async () => {
    await Lab.down();
    console.log(`membership suite: ${((Date.now() - suiteStarted) / 1000).toFixed(1)} s`);
  });

  it('swarm init: makes m1 the first manager and prints the join command', async () => {
    const out = await shoalOk('m1', ['swarm', 'init', '--advertise-addr', lab.node('m1').ip]);
    expect(out).toMatch(/^Swarm initialized: current node \([a-z0-9]{25}\) is now a manager\./);
    const command = /shoal swarm join --token (SWMTKN-1-[a-z0-9]{50}-[a-z0-9]{25}) (\S+)/.exec(out);
    expect(command).not.toBeNull();
    workerToken = command![1]!;
    joinAddr = command![2]!;
    expect(joinAddr).toBe(`${lab.node('m1').ip}:2377`);
    managerToken = (await shoalOk('m1', ['swarm', 'join-token', '-q', 'manager'])).trim();
    expect(managerToken).not.toBe(workerToken);
    expect(managerToken.split('-')[2]).toBe(workerToken.split('-')[2]);
  });

  it("swarm join: refuses a token whose CA digest is not this swarm's", async () => {
    const parts = workerToken.split('-');
    const otherDigest = parts[2]!.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a'));
    const forged = [parts[0], parts[1], otherDigest, parts[3]].join('-');
    const result = await shoal('w1', ['swarm', 'join', '--token', forged, joinAddr]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /^Error: Join cluster: root CA sent by the manager does not match the join token/,
    );
    expect(JSON.parse(await shoalOk('w1', ['info', '--format', 'json'])).swarmState).toBe(
      'inactive',
    );
  });

  it('swarm join: refuses a token with the right digest and a wrong secret', async () => {
    const forged = workerToken.replace(/-[a-z0-9]{25}$/, `-${'0'.repeat(25)}`);
    const result = await shoal('w1', ['swarm', 'join', '--token', forged, joinAddr]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/^Error: .*join token is not valid/);
  });

  it('swarm join: managers join with the manager token, workers with the worker token', async () => {
    for (const m of ['m2', 'm3']) {
      expect(
        await shoalOk(m, [
          'swarm',
          'join',
          '--token',
          managerToken,
          '--advertise-addr',
          lab.node(m).ip,
          joinAddr,
        ]),
      ).toBe('This node joined a swarm as a manager.\n');
    }
    for (const w of WORKERS) {
      expect(await shoalOk(w, ['swarm', 'join', '--token', workerToken, joinAddr])).toBe(
        'This node joined a swarm as a worker.\n',
      );
    }
    const rows = await eventually(async () => {
      const view = await nodeLs('m1');
      expect(view.map((r) => [r.Hostname, r.Status, r.ManagerStatus]).sort()).toEqual(
        [
          [h('m1'), 'Ready', 'Leader'],
          [h('m2'), 'Ready', 'Reachable'],
          [h('m3'), 'Ready', 'Reachable'],
          [h('w1'), 'Ready', ''],
          [h('w2'), 'Ready', ''],
        ].sort(),
      );
      return view;
    });
    expect(row(rows, h('m1')).Self).toBe(true);
    const table = await shoalOk('m2', ['node', 'ls']);
    expect(table.split('\n')[0]).toMatch(
      /^ID +HOSTNAME +STATUS +AVAILABILITY +MANAGER STATUS +ENGINE VERSION$/,
    );
    expect(table).toMatch(
      new RegExp(`${row(rows, h('m2')).ID} \\* +${h('m2')} +Ready +Active +Reachable +\\d+\\.\\d+`),
    );
  });

  it("node ls on a worker: refused with Docker's explanation", async () => {
    const result = await shoal('w1', ['node', 'ls']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      "Error: This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.\n",
    );
  });

  it('swarm join-token --rotate: the old worker token no longer joins', async () => {
    const out = await shoalOk('m1', ['swarm', 'join-token', '--rotate', 'worker']);
    expect(out).toContain('Successfully rotated worker join token.');
    const fresh = (await shoalOk('m2', ['swarm', 'join-token', '-q', 'worker'])).trim();
    expect(fresh).not.toBe(workerToken);
    await lab.add({ workers: 1 });
    const refused = await shoal('w3', ['swarm', 'join', '--token', workerToken, joinAddr]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/join token is not valid/);
    expect(await shoalOk('w3', ['swarm', 'join', '--token', fresh, joinAddr])).toBe(
      'This node joined a swarm as a worker.\n',
    );
  });

  it('leader loss: another manager takes over and shows the old leader Down and Unreachable; it returns Reachable', async () => {
    const before = await nodeLs('m2');
    const leader = leaderHostname(before);
    const leaderNode = MANAGERS.find((m) => h(m) === leader)!;
    const survivors = MANAGERS.filter((m) => m !== leaderNode);
    await lab.kill(leaderNode);
    const after = await eventually(async () => {
      const view = await leaderView(survivors);
      const newLeader = leaderHostname(view);
      expect(newLeader).not.toBe(leader);
      expect(row(view, leader)).toMatchObject({ Status: 'Down', ManagerStatus: 'Unreachable' });
      return view;
    }, 60_000);
    expect(
      after.filter((r) => r.ManagerStatus === 'Reachable' || r.ManagerStatus === 'Leader'),
    ).toHaveLength(2);
    await lab.start(leaderNode);
    await eventually(async () => {
      const view = await nodeLs(leaderNode);
      expect(row(view, leader)).toMatchObject({
        Status: 'Ready',
        ManagerStatus: 'Reachable',
        Self: true,
      });
    }, 60_000);
  });

  it('cut link: a worker goes Down, and Ready again when healed', async () => {
    await lab.cut('w2');
    await eventually(
      async () => expect(row(await leaderView(MANAGERS), h('w2')).Status).toBe('Down'),
      30_000,
    );
    await lab.heal('w2');
    await eventually(
      async () => expect(row(await leaderView(MANAGERS), h('w2')).Status).toBe('Ready'),
      30_000,
    );
  });

  it('node update --availability drain and labels: shown by node ls and inspect', async () => {
    await shoalOk('m1', [
      'node',
      'update',
      '--availability',
      'drain',
      '--label-add',
      'zone=a',
      h('w1'),
    ]);
    const rows = await nodeLs('m3');
    expect(row(rows, h('w1')).Availability).toBe('Drain');
    const [inspect] = JSON.parse(await shoalOk('m2', ['node', 'inspect', h('w1')])) as [
      { Spec: { Labels: Record<string, string> } },
    ];
    expect(inspect.Spec.Labels).toEqual({ zone: 'a' });
    await shoalOk('m1', [
      'node',
      'update',
      '--availability',
      'active',
      '--label-rm',
      'zone',
      h('w1'),
    ]);
    expect(row(await nodeLs('m1'), h('w1')).Availability).toBe('Active');
  });

  it('node promote and demote: a worker becomes a Reachable manager and back', async () => {
    expect(await shoalOk('m1', ['node', 'promote', h('w1')])).toBe(
      `Node ${h('w1')} promoted to a manager in the swarm.\n`,
    );
    await eventually(
      async () => expect(row(await nodeLs('w1'), h('w1')).ManagerStatus).toBe('Reachable'),
      60_000,
    );
    expect(await shoalOk('m1', ['node', 'demote', h('w1')])).toBe(
      `Manager ${h('w1')} demoted in the swarm.\n`,
    );
    await eventually(async () => {
      expect(row(await nodeLs('m1'), h('w1')).ManagerStatus).toBe('');
      const refused = await shoal('w1', ['node', 'ls']);
      expect(refused.stderr).toMatch(/^Error: This node is not a swarm manager\. Worker nodes/);
    }, 60_000);
  });

  it('node rm: refuses a Ready node without --force, removes a Down one, and its certificate stops working', async () => {
    const refused = await shoal('m1', ['node', 'rm', h('w3')]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(
      /the node is not down and can't be removed: stop it or use --force/,
    );
    await lab.kill('w3');
    await eventually(
      async () => expect(row(await nodeLs('m1'), h('w3')).Status).toBe('Down'),
      30_000,
    );
    expect(await shoalOk('m1', ['node', 'rm', h('w3')])).toBe(`${h('w3')}\n`);
    expect((await nodeLs('m1')).map((r) => r.Hostname)).not.toContain(h('w3'));
    await lab.start('w3');
    // Its session is refused: it never comes back as Ready.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    expect((await nodeLs('m1')).map((r) => r.Hostname)).not.toContain(h('w3'));
  });

  it('swarm leave: a manager whose departure breaks quorum is refused without --force', async () => {
    await lab.kill('m3');
    await eventually(
      async () => expect(row(await nodeLs('m1'), h('m3')).ManagerStatus).toBe('Unreachable'),
      30_000,
    );
    const refused = await shoal('m2', ['swarm', 'leave']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(
      /^Error: You are attempting to leave the swarm on a node that is participating as a manager\..*Use `--force` to ignore this message\.\n$/,
    );
    expect(JSON.parse(await shoalOk('m2', ['info', '--format', 'json'])).swarmState).toBe('active');
  });

  it('swarm init --force-new-cluster: the last manager standing recovers the swarm with its state', async () => {
    await shoalOk('m1', ['node', 'update', '--label-add', 'keep=me', h('m1')]);
    await lab.kill('m2');
    // Two of three managers are gone: no quorum, no reads.
    await eventually(async () => {
      const lost = await shoal('m1', ['node', 'ls']);
      expect(lost.exitCode).toBe(1);
      expect(lost.stderr).toMatch(/^Error: Read the store: .*: retry\n$/);
    }, 30_000);
    const out = await shoalOk('m1', ['swarm', 'init', '--force-new-cluster']);
    expect(out).toMatch(/^Swarm initialized: current node \([a-z0-9]{25}\) is now a manager\./);
    const rows = await eventually(async () => {
      const view = await nodeLs('m1');
      expect(row(view, h('m1')).ManagerStatus).toBe('Leader');
      expect(row(view, h('m2')).ManagerStatus).toBe('Unreachable');
      return view;
    }, 30_000);
    expect(row(rows, h('w2')).Status).toBe('Ready');
    const [inspect] = JSON.parse(await shoalOk('m1', ['node', 'inspect', h('m1')])) as [
      { Spec: { Labels: Record<string, string> } },
    ];
    expect(inspect.Spec.Labels).toEqual({ keep: 'me' });
    await shoalOk('m1', ['node', 'update', '--label-add', 'after=recovery', h('m1')]);
  });
});
