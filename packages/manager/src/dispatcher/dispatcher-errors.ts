// The dispatcher's refusals, as typed errors and as what grpc-js sends. A refusal by a
// manager that is not the leader carries the leader's address in a trailer, so an
// agent picks its next manager from data, not from message text (STYLE 11).
import type * as grpc from '@grpc/grpc-js';
import { ShoalError, toServiceError } from '@shoal/api';

/**
 * Trailer naming the leader's address on an UNAVAILABLE answer from a non-leader.
 * The agent reads the same name (packages/agent/src/session/manager-rotation.ts).
 */
export const LEADER_ADDR_TRAILER = 'shoal-leader-addr';

/**
 * A manager that is not the leader refuses dispatcher calls.
 *
 * @example
 * throw new NotLeaderDispatchError('Open session', '10.0.0.1:2377');
 * // UNAVAILABLE: Open session: this manager is not the leader: try the leader at "10.0.0.1:2377"
 */
export class NotLeaderDispatchError extends ShoalError {
  override name = 'NotLeaderDispatchError';
  /** The leader's address when this manager knows it. */
  readonly leaderAddr: string | undefined;

  constructor(action: string, leaderAddr: string | undefined) {
    super(
      'SHOAL_UNAVAILABLE',
      leaderAddr
        ? `${action}: this manager is not the leader: try the leader at "${leaderAddr}"`
        : `${action}: this manager is not the leader and knows no leader yet: try another manager`,
    );
    this.leaderAddr = leaderAddr;
  }
}

/** A caller without a node certificate, or a node no longer in the cluster. */
export function permissionDenied(action: string, detail: string): ShoalError {
  return new ShoalError('SHOAL_PERMISSION_DENIED', `${action}: ${detail}`);
}

/** A session ID that is not the node's current session. */
export function staleSession(action: string, sessionId: string, nodeId: string): ShoalError {
  return new ShoalError(
    'SHOAL_NOT_FOUND',
    `${action}: session "${sessionId}" is not the current session of node "${nodeId}": open a new session`,
  );
}

/** `error` as grpc-js sends it, with the leader trailer for {@link NotLeaderDispatchError}. */
export function toDispatchStatus(error: unknown): Partial<grpc.ServiceError> {
  const status = toServiceError(error);
  if (error instanceof NotLeaderDispatchError && error.leaderAddr) {
    status.metadata?.set(LEADER_ADDR_TRAILER, error.leaderAddr);
  }
  return status;
}

/**
 * Ends a server stream: with OK, or with `error` as its status (grpc-js sends the
 * status of an 'error' event emitted on the call, after the messages already queued).
 */
export function endStream(
  call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
  error?: unknown,
): void {
  if (call.cancelled || call.writableEnded) return;
  if (error === undefined) call.end();
  else call.emit('error', toDispatchStatus(error));
}
