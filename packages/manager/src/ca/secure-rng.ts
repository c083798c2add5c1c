import { randomBytes } from 'node:crypto';

/**
 * A source of random bytes for secrets, IDs and serial numbers. Production code uses
 * {@link CRYPTO_RNG}; tests pass a deterministic one to get stable tokens.
 *
 * @example
 * const fixed: SecureRng = { randomBytes: (n) => new Uint8Array(n).fill(7) };
 */
export interface SecureRng {
  /** `length` random bytes. */
  randomBytes(length: number): Uint8Array;
}

/** Node's CSPRNG (`crypto.randomBytes`). */
export const CRYPTO_RNG: SecureRng = { randomBytes: (length) => randomBytes(length) };
