import { createPrivateKey } from 'node:crypto';
import { ShoalError } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import { generateJoinToken, parseJoinToken, rootCaDigest } from './join-token.js';
import { createNodeKeyAndCsr, verifyRootAgainstToken } from './node-keys.js';
import { RootCA } from './root-ca.js';
import { fakeSecureRng, thrownBy } from './testing.js';
import { loadX509 } from './x509-loader.js';

function caught(fn: () => unknown): ShoalError {
  const error = thrownBy(fn);
  expect(error).toBeInstanceOf(ShoalError);
  return error as ShoalError;
}

describe('createNodeKeyAndCsr', () => {
  it('createNodeKeyAndCsr: makes a P-256 key and a CSR signed by it when called', async () => {
    const { keyPem, csrPem } = await createNodeKeyAndCsr();
    expect(keyPem).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);
    expect(createPrivateKey(keyPem).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const x509 = await loadX509();
    const csr = new x509.Pkcs10CertificateRequest(csrPem);
    expect(await csr.verify()).toBe(true);
    expect(csrPem).toMatch(
      /^-----BEGIN CERTIFICATE REQUEST-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE REQUEST-----\n$/,
    );
  });

  it('createNodeKeyAndCsr: makes a new key when called twice', async () => {
    const a = await createNodeKeyAndCsr();
    const b = await createNodeKeyAndCsr();
    expect(a.keyPem).not.toBe(b.keyPem);
  });
});

describe('verifyRootAgainstToken', () => {
  it("verifyRootAgainstToken: accepts the root when its digest is the token's", async () => {
    const ca = await RootCA.create();
    const token = generateJoinToken(ca.digest(), fakeSecureRng());
    expect(() => verifyRootAgainstToken(ca.certPem, token)).not.toThrow();
    expect(() => verifyRootAgainstToken(ca.certPem, parseJoinToken(token))).not.toThrow();
  });

  it('verifyRootAgainstToken: throws SHOAL_PERMISSION_DENIED when a root is appended to the bundle', async () => {
    const ca = await RootCA.create();
    const other = await RootCA.create();
    const token = generateJoinToken(ca.digest(), fakeSecureRng());
    const bundle = ca.certPem + other.certPem;
    const error = caught(() => verifyRootAgainstToken(bundle, token));
    expect(error.code).toBe('SHOAL_PERMISSION_DENIED');
    expect(error.message).toBe(
      `Join cluster: root CA sent by the manager does not match the join token: got digest "sha256:${rootCaDigest(bundle)}", token has "sha256:${ca.digest()}": check the token and the manager address`,
    );
  });

  it('verifyRootAgainstToken: throws SHOAL_INVALID_ARGUMENT when the token is malformed', async () => {
    const ca = await RootCA.create();
    const error = caught(() => verifyRootAgainstToken(ca.certPem, 'SWMTKN-1-abc-def'));
    expect(error.code).toBe('SHOAL_INVALID_ARGUMENT');
    expect(error.message).toBe('Parse join token: CA digest must be 50 characters: got 3');
  });
});
