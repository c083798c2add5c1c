// A node's join, as the daemon's `swarm join` does it (packages/cli/src/daemon/swarm-node.ts
// `#join`): the root CA over unverified TLS, checked against the token's digest; a fresh
// key and CSR; IssueNodeCertificate with the token; NodeCertificateStatus for the
// certificate. Shared by the harness's managers and its simulated agents.
import type * as grpc from '@grpc/grpc-js';
import { pb, ShoalError } from '@shoal/api';
import { createNodeKeyAndCsr, verifyRootAgainstToken } from '../ca/node-keys.js';
import {
  clientCredentials,
  insecureCaBootstrapCredentials,
  MANAGER_CHANNEL_OPTIONS,
} from '../ca/tls.js';
import type { NodeTls } from '../manager/manager.js';
import { unaryCall } from './grpc-call.js';

/** Options of {@link joinNode}. */
export interface JoinNodeOptions {
  /** A manager's `host:port`. */
  readonly joinAddr: string;
  /** A worker or manager join token. */
  readonly token: string;
  /** What the node declares (hostname, resources, engine labels). */
  readonly description: pb.NodeDescription;
  /** The address other nodes reach this node at, without port. @default '127.0.0.1' */
  readonly advertiseHost?: string;
}

/** What a join yields: the node's ID and its certificate material. */
export interface JoinedNode {
  readonly nodeId: string;
  readonly tls: NodeTls;
}

/**
 * Gets a certificate for a new node through the CA service, exactly as a joining daemon.
 *
 * @example
 * const { nodeId, tls } = await joinNode({ joinAddr: '127.0.0.1:2377', token, description });
 */
export async function joinNode(options: JoinNodeOptions): Promise<JoinedNode> {
  const { joinAddr, token } = options;
  const bootstrap = new pb.CAClient(
    joinAddr,
    insecureCaBootstrapCredentials(),
    MANAGER_CHANNEL_OPTIONS,
  );
  let rootCaPem: string;
  try {
    const response = await unaryCall<pb.GetRootCACertificateResponse>((md, o, cb) =>
      bootstrap.getRootCaCertificate({}, md, o, cb),
    );
    rootCaPem = Buffer.from(response.certificate).toString('utf8');
  } finally {
    bootstrap.close();
  }
  verifyRootAgainstToken(rootCaPem, token);
  const { keyPem, csrPem } = await createNodeKeyAndCsr();
  const ca = new pb.CAClient(joinAddr, clientCredentials({ rootCaPem }), MANAGER_CHANNEL_OPTIONS);
  try {
    const issued = await unaryCall<pb.IssueNodeCertificateResponse>((md, o, cb) =>
      ca.issueNodeCertificate(
        {
          csr: Buffer.from(csrPem),
          token,
          availabilityHint: '',
          description: options.description,
          role: pb.NodeRole.NODE_ROLE_WORKER,
          requestedNodeId: '',
          advertiseAddr: options.advertiseHost ?? '127.0.0.1',
        },
        md,
        o,
        cb,
      ),
    );
    const status = await unaryCall<pb.NodeCertificateStatusResponse>((md, o, cb) =>
      ca.nodeCertificateStatus({ nodeId: issued.nodeId }, md, o, cb),
    );
    if (
      status.state !== pb.NodeCertificateStatusResponse_IssuanceState.ISSUANCE_STATE_ISSUED ||
      !status.certificate
    ) {
      throw new ShoalError(
        'SHOAL_UNAVAILABLE',
        `Join node "${options.description.hostname}": the manager issued no certificate: ${status.err || 'unknown reason'}`,
      );
    }
    const certPem = Buffer.from(status.certificate.certificate).toString('utf8');
    return { nodeId: issued.nodeId, tls: { rootCaPem, certPem, keyPem } };
  } finally {
    ca.close();
  }
}

/** mTLS channel credentials for a joined node's calls to the managers. */
export function nodeChannelCredentials(tls: NodeTls): grpc.ChannelCredentials {
  return clientCredentials({ ...tls });
}
