// What N heartbeating agents cost the leader. The leader (a Dispatcher on a grpc-js
// server over loopback) runs in a child process so `process.cpuUsage()` counts it
// alone; the parent runs N clients, each with its own channel and TCP connection as
// real agents have, that open a session and heartbeat at the period handed out.
//
//   node packages/manager/dist/dispatcher/bench/heartbeat-bench.js [agents=1000] [seconds=10] [periodMs=1000] [stream|unary]
//
// `stream` (what AgentSession does) sends heartbeats on one Heartbeats stream per
// agent; `unary` makes one Heartbeat call per beat.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { pb } from '@shoal/api';
import pino from 'pino';
import { LocalClusterStore } from '../../store/cluster-store.js';
import { MemoryStore } from '../../store/memory-store.js';
import { Dispatcher } from '../dispatcher.js';

const NODE_ID_HEADER = 'x-bench-node-id';

interface Usage {
  cpuMs: number;
  wallMs: number;
  rssMb: number;
  sessions: number;
}

async function leader(agents: number, periodMs: number): Promise<void> {
  const store = new LocalClusterStore(new MemoryStore());
  await store.update((tx) => {
    for (let i = 0; i < agents; i++) tx.create('nodes', pb.Node.fromPartial({ id: `n${i}` }));
  });
  const dispatcher = await Dispatcher.create({
    store,
    // No certificates here: the node ID travels in a header, for the bench only.
    identify: (call) => {
      const id = call.metadata.get(NODE_ID_HEADER)[0];
      return typeof id === 'string' ? { nodeId: id, role: 'worker' } : undefined;
    },
    managers: () => [{ nodeId: 'm0', addr: '127.0.0.1:2377', weight: 1 }],
    log: pino({ level: 'warn' }),
    heartbeatPeriodMs: periodMs,
  });
  const server = new grpc.Server();
  server.addService(pb.DispatcherService, dispatcher.service());
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  await dispatcher.start();
  let from = { cpu: process.cpuUsage(), at: performance.now() };
  process.on('message', (message: string) => {
    if (message === 'start') {
      from = { cpu: process.cpuUsage(), at: performance.now() };
    } else if (message === 'stop') {
      const cpu = process.cpuUsage(from.cpu);
      const usage: Usage = {
        cpuMs: (cpu.user + cpu.system) / 1000,
        wallMs: performance.now() - from.at,
        rssMb: process.memoryUsage().rss / 2 ** 20,
        sessions: dispatcher.sessionCount,
      };
      process.send?.(usage);
      dispatcher.stop();
      server.forceShutdown();
      process.exit(0);
    }
  });
  process.send?.({ port });
}

type Mode = 'stream' | 'unary';

/** One agent: a session, then heartbeats at the period the leader hands out. */
function agent(
  addr: string,
  nodeId: string,
  mode: Mode,
  counts: { beats: number; failures: number },
) {
  const client = new pb.DispatcherClient(addr, grpc.credentials.createInsecure(), {
    // Real agents each have their own connection; do not share one subchannel.
    'grpc.use_local_subchannel_pool': 1,
  });
  const metadata = new grpc.Metadata();
  metadata.set(NODE_ID_HEADER, nodeId);
  const session = client.session({ description: undefined, sessionId: '' }, metadata);
  let timer: NodeJS.Timeout | undefined;
  let heartbeats: grpc.ClientDuplexStream<pb.HeartbeatRequest, pb.HeartbeatResponse> | undefined;
  const periodOf = (res: pb.HeartbeatResponse) =>
    res.period ? res.period.seconds * 1000 + res.period.nanos / 1e6 : 1000;
  const beat = (sessionId: string) => {
    if (heartbeats) {
      heartbeats.write({ sessionId });
      return;
    }
    client.heartbeat({ sessionId }, metadata, { deadline: Date.now() + 5000 }, (error, res) => {
      if (error) {
        counts.failures++;
        return;
      }
      counts.beats++;
      timer = setTimeout(() => beat(sessionId), periodOf(res));
    });
  };
  let started = false;
  session.on('data', (message: pb.SessionMessage) => {
    if (started) return;
    started = true;
    if (mode === 'stream') {
      const stream = client.heartbeats(metadata);
      stream.on('data', (res: pb.HeartbeatResponse) => {
        counts.beats++;
        timer = setTimeout(() => beat(message.sessionId), periodOf(res));
      });
      stream.on('error', () => counts.failures++);
      heartbeats = stream;
    }
    beat(message.sessionId);
  });
  session.on('error', () => {});
  return () => {
    clearTimeout(timer);
    heartbeats?.cancel();
    session.cancel();
    client.close();
  };
}

async function main(): Promise<void> {
  const [agents = 1000, seconds = 10, periodMs = 1000] = process.argv.slice(2, 5).map(Number);
  const mode: Mode = process.argv[5] === 'unary' ? 'unary' : 'stream';
  const child = fork(fileURLToPath(import.meta.url), ['leader', String(agents), String(periodMs)]);
  const port = await new Promise<number>((resolve) =>
    child.once('message', (m: { port: number }) => resolve(m.port)),
  );
  const counts = { beats: 0, failures: 0 };
  const stops: (() => void)[] = [];
  for (let i = 0; i < agents; i++) {
    stops.push(agent(`127.0.0.1:${port}`, `n${i}`, mode, counts));
    // Agents start over a second, as after a leader change, not all in one tick.
    if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // Warm up: every agent connected and on its period.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const beatsBefore = counts.beats;
  child.send('start');
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const usage = await new Promise<Usage>((resolve) => {
    child.once('message', (m: Usage) => resolve(m));
    child.send('stop');
  });
  const beats = counts.beats - beatsBefore;
  for (const stop of stops) stop();
  const perSecond = usage.cpuMs / (usage.wallMs / 1000);
  // The result line: the last line of stdout, as every benchmark prints it.
  process.stdout.write(
    `${JSON.stringify({
      agents,
      mode,
      periodMs,
      seconds: Math.round(usage.wallMs) / 1000,
      sessions: usage.sessions,
      heartbeatsPerSecond: Math.round(beats / (usage.wallMs / 1000)),
      failures: counts.failures,
      leaderCpuMsPerSecond: Math.round(perSecond * 10) / 10,
      leaderCpuPercentOfOneCore: Math.round(perSecond / 10),
      leaderCpuUsPerHeartbeat: Math.round((usage.cpuMs * 1000) / Math.max(1, beats)),
      leaderRssMb: Math.round(usage.rssMb),
    })}\n`,
  );
}

if (process.argv[2] === 'leader') {
  void leader(Number(process.argv[3]), Number(process.argv[4]));
} else {
  void main();
}
