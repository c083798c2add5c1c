// The benchmark's KV service over gRPC with raw-bytes messages (no proto needed):
// Put(encodePut bytes) -> u64 index, Get(key) -> value (linearizable), Digest() -> JSON.
import * as grpc from '@grpc/grpc-js';

const identity = (b: Buffer): Buffer => b;

function method(name: string): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path: `/shoal.bench.Kv/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

/** Service definition shared by kv-member (server) and the load generator (client). */
export const KV_SERVICE = {
  put: method('Put'),
  get: method('Get'),
  digest: method('Digest'),
} satisfies grpc.ServiceDefinition;

/** A client of {@link KV_SERVICE}. */
export interface KvClient extends grpc.Client {
  put(
    req: Buffer,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: Buffer) => void,
  ): grpc.ClientUnaryCall;
  get(
    req: Buffer,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: Buffer) => void,
  ): grpc.ClientUnaryCall;
  digest(
    req: Buffer,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: Buffer) => void,
  ): grpc.ClientUnaryCall;
}

export const KvClientCtor = grpc.makeGenericClientConstructor(
  KV_SERVICE,
  'shoal.bench.Kv',
) as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => KvClient;

/** Calls a unary KV method with a deadline; resolves with the response bytes. */
export function callKv(
  client: KvClient,
  name: 'put' | 'get' | 'digest',
  req: Buffer,
  timeoutMs: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client[name](req, { deadline: new Date(Date.now() + timeoutMs) }, (err, res) =>
      err ? reject(err) : resolve(res ?? Buffer.alloc(0)),
    );
  });
}
