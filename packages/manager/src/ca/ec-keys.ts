// Conversions between WebCrypto keys (what @peculiar/x509 signs with) and PEM files.
// Private keys are written as SEC1 "EC PRIVATE KEY", the format of Docker's
// swarm-node.key; PKCS#8 "PRIVATE KEY" is accepted on read as well.
import { createPrivateKey, createPublicKey, type KeyObject, type webcrypto } from 'node:crypto';
import { ShoalError } from '@shoal/api';

/** OpenSSL's name of the P-256 curve, as `asymmetricKeyDetails.namedCurve` reports it. */
const P256_OPENSSL_NAME = 'prime256v1';

/**
 * A fresh ECDSA P-256 key pair, extractable so that it can be written to a PEM file.
 *
 * @internal
 */
export function generateP256KeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return globalThis.crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
}

/**
 * A WebCrypto private key as a SEC1 PEM ("EC PRIVATE KEY").
 *
 * @internal
 */
export async function privateKeyToPem(key: webcrypto.CryptoKey): Promise<string> {
  const pkcs8 = Buffer.from(await globalThis.crypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type: 'sec1' })
    .toString();
}

/**
 * Reads a PEM private key and checks that it is ECDSA P-256.
 *
 * @throws ShoalError `SHOAL_INVALID_ARGUMENT` when the text is not such a key.
 * @internal
 */
export function readP256PrivateKey(pem: string, action: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new ShoalError(
      'SHOAL_INVALID_ARGUMENT',
      `${action}: private key is not a PEM key: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const kind = describeKey(key);
  if (kind !== `ec ${P256_OPENSSL_NAME}`) {
    throw new ShoalError(
      'SHOAL_INVALID_ARGUMENT',
      `${action}: private key must be ECDSA P-256: got "${kind}"`,
    );
  }
  return key;
}

/**
 * The WebCrypto signing key for a Node private key object.
 *
 * @internal
 */
export function toSigningKey(key: KeyObject): Promise<webcrypto.CryptoKey> {
  const pkcs8 = key.export({ format: 'der', type: 'pkcs8' });
  return globalThis.crypto.subtle.importKey(
    'pkcs8',
    pkcs8,
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['sign'],
  );
}

/**
 * `"ec prime256v1"`, `"rsa"`, … for a DER SubjectPublicKeyInfo: the type and, for EC,
 * the curve, to check keys and to show what was found instead.
 *
 * @internal
 */
export function describeSpki(spkiDer: ArrayBuffer | Uint8Array): string {
  return describeKey(
    createPublicKey({ key: Buffer.from(new Uint8Array(spkiDer)), format: 'der', type: 'spki' }),
  );
}

/** Whether a DER SubjectPublicKeyInfo holds an ECDSA P-256 key. @internal */
export function isP256Spki(spkiDer: ArrayBuffer | Uint8Array): boolean {
  return describeSpki(spkiDer) === `ec ${P256_OPENSSL_NAME}`;
}

function describeKey(key: KeyObject): string {
  const type = key.asymmetricKeyType ?? 'unknown';
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve === undefined ? type : `${type} ${curve}`;
}
