// The cluster's root CA: a self-signed ECDSA P-256 certificate (CN "swarm-ca", 20 years,
// as swarmkit's CreateRootCA) and its key, which signs every node certificate. The
// certificate text is kept exactly as created or loaded, because join tokens carry the
// SHA-256 of those bytes and a re-encoded copy would no longer match.
import { type webcrypto, X509Certificate } from 'node:crypto';
import { ShoalError } from '@shoal/api';
import {
  describeSpki,
  generateP256KeyPair,
  isP256Spki,
  privateKeyToPem,
  readP256PrivateKey,
  toSigningKey,
} from './ec-keys.js';
import { rootCaDigest } from './join-token.js';
import { readCertificate } from './node-certificate.js';
import { CA_SERVER_NAME, isValidSubjectId, type NodeRoleName, ROLE_OU } from './node-identity.js';
import { CRYPTO_RNG, type SecureRng } from './secure-rng.js';
import { SYSTEM_WALL_CLOCK, type WallClock } from './wall-clock.js';
import { ECDSA_P256_SHA256, loadX509 } from './x509-loader.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Root CA validity: 20 years (swarmkit RootCAExpiration, 630720000 s). */
export const ROOT_CA_VALIDITY_MS = 630_720_000_000;

/** Node certificate validity unless the cluster sets another: 90 days. */
export const NODE_CERT_VALIDITY_DEFAULT_MS = 90 * DAY_MS;

/** Shortest node certificate validity a cluster may set (`--cert-expiry`): 1 hour. */
export const NODE_CERT_VALIDITY_MIN_MS = HOUR_MS;

/** How far NotBefore is set back to absorb clock skew between nodes: 1 hour. */
export const CERT_BACKDATE_MS = HOUR_MS;

/** Common name of the root CA certificate. */
export const ROOT_CA_COMMON_NAME = 'swarm-ca';

// cfssl, which swarmkit signs with, uses 20-byte serial numbers.
const SERIAL_BYTES = 20;

/** Options of {@link RootCA.create}. */
export interface RootCAOptions {
  /** @default SYSTEM_WALL_CLOCK */
  clock?: WallClock;
  /** Randomness for serial numbers. @default CRYPTO_RNG */
  rng?: SecureRng;
  /** @default ROOT_CA_VALIDITY_MS (20 years) */
  validityMs?: number;
}

/** Options of {@link RootCA.fromPem}. */
export interface LoadRootCAOptions {
  /** @default SYSTEM_WALL_CLOCK */
  clock?: WallClock;
  /** @default CRYPTO_RNG */
  rng?: SecureRng;
}

/** What {@link RootCA.issueNodeCertificate} signs. */
export interface IssueNodeCertificateOptions {
  /** The node's PKCS#10 request; only its key is used, its subject is ignored. */
  csrPem: string;
  nodeId: string;
  role: NodeRoleName;
  clusterId: string;
  /** @default NODE_CERT_VALIDITY_DEFAULT_MS (90 days); at least 1 hour */
  validityMs?: number;
  /** Milliseconds since the epoch. @default the CA's clock */
  now?: number;
  /**
   * Lets tests issue certificates living less than the 1-hour minimum, to watch a
   * renewal happen in seconds. Never set it outside tests.
   * @default false
   */
  allowShortValidityForTests?: boolean;
}

/**
 * The cluster's root certificate authority.
 *
 * @example
 * const ca = await RootCA.create({ clock: SYSTEM_WALL_CLOCK });
 * const token = generateJoinToken(ca.digest(), CRYPTO_RNG);
 * const certPem = await ca.issueNodeCertificate({ csrPem, nodeId, role: 'worker', clusterId });
 */
export class RootCA {
  /** The root certificate, PEM, exactly the bytes served to joining nodes. */
  readonly certPem: string;
  readonly #keyPem: string;
  readonly #signingKey: webcrypto.CryptoKey;
  readonly #certificate: X509Certificate;
  readonly #clock: WallClock;
  readonly #rng: SecureRng;

  private constructor(
    certPem: string,
    keyPem: string,
    signingKey: webcrypto.CryptoKey,
    options: Required<LoadRootCAOptions>,
  ) {
    this.certPem = certPem;
    this.#keyPem = keyPem;
    this.#signingKey = signingKey;
    this.#certificate = new X509Certificate(certPem);
    this.#clock = options.clock;
    this.#rng = options.rng;
  }

  /**
   * Creates a new self-signed root: ECDSA P-256, CN "swarm-ca", NotBefore backdated by
   * an hour.
   *
   * @throws RangeError when `validityMs` is not a positive integer.
   */
  static async create(options: RootCAOptions = {}): Promise<RootCA> {
    const clock = options.clock ?? SYSTEM_WALL_CLOCK;
    const rng = options.rng ?? CRYPTO_RNG;
    const validityMs = options.validityMs ?? ROOT_CA_VALIDITY_MS;
    if (!Number.isSafeInteger(validityMs) || validityMs <= 0) {
      throw new RangeError(
        `Create root CA: validityMs must be a positive integer: got ${validityMs}`,
      );
    }
    const x509 = await loadX509();
    const keys = await generateP256KeyPair();
    const now = clock.now();
    const cert = await x509.X509CertificateGenerator.createSelfSigned(
      {
        serialNumber: randomSerial(rng),
        name: [{ CN: [ROOT_CA_COMMON_NAME] }],
        notBefore: new Date(now - CERT_BACKDATE_MS),
        notAfter: new Date(now + validityMs),
        signingAlgorithm: ECDSA_P256_SHA256,
        keys,
        extensions: [
          new x509.BasicConstraintsExtension(true, undefined, true),
          new x509.KeyUsagesExtension(
            x509.KeyUsageFlags.keyCertSign |
              x509.KeyUsageFlags.cRLSign |
              x509.KeyUsageFlags.digitalSignature,
            true,
          ),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        ],
      },
      globalThis.crypto,
    );
    const certPem = withFinalNewline(cert.toString('pem'));
    const keyPem = await privateKeyToPem(keys.privateKey);
    const signingKey = await toSigningKey(readP256PrivateKey(keyPem, 'Create root CA'));
    return new RootCA(certPem, keyPem, signingKey, { clock, rng });
  }

  /**
   * Loads a root saved with {@link RootCA.toPem}, checking that the certificate is a CA
   * certificate with an ECDSA P-256 key and that the key is its own.
   *
   * @throws ShoalError `SHOAL_INVALID_ARGUMENT` naming what does not fit.
   */
  static async fromPem(
    certPem: string,
    keyPem: string,
    options: LoadRootCAOptions = {},
  ): Promise<RootCA> {
    const action = 'Load root CA';
    const certificate = readCertificate(certPem, action);
    if (!certificate.ca) {
      throw new ShoalError(
        'SHOAL_INVALID_ARGUMENT',
        `${action}: certificate is not a CA certificate: subject "${certificate.subject}"`,
      );
    }
    const spki = certificate.publicKey.export({ format: 'der', type: 'spki' });
    if (!isP256Spki(spki)) {
      throw new ShoalError(
        'SHOAL_INVALID_ARGUMENT',
        `${action}: certificate key must be ECDSA P-256: got "${describeSpki(spki)}"`,
      );
    }
    const key = readP256PrivateKey(keyPem, action);
    if (!certificate.checkPrivateKey(key)) {
      throw new ShoalError(
        'SHOAL_INVALID_ARGUMENT',
        `${action}: private key does not belong to the certificate: subject "${certificate.subject}"`,
      );
    }
    return new RootCA(certPem, keyPem, await toSigningKey(key), {
      clock: options.clock ?? SYSTEM_WALL_CLOCK,
      rng: options.rng ?? CRYPTO_RNG,
    });
  }

  /** The certificate and key as PEM, for the cluster object in the store. */
  toPem(): { certPem: string; keyPem: string } {
    return { certPem: this.certPem, keyPem: this.#keyPem };
  }

  /** SHA-256 of {@link RootCA.certPem} in hex: the digest join tokens carry. */
  digest(): string {
    return rootCaDigest(this.certPem);
  }

  /** When the root itself expires. */
  get notAfter(): Date {
    return new Date(this.#certificate.validTo);
  }

  /**
   * Signs a node certificate for the key in `csrPem`. The subject is
   * `O=<clusterId>, OU=swarm-worker|swarm-manager, CN=<nodeId>` whatever the request
   * asked for; the DNS names are the role's OU and the node ID, plus "swarm-ca" for
   * managers; key usage digitalSignature + keyEncipherment, extended key usage serverAuth +
   * clientAuth; NotBefore is backdated by an hour (less for test-only short lives) and
   * NotAfter never passes the root's.
   *
   * @throws ShoalError `SHOAL_INVALID_ARGUMENT` for an unreadable request, a bad
   *   signature, a key other than ECDSA P-256, or a validity under 1 hour.
   * @throws RangeError when `nodeId`, `clusterId` or `role` are not valid.
   */
  async issueNodeCertificate(options: IssueNodeCertificateOptions): Promise<string> {
    const action = 'Issue node certificate';
    const { nodeId, clusterId, role } = options;
    if (!isValidSubjectId(nodeId)) {
      throw new RangeError(`${action}: nodeId is not a valid ID: got "${nodeId}"`);
    }
    if (!isValidSubjectId(clusterId)) {
      throw new RangeError(`${action}: clusterId is not a valid ID: got "${clusterId}"`);
    }
    if (role !== 'worker' && role !== 'manager') {
      throw new RangeError(`${action}: role must be "worker" or "manager": got "${role}"`);
    }
    const validityMs = options.validityMs ?? NODE_CERT_VALIDITY_DEFAULT_MS;
    const minimumMs = options.allowShortValidityForTests ? 1_000 : NODE_CERT_VALIDITY_MIN_MS;
    if (!Number.isSafeInteger(validityMs) || validityMs < minimumMs) {
      throw new ShoalError(
        'SHOAL_INVALID_ARGUMENT',
        `${action}: validity must be at least ${minimumMs} ms: got ${validityMs} ms`,
      );
    }

    const x509 = await loadX509();
    let csr: InstanceType<typeof x509.Pkcs10CertificateRequest>;
    try {
      csr = new x509.Pkcs10CertificateRequest(options.csrPem);
    } catch (error) {
      throw new ShoalError(
        'SHOAL_INVALID_ARGUMENT',
        `${action}: CSR is not a PEM certificate request: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const spki = csr.publicKey.rawData;
    if (!isP256Spki(spki)) {
      throw new ShoalError(
        'SHOAL_INVALID_ARGUMENT',
        `${action}: CSR key must be ECDSA P-256: got "${describeSpki(spki)}"`,
      );
    }
    if (!(await csr.verify(globalThis.crypto))) {
      throw new ShoalError(
        'SHOAL_INVALID_ARGUMENT',
        `${action}: CSR signature does not verify with its own key`,
      );
    }

    const now = options.now ?? this.#clock.now();
    // A full hour of backdate on a certificate living minutes would put it past its
    // renewal point at once; test-only short lives get a quarter of their life instead.
    const backdateMs =
      validityMs >= NODE_CERT_VALIDITY_MIN_MS ? CERT_BACKDATE_MS : Math.floor(validityMs / 4);
    const rootNotAfter = Date.parse(this.#certificate.validTo);
    const names = [ROLE_OU[role], nodeId, ...(role === 'manager' ? [CA_SERVER_NAME] : [])];
    const root = new x509.X509Certificate(this.certPem);
    const cert = await x509.X509CertificateGenerator.create(
      {
        serialNumber: randomSerial(this.#rng),
        subject: [{ O: [clusterId] }, { OU: [ROLE_OU[role]] }, { CN: [nodeId] }],
        issuer: root.subjectName,
        notBefore: new Date(now - backdateMs),
        notAfter: new Date(Math.min(now + validityMs, rootNotAfter)),
        publicKey: csr.publicKey,
        signingKey: this.#signingKey,
        signingAlgorithm: ECDSA_P256_SHA256,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(
            x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
            true,
          ),
          new x509.ExtendedKeyUsageExtension([
            x509.ExtendedKeyUsage.serverAuth,
            x509.ExtendedKeyUsage.clientAuth,
          ]),
          new x509.SubjectAlternativeNameExtension(
            names.map((value) => ({ type: 'dns' as const, value })),
          ),
          await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
          await x509.AuthorityKeyIdentifierExtension.create(root.publicKey),
        ],
      },
      globalThis.crypto,
    );
    return withFinalNewline(cert.toString('pem'));
  }
}

/** A positive random serial number in hex, of a fixed length. */
function randomSerial(rng: SecureRng): string {
  const bytes = rng.randomBytes(SERIAL_BYTES);
  // Clear the sign bit so the DER INTEGER stays positive, and keep the first byte
  // non-zero so it is not dropped from the encoding.
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

function withFinalNewline(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}
