// Simulated agents of the scale benchmark, many in one process: they join (certificate
// through the CA service), open their sessions, then report how many tasks run.
import pino from 'pino';
import { SimulatedAgent } from '../../testing/simulated-agent.js';
import type { FromAgents, ToAgents } from './bench-messages.js';

const log = pino({ level: process.env.SHOAL_BENCH_LOG ?? 'warn' }, pino.destination(2));
const agents: SimulatedAgent[] = [];
let reporter: NodeJS.Timeout | undefined;

function send(message: FromAgents): void {
  process.send?.(message);
}

async function start(order: Extract<ToAgents, { type: 'start' }>): Promise<void> {
  const target = {
    joinAddr: order.joinAddr,
    workerToken: order.workerToken,
    managerAddrs: () => order.managerAddrs,
  };
  let next = 0;
  const progress = setInterval(
    () =>
      send({
        type: 'joined',
        joined: agents.length,
        connected: agents.filter((a) => a.isConnected).length,
      }),
    1000,
  );
  const worker = async () => {
    while (next < order.count) {
      const i = next++;
      // A join refused under load (the CA's Raft write timed out) is tried again.
      for (let attempt = 1; ; attempt++) {
        try {
          agents.push(
            await SimulatedAgent.start(target, {
              hostname: `${order.hostnamePrefix}${i}`,
              log,
              stepMs: 50,
            }),
          );
          break;
        } catch (error) {
          if (attempt >= 5) throw error;
          log.warn({ err: error, attempt }, 'join failed: trying again');
        }
      }
    }
  };
  await Promise.all(Array.from({ length: order.concurrency }, worker));
  const deadline = Date.now() + 60_000;
  while (agents.some((a) => !a.isConnected)) {
    if (Date.now() > deadline) throw new Error('Start agents: not all sessions open within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  clearInterval(progress);
  send({ type: 'ready' });
  reporter = setInterval(() => {
    let running = 0;
    let assigned = 0;
    for (const agent of agents) {
      running += agent.runningTaskIds().length;
      assigned += agent.assignedTaskCount();
    }
    send({ type: 'running', running, assigned });
  }, 100);
}

process.on('message', (message: ToAgents) => {
  if (message.type === 'start') {
    start(message).catch((error: unknown) => {
      send({ type: 'failed', message: (error as Error).stack ?? String(error) });
      process.exit(1);
    });
  } else if (message.type === 'stop') {
    clearInterval(reporter);
    void Promise.all(agents.map((a) => a.stop())).finally(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
