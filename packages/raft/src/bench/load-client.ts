// One load-generator process of the benchmark. Runs `--concurrency` loops, each sending
// Puts (16-byte key, 100-byte value) round-robin over all `--targets`, and prints one
// JSON line: { ok, errors, latenciesMs } for requests that started after the warm-up and
// finished before the end. Modes: `shoal` (kv-member's KV service) or `etcd` (KV.Put).
//
//   node load-client.js --mode shoal --targets 127.0.0.1:8001,... --concurrency 32 \
//     --start-at <epoch ms> --warmup-ms 2000 --duration-ms 10000
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { callKv, KvClientCtor } from './kv-service.js';
import { encodePut } from './kv-store.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'shoal' },
    targets: { type: 'string' },
    concurrency: { type: 'string', default: '1' },
    offset: { type: 'string', default: '0' },
    'start-at': { type: 'string' },
    'warmup-ms': { type: 'string', default: '2000' },
    'duration-ms': { type: 'string', default: '10000' },
  },
});

const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const TIMEOUT_MS = 5000;
const targets = (values.targets ?? '').split(',').filter(Boolean);
const concurrency = Number(values.concurrency);
const offset = Number(values.offset);
const startAt = Number(values['start-at'] ?? Date.now());
const warmupMs = Number(values['warmup-ms']);
const durationMs = Number(values['duration-ms']);

type Put = (key: Buffer, value: Buffer) => Promise<void>;

/** The same client options for both systems; channelz only costs CPU here. */
const NO_CHANNELZ: grpc.ClientOptions = { 'grpc.enable_channelz': 0 };

function etcdProtoPath(): string {
  // Next to this file under src/, or in src/ when running from dist/.
  const here = fileURLToPath(new URL('./etcd-kv.proto', import.meta.url));
  if (existsSync(here)) return here;
  return fileURLToPath(new URL('../../src/bench/etcd-kv.proto', import.meta.url));
}

function makePutters(): Put[] {
  const creds = grpc.credentials.createInsecure();
  if (values.mode === 'etcd') {
    const def = protoLoader.loadSync(etcdProtoPath(), {
      keepCase: true,
      longs: Number,
      defaults: false,
    });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      etcdserverpb: {
        KV: new (addr: string, c: grpc.ChannelCredentials, o: grpc.ClientOptions) => grpc.Client;
      };
    };
    return targets.map((t) => {
      const client = new pkg.etcdserverpb.KV(t, creds, NO_CHANNELZ) as grpc.Client & {
        Put(
          req: unknown,
          opts: grpc.CallOptions,
          cb: (err: grpc.ServiceError | null) => void,
        ): void;
      };
      return (key, value) =>
        new Promise<void>((resolve, reject) =>
          client.Put({ key, value }, { deadline: new Date(Date.now() + TIMEOUT_MS) }, (err) =>
            err ? reject(err) : resolve(),
          ),
        );
    });
  }
  return targets.map((t) => {
    const client = new KvClientCtor(t, creds, NO_CHANNELZ);
    return async (key, value) => {
      await callKv(client, 'put', encodePut(key, value), TIMEOUT_MS);
    };
  });
}

// Exit with the parent (see kv-member.ts).
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 1000).unref();

const putters = makePutters();
const latencies: number[] = [];
let ok = 0;
let errors = 0;
const firstError: string[] = [];

async function loop(i: number): Promise<void> {
  const measureFrom = startAt + warmupMs;
  const end = measureFrom + durationMs;
  const value = randomBytes(VALUE_BYTES);
  let n = offset + i;
  // Bounded by the clock: each iteration is one request with a deadline.
  while (Date.now() < end) {
    const put = putters[n++ % putters.length]!;
    const key = randomBytes(KEY_BYTES);
    const t0 = performance.now();
    const startedAt = Date.now();
    try {
      await put(key, value);
      const ms = performance.now() - t0;
      if (startedAt >= measureFrom && Date.now() <= end) {
        ok++;
        latencies.push(ms);
      }
    } catch (err) {
      if (startedAt >= measureFrom) errors++;
      if (firstError.length < 3) firstError.push((err as Error).message);
    }
  }
}

const wait = startAt - Date.now();
if (wait > 0) await new Promise((r) => setTimeout(r, wait));
await Promise.all(Array.from({ length: concurrency }, (_, i) => loop(i)));
// stdout is a pipe, where writes are asynchronous: exit only once the line is out.
process.stdout.write(
  `${JSON.stringify({ ok, errors, firstError, latenciesMs: latencies })}\n`,
  () => process.exit(0),
);
