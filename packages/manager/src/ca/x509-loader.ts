// @peculiar/x509 2.x resolves its services through tsyringe, which refuses to load
// unless a Reflect metadata polyfill is installed first. Loading both here, on first use,
// keeps that global patch (and the library's crypto provider) out of module import time
// (STYLE 37): importing @shoal/manager has no side effect until a certificate is built.
import type * as X509 from '@peculiar/x509';

let loading: Promise<typeof X509> | undefined;

/**
 * The @peculiar/x509 module, with the Reflect polyfill installed and Node's WebCrypto
 * set as its crypto provider. Loaded once per process.
 *
 * @internal
 */
export function loadX509(): Promise<typeof X509> {
  loading ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(globalThis.crypto);
    return x509;
  })();
  return loading;
}

/** ECDSA P-256 with SHA-256: the only key and signature algorithm of the cluster PKI. */
export const ECDSA_P256_SHA256 = {
  name: 'ECDSA',
  namedCurve: 'P-256',
  hash: 'SHA-256',
} as const;
