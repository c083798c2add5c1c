// The one place that says which failures are worth retrying on another manager or
// after a pause (STYLE 11): decided by status code, never by message text.
import { status } from '@grpc/grpc-js';

/** gRPC statuses after which the same call may be tried again. */
export const RETRYABLE_STATUS_CODES: ReadonlySet<status> = new Set([
  status.UNAVAILABLE,
  status.RESOURCE_EXHAUSTED,
  status.ABORTED,
]);

/** Whether a call that failed with `code` may be retried. */
export function isRetryableStatus(code: status): boolean {
  return RETRYABLE_STATUS_CODES.has(code);
}
