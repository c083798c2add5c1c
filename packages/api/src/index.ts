// @shoal/api: the generated API (as the `pb` namespace), typed errors and their gRPC edge.

export {
  type ErrorCode,
  grpcStatusOf,
  isErrorCode,
  isUserErrorCode,
  SYSTEM_ERROR_CODES,
  type SystemErrorCode,
  USER_ERROR_CODES,
  type UserErrorCode,
} from './error-codes.js';
export { ShoalError } from './errors.js';
export {
  ERROR_CODE_TRAILER,
  fromServiceError,
  isServiceError,
  toServiceError,
} from './grpc-errors.js';
export { type AsyncUnary, unary } from './grpc-server.js';
export * as pb from './pb.js';
export { isRetryableStatus, RETRYABLE_STATUS_CODES } from './retry.js';
export {
  CONSTRAINT_KEYS,
  CONSTRAINT_LABEL_PREFIXES,
  type Constraint,
  type ConstraintOperator,
  parseConstraint,
  parsePlacementPreference,
} from './spec/constraint.js';
export { durationFromMs, durationToMs, formatDuration } from './spec/duration.js';
export { parseMount } from './spec/mount.js';
export {
  SERVICE_DEFAULTS,
  type ValidateServiceSpecOptions,
  validateServiceSpec,
  withUpdateDefaults,
} from './spec/service-spec.js';
