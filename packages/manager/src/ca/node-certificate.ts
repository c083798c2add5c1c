// Reading and checking node certificates, and when to renew them. Uses Node's own X.509
// parser so that these checks stay synchronous (they run inside TLS callbacks and per
// RPC); only signing needs @peculiar/x509.
import { X509Certificate } from 'node:crypto';
import { ShoalError } from '@shoal/api';
import type { Rng } from '@shoal/raft';
import { identityFromSubject, type NodeIdentity, type SubjectFields } from './node-identity.js';

/** Renewal happens at a random point between these fractions of a certificate's life. */
export const RENEWAL_WINDOW = { from: 0.5, to: 0.8 } as const;

/** What a node certificate says. */
export interface NodeCertificateInfo extends NodeIdentity {
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Serial number, lowercase hex. */
  readonly serial: string;
}

/** Options of {@link verifyNodeCertificate}. */
export interface VerifyNodeCertificateOptions {
  /** The cluster's root CA certificate, PEM. */
  rootCaPem: string;
  /** Milliseconds since the epoch. */
  now: number;
}

/** Options of {@link renewalDelayMs}. */
export interface RenewalDelayOptions {
  /** Milliseconds since the epoch. */
  now: number;
  rng: Rng;
}

/**
 * Reads a node certificate: identity from the subject (`O=<cluster>, OU=<role>,
 * CN=<node>`), validity and serial. Checks the shape only, not who signed it.
 *
 * @throws ShoalError `SHOAL_INVALID_ARGUMENT` when the text is not a certificate, is a
 *   CA certificate, or its subject is not a node's.
 * @example
 * parseNodeCertificate(certPem).role; // 'worker'
 */
export function parseNodeCertificate(pem: string): NodeCertificateInfo {
  return infoOf(readCertificate(pem, 'Read node certificate'));
}

/**
 * Node's parse of a PEM certificate.
 *
 * @throws ShoalError `SHOAL_INVALID_ARGUMENT` when the text is not one.
 * @internal
 */
export function readCertificate(pem: string, action: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new ShoalError(
      'SHOAL_INVALID_ARGUMENT',
      `${action}: not a PEM X.509 certificate: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * Checks that a node certificate was signed by the cluster's root and is valid at `now`,
 * and returns what it says.
 *
 * @throws ShoalError `SHOAL_INVALID_ARGUMENT` as {@link parseNodeCertificate}.
 * @throws ShoalError `SHOAL_PERMISSION_DENIED` when another CA signed it or `now` is
 *   outside its validity.
 * @example
 * verifyNodeCertificate(certPem, { rootCaPem, now: clock.now() });
 */
export function verifyNodeCertificate(
  pem: string,
  options: VerifyNodeCertificateOptions,
): NodeCertificateInfo {
  const info = parseNodeCertificate(pem);
  const cert = new X509Certificate(pem);
  const root = new X509Certificate(options.rootCaPem);
  const action = `Verify certificate of node "${info.nodeId}"`;
  if (!cert.checkIssued(root) || !cert.verify(root.publicKey)) {
    throw new ShoalError(
      'SHOAL_PERMISSION_DENIED',
      `${action}: not signed by the cluster's root CA: issuer "${cert.issuer}"`,
    );
  }
  if (options.now < info.notBefore.getTime()) {
    throw new ShoalError(
      'SHOAL_PERMISSION_DENIED',
      `${action}: not valid before "${info.notBefore.toISOString()}": now is "${new Date(options.now).toISOString()}"`,
    );
  }
  if (options.now > info.notAfter.getTime()) {
    throw new ShoalError(
      'SHOAL_PERMISSION_DENIED',
      `${action}: expired at "${info.notAfter.toISOString()}": now is "${new Date(options.now).toISOString()}"`,
    );
  }
  return info;
}

/**
 * How long to wait before renewing a certificate: a random point between 50% and 80% of
 * its life, counted from NotBefore, minus the time already gone; never negative. The
 * randomness spreads renewals so a cluster's nodes do not all renew at once
 * (swarmkit ca/config.go calculateRandomExpiry).
 *
 * @example
 * setTimeout(renew, renewalDelayMs(parseNodeCertificate(pem), { now: clock.now(), rng }));
 */
export function renewalDelayMs(
  validity: { readonly notBefore: Date; readonly notAfter: Date },
  options: RenewalDelayOptions,
): number {
  const start = validity.notBefore.getTime();
  const lifeMs = validity.notAfter.getTime() - start;
  const fromMs = Math.floor(lifeMs * RENEWAL_WINDOW.from);
  const toMs = Math.floor(lifeMs * RENEWAL_WINDOW.to);
  const pointMs = toMs - fromMs < 1 ? fromMs : fromMs + options.rng.int(toMs - fromMs);
  return Math.max(0, start + pointMs - options.now);
}

function infoOf(cert: X509Certificate): NodeCertificateInfo {
  if (cert.ca) {
    throw new ShoalError(
      'SHOAL_INVALID_ARGUMENT',
      `Read node certificate: it is a CA certificate: subject "${cert.subject.replaceAll('\n', ', ')}"`,
    );
  }
  const identity = identityFromSubject(subjectFields(cert.subject));
  return {
    ...identity,
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    serial: cert.serialNumber.toLowerCase(),
  };
}

/**
 * Node's one-line-per-attribute subject text as fields; a repeated attribute becomes an
 * array, as in `tls.PeerCertificate`.
 */
function subjectFields(subject: string): SubjectFields {
  const fields: Record<string, string | string[]> = {};
  for (const line of subject.split('\n')) {
    if (line === '') continue;
    const at = line.indexOf('=');
    const key = at < 0 ? line : line.slice(0, at);
    const value = at < 0 ? '' : line.slice(at + 1);
    const seen = fields[key];
    if (seen === undefined) fields[key] = value;
    else fields[key] = [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return fields;
}
