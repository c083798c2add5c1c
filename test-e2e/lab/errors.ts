// The lab's error catalog. The lab is a test tool, not part of Shoal's API, so it keeps
// its own codes (SHOAL_LAB_…) instead of borrowing @shoal/api's: a lab failure must never
// be mistaken for a daemon's answer.

const LAB_ERROR_BRAND = Symbol.for('shoal.lab.error');

/** Codes of lab failures the user can fix (a bad flag, an unknown node, no lab). */
export const LAB_USER_ERROR_CODES = [
  'SHOAL_LAB_INVALID_ARGUMENT',
  'SHOAL_LAB_UNKNOWN_NODE',
  'SHOAL_LAB_NOT_RUNNING',
  'SHOAL_LAB_MISSING_BINARY',
  'SHOAL_LAB_NOT_ROOT',
] as const;

/** Codes of lab failures outside the user's control (a command failed, a daemon never came up). */
export const LAB_SYSTEM_ERROR_CODES = [
  'SHOAL_LAB_COMMAND_FAILED',
  'SHOAL_LAB_DAEMON_NOT_READY',
  'SHOAL_LAB_KILL_FAILED',
  'SHOAL_LAB_TEARDOWN_INCOMPLETE',
] as const;

/** Every stable code a {@link LabError} can carry. */
export type LabErrorCode =
  | (typeof LAB_USER_ERROR_CODES)[number]
  | (typeof LAB_SYSTEM_ERROR_CODES)[number];

/**
 * A lab failure with a stable code. `node` names the lab node concerned, when there is one.
 *
 * @example
 * throw new LabError('SHOAL_LAB_UNKNOWN_NODE', 'Kill node: no such node: "w9"', { node: 'w9' });
 */
export class LabError extends Error {
  override name = 'LabError';
  readonly code: LabErrorCode;
  readonly node: string | undefined;

  constructor(
    code: LabErrorCode,
    message: string,
    options: { cause?: unknown; node?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.node = options.node;
  }

  /** Holds across two loaded copies of the lab (vitest may load both src and dist). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && LAB_ERROR_BRAND in value;
  }

  get [LAB_ERROR_BRAND](): true {
    return true;
  }
}
