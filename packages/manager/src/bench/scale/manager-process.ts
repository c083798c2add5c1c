// One manager of the scale benchmark, as its own process: started, asked for its status
// and stopped by bench-scale.ts over the IPC channel (see bench-messages.ts).
import { pb } from '@shoal/api';
import pino from 'pino';
import { Manager } from '../../manager/manager.js';
import type { FromManager, ToManager } from './bench-messages.js';

const log = pino({ level: process.env.SHOAL_BENCH_LOG ?? 'warn' }, pino.destination(2));
let manager: Manager | undefined;

function send(message: FromManager): void {
  process.send?.(message);
}

async function start(order: Extract<ToManager, { type: 'start' }>): Promise<void> {
  const tls = { rootCaPem: order.rootCaPem, certPem: order.certPem, keyPem: order.keyPem };
  manager = await Manager.start({
    raftDir: order.raftDir,
    nodeId: order.nodeId,
    raftId: order.raftId,
    clusterId: order.clusterId,
    listenAddr: order.addr,
    advertiseAddr: order.addr,
    tls,
    ...(order.bootstrap
      ? {
          bootstrap: {
            cluster: pb.Cluster.decode(Buffer.from(order.bootstrap.cluster, 'base64')),
            node: pb.Node.decode(Buffer.from(order.bootstrap.node, 'base64')),
          },
        }
      : {}),
    ...(order.peers ? { peers: new Map(order.peers) } : {}),
    log,
  });
  send({ type: 'ready' });
}

function memoryMb(): Extract<FromManager, { type: 'status' }>['memory'] {
  const { rss, heapTotal, heapUsed, external } = process.memoryUsage();
  const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
  return { rss: mb(rss), heapTotal: mb(heapTotal), heapUsed: mb(heapUsed), external: mb(external) };
}

process.on('message', (message: ToManager) => {
  if (message.type === 'start') {
    start(message).catch((error: unknown) => {
      send({ type: 'failed', message: (error as Error).stack ?? String(error) });
      process.exit(1);
    });
  } else if (message.type === 'status') {
    send({
      type: 'status',
      isLeader: manager?.isLeader ?? false,
      voters: manager?.isLeader ? manager.raft.status().conf.voters.length : 0,
      memory: memoryMb(),
    });
  } else if (message.type === 'stop') {
    void (manager?.stop({ transferLeadership: false }) ?? Promise.resolve()).finally(() =>
      process.exit(0),
    );
  }
});
// The parent gone: nothing left to serve.
process.on('disconnect', () => process.exit(0));
