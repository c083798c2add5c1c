// How fast N agents find a new leader, and whether any node is marked down meanwhile.
// Two managers (Dispatchers on grpc-js servers over one store) run in a child process;
// the parent runs N AgentSessions, each with its own connections as real agents have.
// Once all are on manager A, A's server is shut down, an election is simulated
// (electionMs), and B's dispatcher starts: the child reports when every session is on
// B and how many nodes were marked down until B's grace period has passed.
//
//   node packages/agent/dist/session/bench/failover-bench.js [agents=1000] [electionMs=800]
import { fork } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { pb } from '@shoal/api';
import { Dispatcher, LocalClusterStore, MemoryStore } from '@shoal/manager';
import pino from 'pino';
import { AgentSession } from '../agent-session.js';

interface Report {
  agents: number;
  electionMs: number;
  graceMs: number;
  allOnNewLeaderMs: number;
  markedDown: number;
  /** When the first node was marked down, from B's start; -1 when none was. */
  firstDownMs: number;
  newLeaderCpuMsDuringReconnect: number;
}

async function managers(agents: number, electionMs: number): Promise<void> {
  const store = new LocalClusterStore(new MemoryStore());
  await store.update((tx) => {
    for (let i = 0; i < agents; i++) tx.create('nodes', pb.Node.fromPartial({ id: `n${i}` }));
  });
  const addrs: string[] = [];
  const nodeOfPeer = new Map<string, string>();
  const started: { server: grpc.Server; dispatcher: Dispatcher }[] = [];
  for (let i = 0; i < 2; i++) {
    const dispatcher = await Dispatcher.create({
      store,
      // No certificates here: a session names its node by hostname, and the node's other
      // calls come over the same connection (same peer address). For the bench only.
      identify: (call) => {
        const request = 'request' in call ? (call.request as Partial<pb.SessionRequest>) : {};
        const hostname = request.description?.hostname;

        if (hostname) nodeOfPeer.set(call.getPeer(), hostname);
        const nodeId = hostname ?? nodeOfPeer.get(call.getPeer());
        return nodeId ? { nodeId, role: 'worker' } : undefined;
      },
      managers: () => addrs.map((addr, n) => ({ nodeId: `m${n}`, addr, weight: 1 })),
      leaderAddr: () => undefined,
      log: pino({ level: 'warn' }),
    });
    const server = new grpc.Server();
    server.addService(pb.DispatcherService, dispatcher.service());
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    addrs.push(`127.0.0.1:${port}`);
    started.push({ server, dispatcher });
  }
  const [a, b] = [started[0]!, started[1]!];
  await a.dispatcher.start();
  let markedDown = 0;
  let firstDownAt = -1;
  let failingOver = false;
  void (async () => {
    const watch = store.watch({
      filter: (e) =>
        e.type !== 'reset' &&
        e.table === 'nodes' &&
        e.object.status?.state === pb.NodeStatus_State.STATE_DOWN,
    });
    for await (const _event of watch) {
      // Only downs from the failover on: the bench's own start-up may be slower than A's
      // grace when the machine is busy, and that is not what is measured.
      if (!failingOver) continue;
      if (markedDown++ === 0) firstDownAt = performance.now();
    }
  })();
  process.on('message', async (message: string) => {
    if (message === 'count') {
      process.send?.({ sessions: a.dispatcher.sessionCount });
      return;
    }
    // Failover: the leader's process dies, an election passes, B takes over.
    failingOver = true;
    a.server.forceShutdown();
    a.dispatcher.stop();
    await new Promise((resolve) => setTimeout(resolve, electionMs));
    const cpu = process.cpuUsage();
    const startedAt = performance.now();
    await b.dispatcher.start();
    while (b.dispatcher.sessionCount < agents) await new Promise((r) => setTimeout(r, 10));
    const allOnNewLeaderMs = performance.now() - startedAt;
    const used = process.cpuUsage(cpu);
    await new Promise((resolve) => setTimeout(resolve, b.dispatcher.graceMs + 1000));
    const report: Report = {
      agents,
      electionMs,
      graceMs: b.dispatcher.graceMs,
      allOnNewLeaderMs: Math.round(allOnNewLeaderMs),
      markedDown,
      firstDownMs: firstDownAt < 0 ? -1 : Math.round(firstDownAt - startedAt),
      newLeaderCpuMsDuringReconnect: Math.round((used.user + used.system) / 1000),
    };
    process.send?.(report);
    b.dispatcher.stop();
    b.server.forceShutdown();
    process.exit(0);
  });
  process.send?.({ addrs });
}

async function main(): Promise<void> {
  const [agents = 1000, electionMs = 800] = process.argv.slice(2).map(Number);
  const child = fork(fileURLToPath(import.meta.url), [
    'managers',
    String(agents),
    String(electionMs),
  ]);
  const addrs = await new Promise<string[]>((resolve) =>
    child.once('message', (m: { addrs: string[] }) => resolve(m.addrs)),
  );
  const log = pino({ level: 'warn' });
  const sessions: AgentSession[] = [];
  for (let i = 0; i < agents; i++) {
    sessions.push(
      await AgentSession.start({
        managers: addrs,
        credentials: grpc.credentials.createInsecure(),
        // Real agents each have their own connections; do not share subchannels.
        channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
        description: pb.NodeDescription.fromPartial({ hostname: `n${i}` }),
        log,
      }),
    );
    if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (;;) {
    const { sessions: open } = await new Promise<{ sessions: number }>((resolve) => {
      child.once('message', resolve);
      child.send('count');
    });
    if (open >= agents) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  // The agents' own process is N agents on one machine: report whether it kept up.
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  // When each agent is on the new leader, from the failover order (the parent's clock).
  const movedAfter: number[] = [];
  const failoverAt = performance.now();
  sessions.forEach((session) => {
    void (async () => {
      for await (const event of session.events()) {
        if (event.type === 'connected' && event.manager === addrs[1]) {
          movedAfter.push(performance.now() - failoverAt);
          return;
        }
      }
    })();
  });
  const report = await new Promise<Report>((resolve) => {
    child.once('message', resolve);
    child.send('failover');
  });
  lag.disable();
  movedAfter.sort((x, y) => x - y);
  const at = (q: number) =>
    Math.round(
      movedAfter[Math.min(movedAfter.length - 1, Math.floor(q * movedAfter.length))] ?? -1,
    );
  // The result line: the last line of stdout, as every benchmark prints it.
  process.stdout.write(
    `${JSON.stringify({
      ...report,
      movedFromFailoverMs: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) },
      agentsLoopDelayP99Ms: Math.round(lag.percentile(99) / 1e6),
    })}\n`,
  );
  await Promise.all(sessions.map((session) => session.close()));
}

if (process.argv[2] === 'managers') {
  void managers(Number(process.argv[3]), Number(process.argv[4]));
} else {
  void main();
}
