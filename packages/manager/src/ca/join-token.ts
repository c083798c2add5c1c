// Join tokens in Docker's v1 format, `SWMTKN-1-<digest>-<secret>` (swarmkit
// ca/config.go GenerateJoinToken / ParseJoinToken). The digest is the SHA-256 of the
// root CA bundle exactly as served, as a base-36 number padded to 50 characters
// (ceil(log36(2^256)) = 50); the secret is a 25-character random ID. Only v1 is read:
// v2 exists for FIPS clusters, which Shoal does not have.
import { createHash, timingSafeEqual } from 'node:crypto';
import { ShoalError } from '@shoal/api';
import type { NodeRoleName } from './node-identity.js';
import { generateRandomId, RANDOM_ID_LENGTH } from './random-id.js';
import type { SecureRng } from './secure-rng.js';

/** First field of every join token. */
export const JOIN_TOKEN_PREFIX = 'SWMTKN';

/** Characters of the base-36 CA digest in a join token. */
export const JOIN_TOKEN_DIGEST_LENGTH = 50;

/** Characters of the base-36 secret in a join token. */
export const JOIN_TOKEN_SECRET_LENGTH = RANDOM_ID_LENGTH;

/** A join token taken apart by {@link parseJoinToken}. */
export interface ParsedJoinToken {
  readonly version: 1;
  /** SHA-256 of the root CA bundle, 64 lowercase hex characters. */
  readonly caDigestHex: string;
  /** The 25-character base-36 secret. */
  readonly secret: string;
}

/** The cluster's two join tokens; they share the digest and differ in the secret. */
export interface JoinTokens {
  readonly worker: string;
  readonly manager: string;
}

const BASE36 = /^[0-9a-z]*$/;
const HEX_SHA256 = /^[0-9a-f]{64}$/;

/**
 * SHA-256 of a root CA bundle exactly as served (PEM bytes, UTF-8), in hex: the value a
 * join token's digest carries. Hashing the whole bundle, not one certificate, stops a
 * man in the middle from appending roots of its own.
 *
 * @example
 * rootCaDigest(rootCa.certPem); // 'e3b0c442…'
 */
export function rootCaDigest(bundlePem: string): string {
  return createHash('sha256').update(bundlePem, 'utf8').digest('hex');
}

/**
 * A new join token for the root CA whose digest is `caDigestHex`. Rotating a token is
 * generating a new one with the same digest.
 *
 * @example
 * generateJoinToken(rootCa.digest(), CRYPTO_RNG);
 * // 'SWMTKN-1-49nj1cmql0jkz5s954yi3oex3nedyz0fb0xx14ie39trti4wxv-8vxv8rssmk743ojnwacrr2d7c'
 */
export function generateJoinToken(caDigestHex: string, rng: SecureRng): string {
  if (!HEX_SHA256.test(caDigestHex)) {
    throw new RangeError(
      `Generate join token: CA digest must be 64 lowercase hex characters: got "${caDigestHex}"`,
    );
  }
  const digest = BigInt(`0x${caDigestHex}`).toString(36).padStart(JOIN_TOKEN_DIGEST_LENGTH, '0');
  return `${JOIN_TOKEN_PREFIX}-1-${digest}-${generateRandomId(rng)}`;
}

/**
 * A worker token and a manager token for the same root CA.
 *
 * @example
 * const tokens = generateJoinTokens(rootCa.digest(), CRYPTO_RNG);
 */
export function generateJoinTokens(caDigestHex: string, rng: SecureRng): JoinTokens {
  return {
    worker: generateJoinToken(caDigestHex, rng),
    manager: generateJoinToken(caDigestHex, rng),
  };
}

/**
 * Takes a join token apart, with Docker's rules: first field `SWMTKN`, version `1`, four
 * dash-separated fields, a 50-character digest and a 25-character secret, both base 36.
 * Messages never echo the secret.
 *
 * @throws ShoalError `SHOAL_INVALID_ARGUMENT` naming the first rule the text breaks.
 * @example
 * parseJoinToken(token).caDigestHex; // 'e3b0c442…'
 */
export function parseJoinToken(text: string): ParsedJoinToken {
  const fields = text.split('-');
  const [prefix, version, digest, secret] = fields;
  // The first field is not shown: text without dashes may be a bare secret.
  if (prefix !== JOIN_TOKEN_PREFIX) {
    throw invalidToken(
      `want "SWMTKN-1-<digest>-<secret>": the token does not start with "SWMTKN-"`,
    );
  }
  if (version !== '1') {
    throw invalidToken(`unsupported version ${quoteOrMissing(version)}: want "1"`);
  }
  if (fields.length !== 4 || digest === undefined || secret === undefined) {
    throw invalidToken(
      `want 4 dash-separated fields "SWMTKN-1-<digest>-<secret>": got ${fields.length}`,
    );
  }
  if (digest.length !== JOIN_TOKEN_DIGEST_LENGTH) {
    throw invalidToken(
      `CA digest must be ${JOIN_TOKEN_DIGEST_LENGTH} characters: got ${digest.length}`,
    );
  }
  if (!BASE36.test(digest)) {
    throw invalidToken(`CA digest must be base 36 (0-9, a-z): got "${digest}"`);
  }
  if (secret.length !== JOIN_TOKEN_SECRET_LENGTH) {
    throw invalidToken(
      `secret must be ${JOIN_TOKEN_SECRET_LENGTH} characters: got ${secret.length}`,
    );
  }
  if (!BASE36.test(secret)) {
    throw invalidToken('secret must be base 36 (0-9, a-z)');
  }
  const hex = base36ToBigInt(digest).toString(16);
  if (hex.length > 64) {
    throw invalidToken(`CA digest is larger than a SHA-256 digest: got "${digest}"`);
  }
  return { version: 1, caDigestHex: hex.padStart(64, '0'), secret };
}

/**
 * Whether a presented token equals a stored one, in time that does not depend on where
 * they differ: both sides are hashed first so that `timingSafeEqual` always compares
 * 32 bytes, whatever the lengths.
 *
 * @example
 * tokenMatches(request.token, cluster.joinTokens.worker); // true or false
 */
export function tokenMatches(presented: string, stored: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(stored, 'utf8').digest();
  // An empty stored token must never match: a cluster without tokens admits no one.
  return timingSafeEqual(a, b) && stored !== '';
}

/**
 * The role a presented token grants, comparing it with both stored tokens (always both,
 * so timing tells nothing about which one matched), or `undefined` if neither matches.
 *
 * @example
 * roleOfJoinToken(request.token, cluster.joinTokens); // 'worker' | 'manager' | undefined
 */
export function roleOfJoinToken(presented: string, tokens: JoinTokens): NodeRoleName | undefined {
  const isWorker = tokenMatches(presented, tokens.worker);
  const isManager = tokenMatches(presented, tokens.manager);
  if (isManager) return 'manager';
  if (isWorker) return 'worker';
  return undefined;
}

/**
 * The role a join request's token grants, for `IssueNodeCertificate`: the token decides
 * the role, not what the request asks for (as in swarmkit).
 *
 * @throws ShoalError `SHOAL_PERMISSION_DENIED` when the token matches neither stored
 *   token (the message never shows it).
 * @example
 * const role = requireJoinToken(request.token, cluster.joinTokens);
 */
export function requireJoinToken(presented: string, tokens: JoinTokens): NodeRoleName {
  const role = roleOfJoinToken(presented, tokens);
  if (role === undefined) {
    throw new ShoalError(
      'SHOAL_PERMISSION_DENIED',
      'Join cluster: the join token is not valid for this cluster: get a current one with "shoal swarm join-token worker|manager" on a manager',
    );
  }
  return role;
}

function base36ToBigInt(digits: string): bigint {
  let value = 0n;
  for (const digit of digits) value = value * 36n + BigInt(Number.parseInt(digit, 36));
  return value;
}

function quoteOrMissing(value: string | undefined): string {
  return value === undefined ? '(missing)' : `"${value}"`;
}

function invalidToken(detail: string): ShoalError {
  return new ShoalError('SHOAL_INVALID_ARGUMENT', `Parse join token: ${detail}`);
}
