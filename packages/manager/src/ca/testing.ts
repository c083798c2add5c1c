// Fixtures shared by the CA tests: a fixed clock, deterministic randomness and ready-made
// certificates. Not exported from the package.

import type { NodeRoleName } from './node-identity.js';
import { createNodeKeyAndCsr } from './node-keys.js';
import type { RootCA } from './root-ca.js';
import type { SecureRng } from './secure-rng.js';
import type { WallClock } from './wall-clock.js';

/** 2026-01-01T00:00:00Z. @internal */
export const T0 = Date.parse('2026-01-01T00:00:00Z');

/** A clock that stays at `now` until moved. @internal */
export function fixedClock(now = T0): WallClock & { set(ms: number): void } {
  let current = now;
  return { now: () => current, set: (ms) => (current = ms) };
}

/** Bytes `fill`, or a counting sequence from `start` when no fill is given. @internal */
export function fakeSecureRng(options: { fill?: number; start?: number } = {}): SecureRng {
  let next = options.start ?? 0;
  return {
    randomBytes: (length) =>
      options.fill === undefined
        ? Uint8Array.from({ length }, () => next++ & 0xff)
        : new Uint8Array(length).fill(options.fill),
  };
}

/** A node key and a certificate for it, issued by `ca`. @internal */
export async function issueTestNode(
  ca: RootCA,
  identity: { nodeId: string; role: NodeRoleName; clusterId: string },
  options: { now?: number; validityMs?: number } = {},
): Promise<{ certPem: string; keyPem: string }> {
  const { keyPem, csrPem } = await createNodeKeyAndCsr();
  const certPem = await ca.issueNodeCertificate({ csrPem, ...identity, ...options });
  return { certPem, keyPem };
}

/** What `fn` throws, or `undefined` when it returns. @internal */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** What `promise` rejects with, or `undefined` when it resolves. @internal */
export function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}
