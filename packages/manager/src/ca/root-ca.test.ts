import { type webcrypto, X509Certificate } from 'node:crypto';
import { ShoalError } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import { rootCaDigest } from './join-token.js';
import { createNodeKeyAndCsr } from './node-keys.js';
import {
  CERT_BACKDATE_MS,
  NODE_CERT_VALIDITY_DEFAULT_MS,
  ROOT_CA_VALIDITY_MS,
  RootCA,
} from './root-ca.js';
import { fakeSecureRng, fixedClock, issueTestNode, rejectionOf, T0 } from './testing.js';
import { loadX509 } from './x509-loader.js';

const HOUR_MS = 3_600_000;
const NODE = { nodeId: 'n1', role: 'worker', clusterId: 'c1' } as const;

async function csrWith(
  algorithm: webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams,
  signing: object,
  name = 'CN=swarm-node',
): Promise<string> {
  const x509 = await loadX509();
  const keys = (await globalThis.crypto.subtle.generateKey(algorithm, false, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name,
    keys,
    signingAlgorithm: signing as webcrypto.Algorithm,
  });
  return csr.toString('pem');
}

async function caughtError(promise: Promise<unknown>): Promise<ShoalError> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(ShoalError);
  return error as ShoalError;
}

describe('RootCA.create', () => {
  it('RootCA: creates a self-signed P-256 CA named swarm-ca when created with a clock', async () => {
    const ca = await RootCA.create({ clock: fixedClock(), rng: fakeSecureRng({ fill: 0xab }) });
    const cert = new X509Certificate(ca.certPem);
    expect(cert.subject).toBe('CN=swarm-ca');
    expect(cert.issuer).toBe('CN=swarm-ca');
    expect(cert.ca).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(Date.parse(cert.validFrom)).toBe(T0 - CERT_BACKDATE_MS);
    expect(Date.parse(cert.validTo)).toBe(T0 + ROOT_CA_VALIDITY_MS);
    expect(ca.notAfter.getTime()).toBe(T0 + ROOT_CA_VALIDITY_MS);
    // 20 bytes of 0xab with the sign bit cleared.
    expect(cert.serialNumber.toLowerCase()).toBe(`2b${'ab'.repeat(19)}`);
    expect(ca.certPem.endsWith('-----END CERTIFICATE-----\n')).toBe(true);
    expect(ca.toPem().keyPem).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);
  });

  it('RootCA: digest is the SHA-256 of the served PEM when asked', async () => {
    const ca = await RootCA.create({ clock: fixedClock() });
    expect(ca.digest()).toBe(rootCaDigest(ca.certPem));
    expect(ca.digest()).toMatch(/^[0-9a-f]{64}$/);
  });

  it('RootCA: throws RangeError when validityMs is not positive', async () => {
    await expect(RootCA.create({ validityMs: 0 })).rejects.toThrow(
      new RangeError('Create root CA: validityMs must be a positive integer: got 0'),
    );
  });
});

describe('RootCA.fromPem', () => {
  it('RootCA: loads the same root with the same digest when round-tripped through PEM', async () => {
    const ca = await RootCA.create({ clock: fixedClock() });
    const { certPem, keyPem } = ca.toPem();
    const loaded = await RootCA.fromPem(certPem, keyPem, { clock: fixedClock() });
    expect(loaded.digest()).toBe(ca.digest());
    const { certPem: nodePem } = await issueTestNode(loaded, NODE);
    expect(new X509Certificate(nodePem).verify(new X509Certificate(certPem).publicKey)).toBe(true);
  });

  it("RootCA: refuses a key that is not the certificate's when loading", async () => {
    const a = await RootCA.create();
    const b = await RootCA.create();
    const error = await caughtError(RootCA.fromPem(a.certPem, b.toPem().keyPem));
    expect(error.code).toBe('SHOAL_INVALID_ARGUMENT');
    expect(error.message).toBe(
      'Load root CA: private key does not belong to the certificate: subject "CN=swarm-ca"',
    );
  });

  it('RootCA: refuses a certificate that is not a CA when loading', async () => {
    const ca = await RootCA.create();
    const node = await issueTestNode(ca, NODE);
    const error = await caughtError(RootCA.fromPem(node.certPem, node.keyPem));
    expect(error.code).toBe('SHOAL_INVALID_ARGUMENT');
    expect(error.message).toBe(
      'Load root CA: certificate is not a CA certificate: subject "O=c1\nOU=swarm-worker\nCN=n1"',
    );
  });

  it('RootCA: refuses text that is not a certificate when loading', async () => {
    const ca = await RootCA.create();
    const error = await caughtError(RootCA.fromPem('nope', ca.toPem().keyPem));
    expect(error.code).toBe('SHOAL_INVALID_ARGUMENT');
    expect(error.message).toMatch(/^Load root CA: not a PEM X\.509 certificate: /);
  });

  it('RootCA: refuses a key that is not PEM when loading', async () => {
    const ca = await RootCA.create();
    const error = await caughtError(RootCA.fromPem(ca.certPem, 'nope'));
    expect(error.code).toBe('SHOAL_INVALID_ARGUMENT');
    expect(error.message).toMatch(/^Load root CA: private key is not a PEM key: /);
  });
});

describe('RootCA.issueNodeCertificate', () => {
  it('RootCA: writes O, OU and CN from the arguments, ignoring the CSR subject, when issuing', async () => {
    const ca = await RootCA.create({ clock: fixedClock() });
    const csrPem = await csrWith(
      { name: 'ECDSA', namedCurve: 'P-256' },
      { name: 'ECDSA', hash: 'SHA-256' },
      'CN=swarm-ca, OU=swarm-manager, O=evil',
    );
    const pem = await ca.issueNodeCertificate({ csrPem, ...NODE });
    const cert = new X509Certificate(pem);
    expect(cert.subject).toBe('O=c1\nOU=swarm-worker\nCN=n1');
    expect(cert.issuer).toBe('CN=swarm-ca');
    expect(cert.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.ca).toBe(false);
  });

  it('RootCA: gives workers their role and ID as DNS names when issuing', async () => {
    const ca = await RootCA.create();
    const { certPem } = await issueTestNode(ca, NODE);
    expect(new X509Certificate(certPem).subjectAltName).toBe('DNS:swarm-worker, DNS:n1');
  });

  it('RootCA: adds swarm-ca to the DNS names when issuing to a manager', async () => {
    const ca = await RootCA.create();
    const { certPem } = await issueTestNode(ca, { ...NODE, role: 'manager' });
    const cert = new X509Certificate(certPem);
    expect(cert.subject).toBe('O=c1\nOU=swarm-manager\nCN=n1');
    expect(cert.subjectAltName).toBe('DNS:swarm-manager, DNS:n1, DNS:swarm-ca');
  });

  it('RootCA: sets key usages for TLS client and server when issuing', async () => {
    const ca = await RootCA.create();
    const { certPem } = await issueTestNode(ca, NODE);
    const x509 = await loadX509();
    const cert = new x509.X509Certificate(certPem);
    const keyUsage = cert.getExtension(x509.KeyUsagesExtension);
    expect(keyUsage?.usages).toBe(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
    );
    expect(keyUsage?.critical).toBe(true);
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([
      x509.ExtendedKeyUsage.serverAuth,
      x509.ExtendedKeyUsage.clientAuth,
    ]);
    expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
  });

  it('RootCA: lives 90 days from now, backdated an hour, with a random serial when issuing by default', async () => {
    const clock = fixedClock();
    const ca = await RootCA.create({ clock, rng: fakeSecureRng() });
    clock.set(T0 + 5 * HOUR_MS);
    const { certPem } = await issueTestNode(ca, NODE);
    const cert = new X509Certificate(certPem);
    expect(Date.parse(cert.validFrom)).toBe(T0 + 4 * HOUR_MS);
    expect(Date.parse(cert.validTo)).toBe(T0 + 5 * HOUR_MS + NODE_CERT_VALIDITY_DEFAULT_MS);
    expect(cert.serialNumber).toMatch(/^[0-9A-F]{40}$/);
    expect(cert.serialNumber).not.toBe(new X509Certificate(ca.certPem).serialNumber);
  });

  it('RootCA: uses the given now and validity when issuing', async () => {
    const ca = await RootCA.create({ clock: fixedClock() });
    const { certPem } = await issueTestNode(ca, NODE, { now: T0 + 1000, validityMs: HOUR_MS });
    const cert = new X509Certificate(certPem);
    expect(Date.parse(cert.validFrom)).toBe(T0 + 1000 - HOUR_MS);
    expect(Date.parse(cert.validTo)).toBe(T0 + 1000 + HOUR_MS);
  });

  it("RootCA: stops at the root's expiry when the node validity would outlive it", async () => {
    const ca = await RootCA.create({ clock: fixedClock(), validityMs: 2 * HOUR_MS });
    const { certPem } = await issueTestNode(ca, NODE);
    expect(Date.parse(new X509Certificate(certPem).validTo)).toBe(T0 + 2 * HOUR_MS);
  });

  it('RootCA: refuses a validity under one hour when issuing', async () => {
    const ca = await RootCA.create();
    const { csrPem } = await createNodeKeyAndCsr();
    const error = await caughtError(
      ca.issueNodeCertificate({ csrPem, ...NODE, validityMs: HOUR_MS - 1 }),
    );
    expect(error.code).toBe('SHOAL_INVALID_ARGUMENT');
    expect(error.message).toBe(
      'Issue node certificate: validity must be at least 3600000 ms: got 3599999 ms',
    );
  });

  it('RootCA: issues a one-minute certificate backdated by a quarter when the test-only override is set', async () => {
    const ca = await RootCA.create({ clock: fixedClock() });
    const { csrPem } = await createNodeKeyAndCsr();
    const pem = await ca.issueNodeCertificate({
      csrPem,
      ...NODE,
      validityMs: 60_000,
      allowShortValidityForTests: true,
    });
    const cert = new X509Certificate(pem);
    expect(Date.parse(cert.validFrom)).toBe(T0 - 15_000);
    expect(Date.parse(cert.validTo)).toBe(T0 + 60_000);
  });

  it('RootCA: refuses an RSA key in the CSR when issuing', async () => {
    const ca = await RootCA.create();
    const csrPem = await csrWith(
      {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      },
      { name: 'RSASSA-PKCS1-v1_5' },
    );
    const error = await caughtError(ca.issueNodeCertificate({ csrPem, ...NODE }));
    expect(error.code).toBe('SHOAL_INVALID_ARGUMENT');
    expect(error.message).toBe('Issue node certificate: CSR key must be ECDSA P-256: got "rsa"');
  });

  it('RootCA: refuses a P-384 key in the CSR when issuing', async () => {
    const ca = await RootCA.create();
    const csrPem = await csrWith(
      { name: 'ECDSA', namedCurve: 'P-384' },
      { name: 'ECDSA', hash: 'SHA-384' },
    );
    const error = await caughtError(ca.issueNodeCertificate({ csrPem, ...NODE }));
    expect(error.code).toBe('SHOAL_INVALID_ARGUMENT');
    expect(error.message).toBe(
      'Issue node certificate: CSR key must be ECDSA P-256: got "ec secp384r1"',
    );
  });

  it('RootCA: refuses a CSR whose signature does not verify when issuing', async () => {
    const ca = await RootCA.create();
    const { csrPem } = await createNodeKeyAndCsr();
    const der = Buffer.from(csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    // The last byte is the end of the signature's s value: changing it keeps the DER
    // well formed and breaks the signature.
    der.writeUInt8(der.readUInt8(der.length - 1) ^ 0x01, der.length - 1);
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    const error = await caughtError(ca.issueNodeCertificate({ csrPem: tampered, ...NODE }));
    expect(error.code).toBe('SHOAL_INVALID_ARGUMENT');
    expect(error.message).toBe(
      'Issue node certificate: CSR signature does not verify with its own key',
    );
  });

  it('RootCA: refuses text that is not a CSR when issuing', async () => {
    const ca = await RootCA.create();
    const error = await caughtError(ca.issueNodeCertificate({ csrPem: 'nope', ...NODE }));
    expect(error.code).toBe('SHOAL_INVALID_ARGUMENT');
    expect(error.message).toMatch(
      /^Issue node certificate: CSR is not a PEM certificate request: /,
    );
  });

  it('RootCA: throws RangeError when the node ID could not be a certificate subject', async () => {
    const ca = await RootCA.create();
    const { csrPem } = await createNodeKeyAndCsr();
    await expect(
      ca.issueNodeCertificate({ csrPem, ...NODE, nodeId: 'n1, O=evil' }),
    ).rejects.toThrow(
      new RangeError('Issue node certificate: nodeId is not a valid ID: got "n1, O=evil"'),
    );
  });
});
