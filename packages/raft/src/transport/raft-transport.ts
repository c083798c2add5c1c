// The seam between the Raft driver and the network. GrpcTransport implements it over
// gRPC; tests can implement it in memory and drive it step by step.
import type { Message, RaftId } from '../core/types.js';

/** What a transport delivers to the node that owns it. */
export interface TransportHandler {
  /** Messages arrived from peers, in the order each peer sent them. */
  onMessages(messages: readonly Message[]): void;
  /** Messages for `peer` were dropped (queue full, stream broken): tell the core. */
  onUnreachable(peer: RaftId): void;
  /**
   * A follower forwarded a client proposal (`data` is already wrapped by the follower's
   * driver); resolves with the index it was appended at.
   */
  onPropose(data: Uint8Array, signal: AbortSignal): Promise<number>;
  /** A follower asks for a read index (thesis §6.4); resolves with the leader's commit. */
  onReadIndex(signal: AbortSignal): Promise<number>;
}

/** Per-call options of the forwarding RPCs. */
export interface ForwardOptions {
  readonly signal?: AbortSignal | undefined;
}

/**
 * Moves Raft messages between members. `send` never blocks and never throws for a
 * slow or absent peer: Raft tolerates loss, so the transport drops and reports
 * `onUnreachable` instead.
 */
export interface RaftTransport {
  /** Starts delivering inbound traffic to `handler`; called once by the node. */
  start(handler: TransportHandler): void;
  /** Queues messages to their `to` members; messages to one peer keep their order. */
  send(messages: readonly Message[]): void;
  /** Forwards a wrapped proposal to `leader`; resolves with its log index. */
  forwardPropose(leader: RaftId, data: Uint8Array, options?: ForwardOptions): Promise<number>;
  /** Asks `leader` for a read index. */
  forwardReadIndex(leader: RaftId, options?: ForwardOptions): Promise<number>;
  /** Stops sending and receiving; safe to call twice. */
  close(): Promise<void>;
}
