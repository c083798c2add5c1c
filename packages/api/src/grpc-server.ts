// Adapting promise-returning handlers to grpc-js's callback API (STYLE 38), with the
// typed-error edge applied to every failure.
import type { ServerUnaryCall, sendUnaryData, UntypedHandleCall } from '@grpc/grpc-js';
import { ShoalError } from './errors.js';
import { toServiceError } from './grpc-errors.js';

/** A unary handler written as an async function of the request (and the call). */
export type AsyncUnary<Req, Res> = (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>;

/**
 * Wraps `handler` for grpc-js. Failures that are not ShoalErrors are reported to
 * `onUnexpected` (to log them) and sent as INTERNAL.
 *
 * @example
 * server.addService(pb.LocalService, { info: unary(async () => info()) });
 */
export function unary<Req, Res>(
  handler: AsyncUnary<Req, Res>,
  onUnexpected?: (error: unknown) => void,
): UntypedHandleCall {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    // A handler that throws before returning its promise is answered like a rejection.
    new Promise<Res>((resolve) => resolve(handler(call.request, call))).then(
      (response) => callback(null, response),
      (error: unknown) => {
        if (!(error instanceof ShoalError)) onUnexpected?.(error);
        callback(toServiceError(error));
      },
    );
  };
}
