// grpc-js credentials for the cluster port. One listener serves both joining nodes
// (no client certificate yet) and members (mutual TLS), as Docker's port 2377 does.
// Docker's Go server asks for a client certificate and verifies it only if one is given;
// Node's TLS server cannot refuse a bad certificate while allowing none, so the server
// requests one without requiring it, and grpc-js reports an identity only for a
// certificate that verified against the root (`getAuthContext()` is empty otherwise):
// a foreign certificate therefore counts as no certificate, and per-RPC authorisation
// (authorize.ts) refuses everything but the open CA calls.
import type { PeerCertificate } from 'node:tls';
import { type ChannelCredentials, credentials, ServerCredentials } from '@grpc/grpc-js';
import { parseNodeCertificate } from './node-certificate.js';
import { identityFromSubject, type NodeIdentity, ROLE_OU } from './node-identity.js';

/** TLS server name to dial managers by (`grpc.ssl_target_name_override`). */
export const MANAGER_SERVER_NAME = ROLE_OU.manager;

/**
 * Channel options that send {@link MANAGER_SERVER_NAME} as the TLS server name instead of
 * the address dialled: node certificates name nodes, not hosts, and an IP address is not
 * a valid SNI name.
 */
export const MANAGER_CHANNEL_OPTIONS = {
  'grpc.ssl_target_name_override': MANAGER_SERVER_NAME,
} as const;

/** A node's certificate material, all PEM. */
export interface ServerTlsOptions {
  /** The cluster's root CA: client certificates must chain to it. */
  rootCaPem: string;
  /** This manager's node certificate. */
  certPem: string;
  keyPem: string;
}

/** Options of {@link clientCredentials}. */
export interface ClientTlsOptions {
  /** The cluster's root CA: the server certificate must chain to it. */
  rootCaPem: string;
  /** This node's certificate, for mutual TLS; absent while joining. */
  certPem?: string;
  /** The key of `certPem`; given together with it. */
  keyPem?: string;
  /**
   * The cluster the server must belong to (its certificate's O).
   * @default the O of `certPem`; not checked when there is no certificate
   */
  clusterId?: string;
}

/**
 * Server credentials whose certificate can be replaced after a renewal without
 * restarting the server.
 */
export class NodeServerCredentials extends ServerCredentials {
  constructor(options: ServerTlsOptions) {
    // requestCert without rejectUnauthorized: ask every client for a certificate,
    // admit those without one (joining nodes); see the top of this file.
    super(
      { requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
      contextOptions(options),
    );
  }

  /** Serves new certificate material from the next handshake on. */
  updateCertificate(options: ServerTlsOptions): void {
    this.updateSecureContextOptions(contextOptions(options));
  }

  override _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

/**
 * Credentials for a manager's cluster port: TLS with its node certificate, client
 * certificates requested but not required.
 *
 * @example
 * server.bindAsync('0.0.0.0:2377', serverCredentials({ rootCaPem, certPem, keyPem }), cb);
 */
export function serverCredentials(options: ServerTlsOptions): NodeServerCredentials {
  return new NodeServerCredentials(options);
}

/**
 * Credentials to call managers: the server must present a certificate from the cluster's
 * root whose OU is `swarm-manager` (and whose O is the cluster, when known), in place of
 * host name matching; with `certPem` and `keyPem` the call is mutual TLS.
 *
 * @throws RangeError when only one of `certPem` and `keyPem` is given.
 * @example
 * new pb.ControlClient(address, clientCredentials({ rootCaPem, certPem, keyPem }), MANAGER_CHANNEL_OPTIONS);
 */
export function clientCredentials(options: ClientTlsOptions): ChannelCredentials {
  const { certPem, keyPem } = options;
  if ((certPem === undefined) !== (keyPem === undefined)) {
    throw new RangeError('Create client credentials: give both certPem and keyPem, or neither');
  }
  const clusterId =
    options.clusterId ??
    (certPem === undefined ? undefined : parseNodeCertificate(certPem).clusterId);
  return credentials.createSsl(
    Buffer.from(options.rootCaPem),
    keyPem === undefined ? null : Buffer.from(keyPem),
    certPem === undefined ? null : Buffer.from(certPem),
    { checkServerIdentity: (_host, cert) => checkManagerIdentity(cert, clusterId) },
  );
}

/**
 * Credentials for the very first `GetRootCACertificate` call of a join: TLS that does
 * not verify the server. The caller must check what it gets with
 * `verifyRootAgainstToken` before trusting it, as Docker's join does.
 *
 * @example
 * const ca = new pb.CAClient(address, insecureCaBootstrapCredentials());
 */
export function insecureCaBootstrapCredentials(): ChannelCredentials {
  return credentials.createSsl(null, null, null, {
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  });
}

/**
 * The error that fails the handshake when a server certificate is not a manager's of
 * the expected cluster, or `undefined` when it is.
 *
 * @internal exported for tests
 */
export function checkManagerIdentity(
  cert: PeerCertificate,
  clusterId: string | undefined,
): Error | undefined {
  let identity: NodeIdentity;
  try {
    identity = identityFromSubject(cert.subject);
  } catch (error) {
    return error as Error;
  }
  if (identity.role !== 'manager') {
    return new Error(
      `Check server certificate: node "${identity.nodeId}" is not a manager: role "${identity.role}"`,
    );
  }
  if (clusterId !== undefined && identity.clusterId !== clusterId) {
    return new Error(
      `Check server certificate: node "${identity.nodeId}" is in cluster "${identity.clusterId}": want "${clusterId}"`,
    );
  }
  return undefined;
}

function contextOptions(options: ServerTlsOptions) {
  return {
    ca: Buffer.from(options.rootCaPem),
    cert: Buffer.from(options.certPem),
    key: Buffer.from(options.keyPem),
  };
}
