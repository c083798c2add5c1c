// One member of the benchmark / crash-test cluster, as its own process: a RaftNode with
// FileStorage (fsync on) and GrpcTransport, serving KV Put/Get/Digest over gRPC on
// loopback. Followers hand Puts to the core, which forwards them to the leader.
//
//   node kv-member.js --id 1 --peers 1=127.0.0.1:7001,2=...,3=... --kv-port 8001 --data DIR
//
// Prints `ready` on stdout once serving; SIGTERM stops gracefully (hands leadership over).
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { NotLeaderError, RaftError } from '../errors.js';
import { RaftNode } from '../node/raft-node.js';
import { GrpcTransport } from '../transport/grpc-transport.js';
import { KV_SERVICE } from './kv-service.js';
import { KvStore } from './kv-store.js';

const { values } = parseArgs({
  options: {
    id: { type: 'string' },
    peers: { type: 'string' },
    'kv-port': { type: 'string' },
    data: { type: 'string' },
    'tick-ms': { type: 'string', default: '100' },
    'snapshot-every': { type: 'string', default: '10000' },
    'log-level': { type: 'string', default: 'warn' },
  },
});

const id = Number(values.id);
const peers = new Map<number, string>();
for (const part of (values.peers ?? '').split(',')) {
  const [pid, addr] = part.split('=');
  peers.set(Number(pid), addr!);
}
const logger = pino({ level: values['log-level'] ?? 'warn' }, pino.destination(2));
const myAddr = peers.get(id);
if (!Number.isSafeInteger(id) || myAddr === undefined || values.data === undefined) {
  console.error('usage: kv-member --id N --peers 1=host:port,... --kv-port P --data DIR');
  process.exit(2);
}

function toStatus(err: unknown): Partial<grpc.ServiceError> {
  if (err instanceof NotLeaderError) return { code: grpc.status.UNAVAILABLE, details: err.message };
  if (err instanceof RaftError) {
    return {
      code:
        err.code === 'SHOAL_RAFT_TIMEOUT' ? grpc.status.DEADLINE_EXCEEDED : grpc.status.UNAVAILABLE,
      details: err.message,
    };
  }
  return { code: grpc.status.INTERNAL, details: (err as Error).message };
}

const kv = new KvStore();
const transport = await GrpcTransport.create({
  id,
  peers: new Map([...peers].filter(([p]) => p !== id)),
  listen: myAddr,
  logger,
});
const node = await RaftNode.create({
  id,
  peers: [...peers.keys()],
  dataDir: values.data,
  transport,
  stateMachine: kv,
  tickMs: Number(values['tick-ms']),
  snapshotEvery: Number(values['snapshot-every']),
  requestTimeoutMs: 5000,
  logger,
});

// Channelz bookkeeping costs CPU per call and nobody inspects it here.
const server = new grpc.Server({ 'grpc.enable_channelz': 0 });
server.addService(KV_SERVICE, {
  put: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
    node.propose(call.request).then(
      (index) => {
        const out = Buffer.allocUnsafe(8);
        out.writeDoubleLE(index, 0);
        cb(null, out);
      },
      (err: unknown) => cb(toStatus(err)),
    );
  },
  get: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
    node.readIndex().then(
      () => {
        const v = kv.get(call.request);
        // An absent key answers NOT_FOUND so "empty value" and "missing" differ.
        if (v === undefined) cb({ code: grpc.status.NOT_FOUND, details: 'no such key' });
        else cb(null, v);
      },
      (err: unknown) => cb(toStatus(err)),
    );
  },
  digest: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
    const h = createHash('sha256');
    h.update(kv.snapshot());
    const st = node.status();
    cb(
      null,
      Buffer.from(
        JSON.stringify({
          id,
          applied: node.appliedIndex,
          commit: st.commit,
          lastIndex: st.lastIndex,
          term: st.term,
          leader: node.leaderId,
          size: kv.size,
          hash: h.digest('hex'),
        }),
      ),
    );
  },
});
await new Promise<void>((resolve, reject) =>
  server.bindAsync(
    `127.0.0.1:${values['kv-port']}`,
    grpc.ServerCredentials.createInsecure(),
    (err) => (err ? reject(err) : resolve()),
  ),
);
process.stdout.write('ready\n');

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) process.exit(1);
  stopping = true;
  await node.stop({ transferLeadership: true });
  await transport.close();
  server.forceShutdown();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
// A test runner or benchmark killed without cleaning up must not leave members behind:
// once the parent is gone (we were re-parented), exit.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 1000).unref();
