// `npm run -s bench:scale -- --json`: 3 managers as separate processes (mutual TLS on,
// on 127.0.0.1) and 1,000 simulated agents in two processes. Joining (a key pair, a CSR
// and a CA-issued certificate per node) and the sessions' opening happen before the
// clock starts; the clock runs from the Control API's CreateService call of one service
// of 10,000 replicas until every task is reported RUNNING by its agent (and
// acknowledged by the leader). The last stdout line is
// `{"nodes": 1000, "tasks": 10000, "converge_s": .., "leader_rss_mb": ..}`, the leader's
// peak RSS being VmHWM from /proc/<pid>/status. Progress goes to stderr.
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { durationFromMs, pb } from '@shoal/api';
import { generateJoinTokens } from '../../ca/join-token.js';
import { generateRandomId } from '../../ca/random-id.js';
import { RootCA } from '../../ca/root-ca.js';
import { CRYPTO_RNG } from '../../ca/secure-rng.js';
import { clientCredentials, MANAGER_CHANNEL_OPTIONS } from '../../ca/tls.js';
import { newRaftId } from '../../manager/raft-membership.js';
import { freeLoopbackPort, pollUntil, unaryCall } from '../../testing/grpc-call.js';
import { bootstrapObjects, managerDescription } from '../../testing/in-process-cluster.js';
import { joinNode } from '../../testing/join-node.js';
import type { FromAgents, FromManager, ToAgents, ToManager } from './bench-messages.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    nodes: { type: 'string', default: '1000' },
    tasks: { type: 'string', default: '10000' },
    'agent-processes': { type: 'string', default: '2' },
    'join-concurrency': { type: 'string', default: '8' },
    'heartbeat-ms': { type: 'string', default: '5000' },
    'timeout-s': { type: 'string', default: '600' },
  },
});

const NODES = Number(values.nodes);
const TASKS = Number(values.tasks);
const AGENT_PROCESSES = Math.max(1, Math.min(NODES, Number(values['agent-processes'])));
/** Joins in flight per agent process (each costs a key pair, a CSR and a CA signature). */
const JOIN_CONCURRENCY = Number(values['join-concurrency']);
const HEARTBEAT_MS = Number(values['heartbeat-ms']);
const TIMEOUT_MS = Number(values['timeout-s']) * 1000;
const HERE = fileURLToPath(new URL('.', import.meta.url));
const MANAGERS = 3;

function progress(message: string): void {
  process.stderr.write(`[bench:scale] ${message}\n`);
}

/** A child process and the last message of each type it sent. */
class Child<In extends { type: string }, Out extends { type: string }> {
  readonly process: ChildProcess;
  readonly last = new Map<string, Out>();
  readonly #waiters = new Set<(message: Out) => void>();
  readonly #name: string;

  constructor(script: string, name: string) {
    this.#name = name;
    this.process = fork(join(HERE, script), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env },
    });
    this.process.on('message', (message: Out) => {
      this.last.set(message.type, message);
      if (message.type === 'failed') progress(`${name} failed: ${JSON.stringify(message)}`);
      for (const waiter of this.#waiters) waiter(message);
    });
  }

  /** Sends `message`; a child already gone is reported, not thrown. */
  send(message: In): void {
    if (!this.process.connected) return;
    this.process.send(message, (error) => {
      if (error) progress(`${this.#name}: cannot send "${message.type}": ${error.message}`);
    });
  }

  /** The next message of `type`, within `timeoutMs`. */
  next<T extends Out['type']>(type: T, timeoutMs: number): Promise<Extract<Out, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`Wait for "${type}": none within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (message: Out) => {
        if (message.type === 'failed') {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          reject(new Error(`Child failed: ${JSON.stringify(message)}`));
        } else if (message.type === type) {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve(message as Extract<Out, { type: T }>);
        }
      };
      this.#waiters.add(waiter);
    });
  }

  /** Asks it to stop; kills it (by its pid) if it has not exited within 10 s. */
  async stop(order: In): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    try {
      this.process.send(order);
    } catch {
      // Channel already closed: the kill below ends it.
    }
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

type ManagerChild = Child<ToManager, FromManager>;
type AgentChild = Child<ToAgents, FromAgents>;

/** Peak resident set (VmHWM) of a process, MiB. */
function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-bench-scale-'));
  const managers: { child: ManagerChild; addr: string }[] = [];
  const agentChildren: AgentChild[] = [];
  let control: pb.ControlClient | undefined;
  try {
    // 1. The swarm: the first manager bootstraps it, the others join as the daemon does.
    const ca = await RootCA.create();
    const clusterId = generateRandomId(CRYPTO_RNG);
    const tokens = generateJoinTokens(ca.digest(), CRYPTO_RNG);
    const { certPem: caCertPem, keyPem: caKeyPem } = ca.toPem();
    const first = {
      nodeId: generateRandomId(CRYPTO_RNG),
      raftId: newRaftId(),
      addr: `127.0.0.1:${await freeLoopbackPort()}`,
    };
    const boot = await bootstrapObjects(ca, {
      clusterId,
      caCertPem,
      caKeyPem,
      tokens,
      ...first,
      heartbeatPeriodMs: HEARTBEAT_MS,
    });
    const startManager = async (order: Omit<Extract<ToManager, { type: 'start' }>, 'type'>) => {
      const child: ManagerChild = new Child('manager-process.js', `manager ${managers.length}`);
      managers.push({ child, addr: order.addr });
      const ready = child.next('ready', 60_000);
      child.send({ type: 'start', ...order });
      await ready;
    };
    await startManager({
      raftDir: join(dir, 'manager-0'),
      ...first,
      clusterId,
      ...boot.tls,
      bootstrap: {
        cluster: Buffer.from(pb.Cluster.encode(boot.cluster).finish()).toString('base64'),
        node: Buffer.from(pb.Node.encode(boot.node).finish()).toString('base64'),
      },
    });
    progress(`manager 0 up at ${first.addr}`);
    for (let i = 1; i < MANAGERS; i++) {
      const { nodeId, tls } = await joinNode({
        joinAddr: first.addr,
        token: tokens.manager,
        description: managerDescription(i),
      });
      const addr = `127.0.0.1:${await freeLoopbackPort()}`;
      const membership = new pb.RaftMembershipClient(
        first.addr,
        clientCredentials({ ...tls }),
        MANAGER_CHANNEL_OPTIONS,
      );
      const joined = await unaryCall<pb.RaftJoinResponse>((md, o, cb) =>
        membership.join({ addr }, md, o, cb),
      ).finally(() => membership.close());
      await startManager({
        raftDir: join(dir, `manager-${i}`),
        nodeId,
        raftId: joined.raftId,
        clusterId,
        addr,
        ...tls,
        peers: joined.members
          .filter((m) => m.raftId !== joined.raftId)
          .map((m) => [m.raftId, m.addr] as const),
      });
      progress(`manager ${i} joined at ${addr}`);
    }
    const leader = async () => {
      for (const m of managers) {
        const answer = m.child.next('status', 5000);
        m.child.send({ type: 'status' });
        const status = await answer;
        if (status.isLeader) return { ...m, voters: status.voters };
      }
      return undefined;
    };
    await pollUntil(async () => ((await leader())?.voters ?? 0) === MANAGERS, {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: `${MANAGERS} Raft voters`,
    });
    progress(`${MANAGERS} managers are voters`);

    // 2. Managers take no tasks: drained, as is usual for a swarm this size.
    control = new pb.ControlClient(
      first.addr,
      clientCredentials({ ...boot.tls }),
      MANAGER_CHANNEL_OPTIONS,
    );
    const c = control;
    const { nodes: managerNodes } = await unaryCall<pb.ListNodesResponse>((md, o, cb) =>
      c.listNodes({}, md, o, cb),
    );
    for (const node of managerNodes) {
      await unaryCall<pb.UpdateNodeResponse>((md, o, cb) =>
        c.updateNode(
          {
            nodeId: node.id,
            nodeVersion: node.meta?.version ?? 0,
            spec: { ...node.spec!, availability: pb.NodeAvailability.NODE_AVAILABILITY_DRAIN },
          },
          md,
          o,
          cb,
        ),
      );
    }

    // 3. The agents: join and open sessions, the clock not yet running.
    const joinStarted = performance.now();
    const perProcess = Math.ceil(NODES / AGENT_PROCESSES);
    const joinReport = setInterval(() => {
      const joined = agentChildren.reduce((n, a) => {
        const m = a.last.get('joined');
        return n + (m?.type === 'joined' ? m.joined : a.last.has('ready') ? perProcess : 0);
      }, 0);
      progress(`agents joined: ${joined}/${NODES}`);
    }, 5000);
    try {
      for (let p = 0; p < AGENT_PROCESSES; p++) {
        const count = Math.min(perProcess, NODES - p * perProcess);
        const child: AgentChild = new Child('agent-process.js', `agents ${p}`);
        agentChildren.push(child);
        const ready = child.next('ready', TIMEOUT_MS);
        child.send({
          type: 'start',
          joinAddr: managers[p % MANAGERS]!.addr,
          workerToken: tokens.worker,
          managerAddrs: managers.map((m) => m.addr),
          hostnamePrefix: `sim-${p}-`,
          count,
          concurrency: JOIN_CONCURRENCY,
        });
        await ready;
      }
    } finally {
      clearInterval(joinReport);
    }
    // Workers by status, so a wait that fails says which nodes are missing or not Ready.
    let workerStates: Record<string, number> = {};
    await pollUntil(
      async () => {
        const { nodes } = await unaryCall<pb.ListNodesResponse>((md, o, cb) =>
          c.listNodes({}, md, o, cb),
        );
        workerStates = {};
        for (const n of nodes) {
          if (n.role !== pb.NodeRole.NODE_ROLE_WORKER) continue;
          const state = pb.nodeStatus_StateToJSON(n.status?.state ?? 0);
          workerStates[state] = (workerStates[state] ?? 0) + 1;
        }
        return workerStates.STATE_READY === NODES;
      },
      {
        timeoutMs: 120_000,
        intervalMs: 500,
        what: `${NODES} Ready workers`,
        describe: () => workerStates,
      },
    );
    progress(
      `${NODES} agents joined and Ready in ${((performance.now() - joinStarted) / 1000).toFixed(1)} s`,
    );

    // 4. The clock: CreateService until every task is reported RUNNING.
    const spec = pb.ServiceSpec.fromPartial({
      annotations: { name: 'scale', labels: {} },
      task: {
        container: { image: 'app:v1', labels: {}, command: [], args: [], env: [] },
        restart: {
          condition: pb.RestartPolicy_Condition.CONDITION_ANY,
          delay: durationFromMs(5000),
          maxAttempts: 0,
          window: durationFromMs(0),
        },
      },
      mode: { $case: 'replicated', replicated: { replicas: TASKS } },
    });
    const running = () =>
      agentChildren.reduce((n, a) => {
        const m = a.last.get('running');
        return n + (m?.type === 'running' ? m.running : 0);
      }, 0);
    const assigned = () =>
      agentChildren.reduce((n, a) => {
        const m = a.last.get('running');
        return n + (m?.type === 'running' ? m.assigned : 0);
      }, 0);
    // Which managers lead while the clock runs: a busy leader may lose its lease, and
    // the peak RSS reported is the highest of every manager that led.
    const leaders = new Set<number>();
    const watchLeader = setInterval(() => {
      managers.forEach((m, i) => {
        const status = m.child.last.get('status');
        const pid = m.child.process.pid;
        if (
          status?.type === 'status' &&
          status.isLeader &&
          pid !== undefined &&
          !leaders.has(pid)
        ) {
          leaders.add(pid);
          progress(`manager ${i} (pid ${pid}) leads`);
        }
        m.child.send({ type: 'status' });
      });
    }, 250);
    const leaderMemory = async (when: string) => {
      const lead = await leader();
      const status = lead?.child.last.get('status');
      if (status?.type === 'status')
        progress(`leader memory ${when} (MiB): ${JSON.stringify(status.memory)}`);
    };
    await leaderMemory('before the clock');
    const started = performance.now();
    await unaryCall<pb.CreateServiceResponse>((md, o, cb) => c.createService({ spec }, md, o, cb));
    progress(`service created in ${((performance.now() - started) / 1000).toFixed(2)} s`);
    let lastShown = 0;
    await pollUntil(
      () => {
        const now = performance.now();
        if (now - lastShown > 2000) {
          lastShown = now;
          progress(
            `assigned ${assigned()}, running ${running()}/${TASKS} at ${((now - started) / 1000).toFixed(1)} s`,
          );
        }
        return running() >= TASKS;
      },
      { timeoutMs: TIMEOUT_MS, intervalMs: 20, what: `${TASKS} running tasks`, describe: running },
    );
    const convergeS = (performance.now() - started) / 1000;
    progress(`converged in ${convergeS.toFixed(2)} s`);
    clearInterval(watchLeader);
    await leaderMemory('at convergence');
    const lead = await leader();
    if (lead?.child.process.pid !== undefined) leaders.add(lead.child.process.pid);
    const leaderRssMb = Math.max(0, ...[...leaders].map(peakRssMb));
    if (leaders.size > 1) progress(`${leaders.size} managers led during the run`);
    const result = {
      nodes: NODES,
      tasks: TASKS,
      converge_s: Math.round(convergeS * 100) / 100,
      leader_rss_mb: leaderRssMb,
    };
    process.stdout.write(
      `${values.json ? JSON.stringify(result) : `converged ${TASKS} tasks on ${NODES} nodes in ${result.converge_s} s; leader peak RSS ${leaderRssMb} MB`}\n`,
    );
  } finally {
    control?.close();
    await Promise.all(agentChildren.map((a) => a.stop({ type: 'stop' })));
    await Promise.all(managers.map((m) => m.child.stop({ type: 'stop' })));
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    progress(`failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);
