// The gRPC edge of typed errors (STYLE 10): a ShoalError travels as its status code
// plus a `shoal-error-code` trailer, and the client rebuilds the same typed error with
// the ServiceError as its cause. Anything else becomes INTERNAL.
import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { type ErrorCode, grpcStatusOf, isErrorCode } from './error-codes.js';
import { ShoalError } from './errors.js';

/** The trailer that carries a ShoalError's code. */
export const ERROR_CODE_TRAILER = 'shoal-error-code';

/** A server-side error for a grpc-js callback or `call.emit('error')`. */
export function toServiceError(error: unknown): Partial<ServiceError> {
  const metadata = new Metadata();
  if (error instanceof ShoalError) {
    metadata.set(ERROR_CODE_TRAILER, error.code);
    return { code: grpcStatusOf(error.code), details: error.message, metadata };
  }
  const message = error instanceof Error ? error.message : String(error);
  metadata.set(ERROR_CODE_TRAILER, 'SHOAL_INTERNAL');
  return { code: status.INTERNAL, details: `Internal error: ${message}`, metadata };
}

const STATUS_FALLBACK: Partial<Record<status, ErrorCode>> = {
  [status.UNAVAILABLE]: 'SHOAL_UNAVAILABLE',
  [status.DEADLINE_EXCEEDED]: 'SHOAL_DEADLINE_EXCEEDED',
  [status.PERMISSION_DENIED]: 'SHOAL_PERMISSION_DENIED',
  [status.UNAUTHENTICATED]: 'SHOAL_PERMISSION_DENIED',
  [status.NOT_FOUND]: 'SHOAL_NOT_FOUND',
  [status.INVALID_ARGUMENT]: 'SHOAL_INVALID_ARGUMENT',
  [status.UNIMPLEMENTED]: 'SHOAL_NOT_IMPLEMENTED',
  [status.ABORTED]: 'SHOAL_ABORTED',
};

/** Rebuilds the typed error a server sent; `cause` keeps the raw ServiceError. */
export function fromServiceError(error: ServiceError): ShoalError {
  const trailer = error.metadata?.get(ERROR_CODE_TRAILER)[0];
  const code: ErrorCode = isErrorCode(trailer)
    ? trailer
    : (STATUS_FALLBACK[error.code] ?? 'SHOAL_INTERNAL');
  return new ShoalError(code, error.details || error.message, { cause: error });
}

/** Whether a grpc-js error is a ServiceError (has a numeric status code). */
export function isServiceError(error: unknown): error is ServiceError {
  return (
    error instanceof Error &&
    typeof (error as Partial<ServiceError>).code === 'number' &&
    'details' in error
  );
}
