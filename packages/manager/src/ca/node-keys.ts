// The joining node's side of the PKI: its key and certificate request, and the check
// that the root CA a manager sent is the one the join token names (no trust on first
// use: the insecure first call is only trusted once this check passes).
import { ShoalError } from '@shoal/api';
import { generateP256KeyPair, privateKeyToPem } from './ec-keys.js';
import { type ParsedJoinToken, parseJoinToken, rootCaDigest } from './join-token.js';
import { ECDSA_P256_SHA256, loadX509 } from './x509-loader.js';

/** A node's private key and the request to certify it, both PEM. */
export interface NodeKeyAndCsr {
  /** SEC1 "EC PRIVATE KEY": stays on the node (swarm-node.key). */
  readonly keyPem: string;
  /** PKCS#10 request sent in `IssueNodeCertificate`. */
  readonly csrPem: string;
}

/**
 * A fresh ECDSA P-256 key and a certificate request for it. The request's subject is a
 * placeholder: the CA writes the node's identity itself.
 *
 * @example
 * const { keyPem, csrPem } = await createNodeKeyAndCsr();
 */
export async function createNodeKeyAndCsr(): Promise<NodeKeyAndCsr> {
  const x509 = await loadX509();
  const keys = await generateP256KeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    { name: [{ CN: ['swarm-node'] }], keys, signingAlgorithm: ECDSA_P256_SHA256 },
    globalThis.crypto,
  );
  const csrPem = csr.toString('pem');
  return {
    keyPem: await privateKeyToPem(keys.privateKey),
    csrPem: csrPem.endsWith('\n') ? csrPem : `${csrPem}\n`,
  };
}

/**
 * Checks that the root CA bundle a manager sent hashes to the digest in the join token.
 * The whole bundle is hashed, as served, so extra roots appended on the way are caught.
 *
 * @throws ShoalError `SHOAL_INVALID_ARGUMENT` when the token cannot be parsed.
 * @throws ShoalError `SHOAL_PERMISSION_DENIED` when the digests differ.
 * @example
 * verifyRootAgainstToken(response.certificate.toString(), token);
 */
export function verifyRootAgainstToken(rootCaPem: string, token: string | ParsedJoinToken): void {
  const want = typeof token === 'string' ? parseJoinToken(token).caDigestHex : token.caDigestHex;
  const got = rootCaDigest(rootCaPem);
  // The digest is public, so a plain comparison leaks nothing.
  if (got !== want) {
    throw new ShoalError(
      'SHOAL_PERMISSION_DENIED',
      `Join cluster: root CA sent by the manager does not match the join token: got digest "sha256:${got}", token has "sha256:${want}": check the token and the manager address`,
    );
  }
}
