// The one catalog of Shoal's stable error codes. User codes describe something the
// caller can fix (a bad flag, a missing object); system codes describe something the
// caller cannot (a daemon down, a broken disk). Codes are part of the API: never
// renumber or reuse one.
import { status } from '@grpc/grpc-js';

/** Codes of failures the user can fix, with the gRPC status each maps to. */
export const USER_ERROR_CODES = {
  SHOAL_INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  SHOAL_NOT_FOUND: status.NOT_FOUND,
  SHOAL_ALREADY_EXISTS: status.ALREADY_EXISTS,
  SHOAL_FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  SHOAL_PERMISSION_DENIED: status.PERMISSION_DENIED,
  SHOAL_NOT_IMPLEMENTED: status.UNIMPLEMENTED,
} as const;

/** Codes of failures outside the user's control. */
export const SYSTEM_ERROR_CODES = {
  SHOAL_INTERNAL: status.INTERNAL,
  SHOAL_UNAVAILABLE: status.UNAVAILABLE,
  SHOAL_DAEMON_UNREACHABLE: status.UNAVAILABLE,
  SHOAL_DEADLINE_EXCEEDED: status.DEADLINE_EXCEEDED,
  SHOAL_ABORTED: status.ABORTED,
} as const;

export type UserErrorCode = keyof typeof USER_ERROR_CODES;
export type SystemErrorCode = keyof typeof SYSTEM_ERROR_CODES;
export type ErrorCode = UserErrorCode | SystemErrorCode;

const ALL_CODES: Readonly<Record<ErrorCode, status>> = {
  ...USER_ERROR_CODES,
  ...SYSTEM_ERROR_CODES,
};

/** Whether `code` is one of the catalog's codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ALL_CODES, code);
}

/** Whether the user can fix a failure with this code. */
export function isUserErrorCode(code: ErrorCode): code is UserErrorCode {
  return Object.hasOwn(USER_ERROR_CODES, code);
}

/** The gRPC status a code travels as. */
export function grpcStatusOf(code: ErrorCode): status {
  return ALL_CODES[code];
}
