// Raft traffic over gRPC: the `shoal.v1.Raft` service. Each member keeps one outbound
// client stream per peer (PeerSender) and serves the inbound side; client proposals and
// read-index requests a follower cannot serve go to the leader as unary calls.
import * as grpc from '@grpc/grpc-js';
import { pb } from '@shoal/api';
import type { Logger } from 'pino';
import type { Message, RaftId } from '../core/types.js';
import { NotLeaderError, RaftError, RaftStoppedError } from '../errors.js';
import { messageFromPb } from './message-codec.js';
import { PeerSender } from './peer-sender.js';
import type { ForwardOptions, RaftTransport, TransportHandler } from './raft-transport.js';

/** Trailer carrying a RaftError's code, and one carrying the leader a follower knows. */
const ERROR_CODE_TRAILER = 'shoal-error-code';
const LEADER_TRAILER = 'shoal-raft-leader';

/** Options of {@link GrpcTransport.create}. */
export interface GrpcTransportOptions {
  /** This member's Raft ID. */
  readonly id: RaftId;
  /** Peers' addresses (`host:port`), by Raft ID; this member's own entry is ignored. */
  readonly peers?: ReadonlyMap<RaftId, string>;
  /**
   * Address to serve on (`127.0.0.1:0` picks a port). Ignored when `server` is given.
   * @default '127.0.0.1:0'
   */
  readonly listen?: string;
  /** A server the caller owns and starts (the manager's port): the service is added to it. */
  readonly server?: grpc.Server;
  /** @default grpc.credentials.createInsecure() */
  readonly channelCredentials?: grpc.ChannelCredentials;
  /** @default grpc.ServerCredentials.createInsecure() */
  readonly serverCredentials?: grpc.ServerCredentials;
  /** Extra options of the channels to peers (e.g. the TLS server name to expect). */
  readonly channelOptions?: grpc.ChannelOptions;
  /**
   * Messages queued per peer before new ones are dropped (and the peer reported unreachable).
   * @default 4096
   */
  readonly queueCapacity?: number;
  /**
   * Largest gRPC message in either direction (snapshots travel in one message).
   * @default 256 MiB
   */
  readonly maxMessageBytes?: number;
  /**
   * Deadline of a forwarded proposal or read-index call.
   * @default 5000
   */
  readonly forwardTimeoutMs?: number;
  readonly logger?: Logger;
}

/** {@link GrpcTransportOptions} with defaults filled in. */
export interface CompiledGrpcTransportOptions {
  readonly id: RaftId;
  readonly peers: ReadonlyMap<RaftId, string>;
  readonly listen: string;
  readonly server: grpc.Server | undefined;
  readonly channelCredentials: grpc.ChannelCredentials;
  readonly serverCredentials: grpc.ServerCredentials;
  readonly channelOptions: grpc.ChannelOptions;
  readonly queueCapacity: number;
  readonly maxMessageBytes: number;
  readonly forwardTimeoutMs: number;
  readonly logger: Logger | undefined;
}

/** Validates once (STYLE 24). */
export function compileGrpcTransportOptions(o: GrpcTransportOptions): CompiledGrpcTransportOptions {
  if (!Number.isSafeInteger(o.id) || o.id < 1) {
    throw new RangeError(`GrpcTransport: id must be a positive integer: got ${o.id}`);
  }
  const queueCapacity = o.queueCapacity ?? 4096;
  if (!Number.isInteger(queueCapacity) || queueCapacity < 1) {
    throw new RangeError(
      `GrpcTransport: queueCapacity must be an integer >= 1: got ${queueCapacity}`,
    );
  }
  return {
    id: o.id,
    peers: o.peers ?? new Map(),
    listen: o.listen ?? '127.0.0.1:0',
    server: o.server,
    channelCredentials: o.channelCredentials ?? grpc.credentials.createInsecure(),
    serverCredentials: o.serverCredentials ?? grpc.ServerCredentials.createInsecure(),
    channelOptions: o.channelOptions ?? {},
    queueCapacity,
    maxMessageBytes: o.maxMessageBytes ?? 256 * 1024 * 1024,
    forwardTimeoutMs: o.forwardTimeoutMs ?? 5000,
    logger: o.logger,
  };
}

interface Peer {
  readonly addr: string;
  readonly client: pb.RaftClient;
  readonly sender: PeerSender;
}

function bindAsync(
  server: grpc.Server,
  addr: string,
  creds: grpc.ServerCredentials,
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(addr, creds, (err, port) => (err ? reject(err) : resolve(port)));
  });
}

function toStatus(err: unknown): Partial<grpc.ServiceError> {
  const metadata = new grpc.Metadata();
  if (err instanceof NotLeaderError) {
    metadata.set(ERROR_CODE_TRAILER, err.code);
    metadata.set(LEADER_TRAILER, String(err.leaderId));
    return { code: grpc.status.FAILED_PRECONDITION, details: err.message, metadata };
  }
  if (err instanceof RaftError) {
    metadata.set(ERROR_CODE_TRAILER, err.code);
    return { code: grpc.status.UNAVAILABLE, details: err.message, metadata };
  }
  return { code: grpc.status.INTERNAL, details: `Internal error: ${(err as Error).message}` };
}

function fromStatus(err: grpc.ServiceError, leader: RaftId): Error {
  const code = err.metadata?.get(ERROR_CODE_TRAILER)[0];
  if (code === 'SHOAL_RAFT_NOT_LEADER') {
    const hint = Number(err.metadata.get(LEADER_TRAILER)[0] ?? 0);
    return new NotLeaderError(hint === leader ? 0 : hint, { cause: err });
  }
  // The leader is unreachable or failed: from the caller's view, no usable leader.
  return new NotLeaderError(0, { cause: err });
}

/**
 * {@link RaftTransport} over gRPC.
 *
 * @example
 * const transport = await GrpcTransport.create({ id: 1, peers: new Map([[2, '10.0.0.2:2377']]) });
 * const node = await RaftNode.create({ id: 1, transport, ... });
 */
export class GrpcTransport implements RaftTransport {
  readonly #o: CompiledGrpcTransportOptions;
  readonly #server: grpc.Server;
  readonly #ownsServer: boolean;
  readonly #peers = new Map<RaftId, Peer>();
  #port = 0;
  #handler: TransportHandler | undefined;
  #closed = false;
  readonly #rejectLogged = new Set<string>();
  /** Aborted on close so inbound forwarded calls stop waiting. */
  readonly #closing = new AbortController();

  private constructor(o: CompiledGrpcTransportOptions, server: grpc.Server, owns: boolean) {
    this.#o = o;
    this.#server = server;
    this.#ownsServer = owns;
  }

  /** Registers the Raft service and, without a caller's server, binds `listen`. */
  static async create(options: GrpcTransportOptions): Promise<GrpcTransport> {
    const o = compileGrpcTransportOptions(options);
    const owns = o.server === undefined;
    const server =
      o.server ??
      new grpc.Server({
        'grpc.max_receive_message_length': o.maxMessageBytes,
        'grpc.max_send_message_length': o.maxMessageBytes,
      });
    const t = new GrpcTransport(o, server, owns);
    server.addService(pb.RaftService, t.#implementation());
    if (owns) t.#port = await bindAsync(server, o.listen, o.serverCredentials);
    for (const [id, addr] of o.peers) t.setPeer(id, addr);
    return t;
  }

  /** The port this transport's own server listens on (0 with a caller's server). */
  get port(): number {
    return this.#port;
  }

  start(handler: TransportHandler): void {
    this.#handler = handler;
  }

  /** Adds a peer or changes its address (the old stream is dropped). */
  setPeer(id: RaftId, addr: string): void {
    if (id === this.#o.id || this.#closed) return;
    const old = this.#peers.get(id);
    if (old?.addr === addr) return;
    if (old !== undefined) this.#closePeer(old);
    const client = new pb.RaftClient(addr, this.#o.channelCredentials, {
      // Peers restart often in tests and in rolling upgrades: retry connecting quickly.
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
      // A peer that vanishes without a reset (host down, partition) would leave the
      // stream open and silent forever; pings find the dead connection and break it.
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.max_send_message_length': this.#o.maxMessageBytes,
      'grpc.max_receive_message_length': this.#o.maxMessageBytes,
      ...this.#o.channelOptions,
    });
    const sender = new PeerSender({
      peer: id,
      client,
      capacity: this.#o.queueCapacity,
      logger: this.#o.logger,
      onUnreachable: (peer) => this.#handler?.onUnreachable(peer),
    });
    this.#peers.set(id, { addr, client, sender });
  }

  removePeer(id: RaftId): void {
    const p = this.#peers.get(id);
    if (p === undefined) return;
    this.#peers.delete(id);
    this.#closePeer(p);
  }

  send(messages: readonly Message[]): void {
    for (const m of messages) {
      const p = this.#peers.get(m.to);
      if (p === undefined) {
        this.#logOnce(
          `unknown peer ${m.to}`,
          { to: m.to, type: m.type },
          'raft message to unknown peer dropped',
        );
        continue;
      }
      p.sender.enqueue(m);
    }
  }

  forwardPropose(leader: RaftId, data: Uint8Array, options: ForwardOptions = {}): Promise<number> {
    return this.#unary(leader, options, (client, deadline, cb) =>
      client.propose(
        { data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) },
        new grpc.Metadata(),
        { deadline },
        (err, res) => cb(err, res?.index),
      ),
    );
  }

  forwardReadIndex(leader: RaftId, options: ForwardOptions = {}): Promise<number> {
    return this.#unary(leader, options, (client, deadline, cb) =>
      client.readIndex({}, new grpc.Metadata(), { deadline }, (err, res) => cb(err, res?.index)),
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort(new RaftStoppedError('transport closed'));
    for (const p of this.#peers.values()) this.#closePeer(p);
    this.#peers.clear();
    if (this.#ownsServer) {
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          this.#server.forceShutdown();
          resolve();
        }, 500);
        force.unref();
        this.#server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    } else {
      this.#server.removeService(pb.RaftService);
    }
  }

  #closePeer(p: Peer): void {
    p.sender.close();
    p.client.close();
  }

  #unary(
    leader: RaftId,
    options: ForwardOptions,
    call: (
      client: pb.RaftClient,
      deadline: Date,
      cb: (err: grpc.ServiceError | null, index: number | undefined) => void,
    ) => grpc.ClientUnaryCall,
  ): Promise<number> {
    const p = this.#peers.get(leader);
    if (p === undefined) return Promise.reject(new NotLeaderError(0));
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<number>((resolve, reject) => {
      const onAbort = () => c.cancel();
      const c = call(p.client, new Date(Date.now() + this.#o.forwardTimeoutMs), (err, index) => {
        signal?.removeEventListener('abort', onAbort);
        if (err === null) return resolve(index ?? 0);
        if (err.code === grpc.status.CANCELLED && signal?.aborted) return reject(signal.reason);
        reject(fromStatus(err, leader));
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #logOnce(reason: string, fields: Record<string, unknown>, msg: string): void {
    if (this.#rejectLogged.has(reason)) return;
    // Bounded: reasons are few kinds times few peers; clear rather than grow without end.
    if (this.#rejectLogged.size > 1000) this.#rejectLogged.clear();
    this.#rejectLogged.add(reason);
    this.#o.logger?.warn({ ...fields, reason }, msg);
  }

  /** Runs a forwarded request against the handler with a deadline, answering `{ index }`. */
  #serveForwarded(
    callback: grpc.sendUnaryData<{ index: number }>,
    run: (h: TransportHandler, signal: AbortSignal) => Promise<number>,
  ): void {
    const h = this.#handler;
    if (h === undefined) {
      callback(toStatus(new NotLeaderError(0)));
      return;
    }
    const signal = AbortSignal.any([
      this.#closing.signal,
      AbortSignal.timeout(this.#o.forwardTimeoutMs),
    ]);
    run(h, signal).then(
      (index) => callback(null, { index }),
      (err: unknown) => callback(toStatus(err)),
    );
  }

  #implementation(): pb.RaftServer {
    return {
      stream: (call, callback) => {
        call.on('data', (batch: pb.RaftBatch) => {
          const out: Message[] = [];
          for (const w of batch.messages) {
            try {
              const m = messageFromPb(w);
              if (m.to !== this.#o.id) {
                this.#logOnce(
                  `misaddressed ${m.to}`,
                  { to: m.to, from: m.from },
                  'raft message for another member dropped',
                );
                continue;
              }
              out.push(m);
            } catch (err) {
              this.#logOnce(
                (err as Error).message,
                { from: w.from },
                'undecodable raft message dropped',
              );
            }
          }
          if (out.length > 0) this.#handler?.onMessages(out);
        });
        call.on('error', () => {
          // The peer went away mid-stream; its sender reconnects, nothing to do here.
        });
        call.on('end', () => callback(null, {}));
      },
      propose: (call, callback) =>
        this.#serveForwarded(callback, (h, signal) => h.onPropose(call.request.data, signal)),
      readIndex: (_call, callback) =>
        this.#serveForwarded(callback, (h, signal) => h.onReadIndex(signal)),
    };
  }
}
