// Swarm's random identifiers (node IDs, cluster IDs, join token secrets): 128 bits from
// a CSPRNG written in base 36 and left-padded to 25 characters, 25 being the length of
// 2^128 - 1 in base 36 (swarmkit identity/randomid.go).
import type { SecureRng } from './secure-rng.js';

/** Bytes of entropy in a random ID: 128 bits. */
export const RANDOM_ID_BYTES = 16;

/** Characters of a random ID: 2^128 - 1 written in base 36 is 25 characters long. */
export const RANDOM_ID_LENGTH = 25;

/**
 * A new 25-character base-36 random ID (node ID, cluster ID, token secret).
 *
 * @example
 * generateRandomId(CRYPTO_RNG); // 'dw02poa4vqvzxi5c10gm4pq2g'
 */
export function generateRandomId(rng: SecureRng): string {
  return toBase36(rng.randomBytes(RANDOM_ID_BYTES), RANDOM_ID_LENGTH);
}

/**
 * `bytes` read as a big-endian unsigned integer, in base 36, left-padded with zeros to
 * `width` characters.
 *
 * @internal
 */
export function toBase36(bytes: Uint8Array, width: number): string {
  const hex = Buffer.from(bytes).toString('hex');
  const value = hex === '' ? 0n : BigInt(`0x${hex}`);
  return value.toString(36).padStart(width, '0');
}
