// The base of every typed error in Shoal. Packages subclass it in their own errors.ts.
import type { ErrorCode } from './error-codes.js';

const SHOAL_ERROR_BRAND = Symbol.for('shoal.error');

/**
 * An error with a stable code from the catalog in error-codes.ts.
 *
 * @example
 * throw new ShoalError('SHOAL_NOT_FOUND', 'Inspect node: no such node: "w9"');
 */
export class ShoalError extends Error {
  override name = 'ShoalError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /**
   * `instanceof ShoalError` holds across two loaded copies of this package (STYLE 12);
   * subclasses keep the ordinary prototype check.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass instanceof was asked about
    if (this !== ShoalError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && SHOAL_ERROR_BRAND in value;
  }

  get [SHOAL_ERROR_BRAND](): true {
    return true;
  }
}
