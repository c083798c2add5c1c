import { type pb, ShoalError } from '@shoal/api';
import { SeededRng } from '@shoal/raft';
import { describe, expect, it } from 'vitest';
import { parseNodeCertificate, renewalDelayMs, verifyNodeCertificate } from './node-certificate.js';
import {
  fromPbNodeRole,
  identityFromSubject,
  type SubjectFields,
  toPbNodeRole,
} from './node-identity.js';
import { RootCA } from './root-ca.js';
import { fixedClock, issueTestNode, T0, thrownBy } from './testing.js';
import { ECDSA_P256_SHA256, loadX509 } from './x509-loader.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const NODE = { nodeId: 'n1', role: 'manager', clusterId: 'c1' } as const;

function caught(fn: () => unknown): ShoalError {
  const error = thrownBy(fn);
  expect(error).toBeInstanceOf(ShoalError);
  return error as ShoalError;
}

describe('identityFromSubject', () => {
  const table: { name: string; input: SubjectFields; want?: object; error?: RegExp }[] = [
    {
      name: 'a worker subject',
      input: { O: 'c1', OU: 'swarm-worker', CN: 'n1' },
      want: { nodeId: 'n1', role: 'worker', clusterId: 'c1' },
    },
    {
      name: 'a manager subject',
      input: {
        O: 'ec2adilxf4ngv7ev8fwsi61i7',
        OU: 'swarm-manager',
        CN: 'dw02poa4vqvzxi5c10gm4pq2g',
      },
      want: { nodeId: 'dw02poa4vqvzxi5c10gm4pq2g', role: 'manager' },
    },
    {
      name: 'no O',
      input: { OU: 'swarm-worker', CN: 'n1' },
      error: /^Read node certificate: subject is not a node's: no O$/,
    },
    {
      name: 'the CA name as OU',
      input: { O: 'c1', OU: 'swarm-ca', CN: 'n1' },
      error:
        /^Read node certificate: subject is not a node's: OU must be "swarm-worker" or "swarm-manager": got "swarm-ca"$/,
    },
    {
      name: 'two CNs',
      input: { O: 'c1', OU: 'swarm-worker', CN: ['n1', 'n2'] },
      error: /^Read node certificate: subject is not a node's: CN appears 2 times$/,
    },
    {
      name: 'an extra field',
      input: { C: 'US', O: 'c1', OU: 'swarm-worker', CN: 'n1' },
      error: /^Read node certificate: subject is not a node's: unexpected field "C"$/,
    },
    {
      name: 'a CN with name syntax',
      input: { O: 'c1', OU: 'swarm-worker', CN: 'n1,O=x' },
      error: /^Read node certificate: subject is not a node's: CN is not a node ID: got "n1,O=x"$/,
    },
    {
      name: 'an empty O',
      input: { O: '', OU: 'swarm-worker', CN: 'n1' },
      error: /^Read node certificate: subject is not a node's: no O$/,
    },
  ];
  for (const { name, input, want, error } of table) {
    if (error) {
      it(`identityFromSubject: throws SHOAL_INVALID_ARGUMENT when given ${name}`, () => {
        const thrown = caught(() => identityFromSubject(input));
        expect(thrown.code).toBe('SHOAL_INVALID_ARGUMENT');
        expect(thrown.message).toMatch(error);
      });
    } else {
      it(`identityFromSubject: reads the identity when given ${name}`, () => {
        expect(identityFromSubject(input)).toMatchObject(want ?? {});
      });
    }
  }
});

describe('parseNodeCertificate', () => {
  it('parseNodeCertificate: reads identity, validity and serial when given an issued certificate', async () => {
    const ca = await RootCA.create({ clock: fixedClock() });
    const { certPem } = await issueTestNode(ca, NODE);
    const info = parseNodeCertificate(certPem);
    expect(info).toMatchObject(NODE);
    expect(info.notBefore.getTime()).toBe(T0 - HOUR_MS);
    expect(info.notAfter.getTime()).toBe(T0 + 90 * DAY_MS);
    expect(info.serial).toMatch(/^[0-9a-f]{40}$/);
  });

  it('parseNodeCertificate: refuses the root CA certificate', async () => {
    const ca = await RootCA.create();
    const error = caught(() => parseNodeCertificate(ca.certPem));
    expect(error.code).toBe('SHOAL_INVALID_ARGUMENT');
    expect(error.message).toBe(
      'Read node certificate: it is a CA certificate: subject "CN=swarm-ca"',
    );
  });

  it("parseNodeCertificate: refuses a certificate whose subject is not a node's", async () => {
    const x509 = await loadX509();
    const keys = await globalThis.crypto.subtle.generateKey(
      { name: 'ECDSA', namedCurve: 'P-256' },
      false,
      ['sign', 'verify'],
    );
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=www.example.com',
      keys,
      signingAlgorithm: ECDSA_P256_SHA256,
    });
    const error = caught(() => parseNodeCertificate(cert.toString('pem')));
    expect(error.code).toBe('SHOAL_INVALID_ARGUMENT');
    expect(error.message).toBe("Read node certificate: subject is not a node's: no O");
  });

  it('parseNodeCertificate: refuses text that is not PEM', () => {
    const error = caught(() => parseNodeCertificate('nope'));
    expect(error.code).toBe('SHOAL_INVALID_ARGUMENT');
    expect(error.message).toMatch(/^Read node certificate: not a PEM X\.509 certificate: /);
  });
});

describe('verifyNodeCertificate', () => {
  it('verifyNodeCertificate: returns the info when the root signed it and it is valid now', async () => {
    const ca = await RootCA.create({ clock: fixedClock() });
    const { certPem } = await issueTestNode(ca, NODE);
    expect(verifyNodeCertificate(certPem, { rootCaPem: ca.certPem, now: T0 })).toMatchObject(NODE);
  });

  it('verifyNodeCertificate: throws SHOAL_PERMISSION_DENIED when another root with the same name signed it', async () => {
    const ours = await RootCA.create({ clock: fixedClock() });
    const theirs = await RootCA.create({ clock: fixedClock() });
    const { certPem } = await issueTestNode(theirs, NODE);
    const error = caught(() =>
      verifyNodeCertificate(certPem, { rootCaPem: ours.certPem, now: T0 }),
    );
    expect(error.code).toBe('SHOAL_PERMISSION_DENIED');
    expect(error.message).toBe(
      'Verify certificate of node "n1": not signed by the cluster\'s root CA: issuer "CN=swarm-ca"',
    );
  });

  it('verifyNodeCertificate: throws SHOAL_PERMISSION_DENIED when it has expired', async () => {
    const ca = await RootCA.create({ clock: fixedClock() });
    const { certPem } = await issueTestNode(ca, NODE, { validityMs: HOUR_MS });
    const now = T0 + HOUR_MS + 1000;
    const error = caught(() => verifyNodeCertificate(certPem, { rootCaPem: ca.certPem, now }));
    expect(error.code).toBe('SHOAL_PERMISSION_DENIED');
    expect(error.message).toBe(
      'Verify certificate of node "n1": expired at "2026-01-01T01:00:00.000Z": now is "2026-01-01T01:00:01.000Z"',
    );
  });

  it('verifyNodeCertificate: throws SHOAL_PERMISSION_DENIED when it is not valid yet', async () => {
    const ca = await RootCA.create({ clock: fixedClock() });
    const { certPem } = await issueTestNode(ca, NODE, { now: T0 + 2 * HOUR_MS });
    const error = caught(() => verifyNodeCertificate(certPem, { rootCaPem: ca.certPem, now: T0 }));
    expect(error.code).toBe('SHOAL_PERMISSION_DENIED');
    expect(error.message).toBe(
      'Verify certificate of node "n1": not valid before "2026-01-01T01:00:00.000Z": now is "2026-01-01T00:00:00.000Z"',
    );
  });
});

describe('renewalDelayMs', () => {
  // A 100-hour life starting at T0: the window is hours 50 to 80.
  const validity = { notBefore: new Date(T0), notAfter: new Date(T0 + 100 * HOUR_MS) };
  const lowest = { int: () => 0 };
  const highest = { int: (n: number) => n - 1 };
  const table: { name: string; now: number; rng: { int(n: number): number }; want: number }[] = [
    { name: 'the rng picks the start, at NotBefore', now: T0, rng: lowest, want: 50 * HOUR_MS },
    { name: 'the rng picks the end, at NotBefore', now: T0, rng: highest, want: 80 * HOUR_MS - 1 },
    {
      name: 'ten hours have gone',
      now: T0 + 10 * HOUR_MS,
      rng: lowest,
      want: 40 * HOUR_MS,
    },
    { name: 'the window start has passed', now: T0 + 60 * HOUR_MS, rng: lowest, want: 0 },
    { name: 'the certificate has expired', now: T0 + 200 * HOUR_MS, rng: highest, want: 0 },
  ];
  for (const { name, now, rng, want } of table) {
    it(`renewalDelayMs: is ${want} ms when ${name}`, () => {
      expect(renewalDelayMs(validity, { now, rng })).toBe(want);
    });
  }

  it('renewalDelayMs: stays within 50% to 80% of the life when drawn with many seeds', () => {
    const rng = new SeededRng(7);
    const delays = Array.from({ length: 500 }, () => renewalDelayMs(validity, { now: T0, rng }));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(50 * HOUR_MS);
    expect(Math.max(...delays)).toBeLessThan(80 * HOUR_MS);
    // Spread, not a constant: the point of the jitter.
    expect(new Set(delays).size).toBeGreaterThan(400);
  });

  it('renewalDelayMs: renews a 90-day certificate between day 45 and day 72 when issued by the CA', async () => {
    const ca = await RootCA.create({ clock: fixedClock() });
    const { certPem } = await issueTestNode(ca, NODE);
    const delay = renewalDelayMs(parseNodeCertificate(certPem), {
      now: T0,
      rng: new SeededRng(1),
    });
    // Life is 90 days plus the hour of backdate, counted from NotBefore.
    const life = 90 * DAY_MS + HOUR_MS;
    expect(delay).toBeGreaterThanOrEqual(life * 0.5 - HOUR_MS);
    expect(delay).toBeLessThan(life * 0.8 - HOUR_MS);
  });
});

describe('toPbNodeRole and fromPbNodeRole', () => {
  it('toPbNodeRole: round-trips both roles through the API enum', () => {
    expect(fromPbNodeRole(toPbNodeRole('manager'))).toBe('manager');
    expect(fromPbNodeRole(toPbNodeRole('worker'))).toBe('worker');
    expect(fromPbNodeRole(-1 as pb.NodeRole)).toBe('worker');
  });
});
