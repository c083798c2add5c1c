// Small helpers the harness and its tests share: a promise around a grpc-js unary call
// with a deadline, a bounded poll, and a free loopback port.
import { createServer } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import * as grpcJs from '@grpc/grpc-js';
import { fromServiceError, isServiceError } from '@shoal/api';

/** Deadline of one harness RPC. */
export const HARNESS_CALL_TIMEOUT_MS = 10_000;

/**
 * Runs one unary call with a deadline; a gRPC failure rejects with the typed error
 * rebuilt from its trailers (STYLE 10).
 *
 * @example
 * const { node } = await unaryCall<pb.GetNodeResponse>((md, o, cb) => client.getNode({ nodeId }, md, o, cb));
 */
export function unaryCall<Res>(
  invoke: (
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response: Res) => void,
  ) => void,
  options: { timeoutMs?: number } = {},
): Promise<Res> {
  const deadline = Date.now() + (options.timeoutMs ?? HARNESS_CALL_TIMEOUT_MS);
  return new Promise((resolve, reject) =>
    invoke(new grpcJs.Metadata(), { deadline }, (error, response) =>
      error ? reject(isServiceError(error) ? fromServiceError(error) : error) : resolve(response),
    ),
  );
}

/** Options of {@link pollUntil}. */
export interface PollOptions {
  /** Gives up after this long. @default 20000 */
  readonly timeoutMs?: number;
  /** Pause between looks. @default 50 */
  readonly intervalMs?: number;
  /** Named in the timeout error. */
  readonly what?: string;
}

/**
 * Calls `probe` until it returns something other than `undefined`/`false`, or the
 * deadline passes; the error then shows the last value `describe` gave, so a failed
 * wait says how far things got.
 *
 * @example
 * const leader = await pollUntil(() => cluster.leader(), { what: 'a leader' });
 */
export async function pollUntil<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: PollOptions & { describe?: () => unknown } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const seen = options.describe ? `: last seen ${JSON.stringify(options.describe())}` : '';
      throw new Error(
        `Wait for ${options.what ?? 'condition'}: not met within ${timeoutMs} ms${seen}`,
        { cause: lastError },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
}

/** A TCP port free on 127.0.0.1 right now (the OS picks it; a race with others is unlikely). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
