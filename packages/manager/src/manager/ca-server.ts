// The CA service on every manager: serves the root certificate to joining nodes, turns a
// join token and a CSR into a node (created in the store) and its certificate, and
// renews certificates over mutual TLS. Any manager can serve it: the root CA's key is
// in the replicated store, and node creation is a store write through Raft.
import type { ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { pb, ShoalError, unary } from '@shoal/api';
import type { Logger } from 'pino';
import { callerIdentity } from '../ca/authorize.js';
import { roleOfJoinToken } from '../ca/join-token.js';
import { isValidSubjectId } from '../ca/node-identity.js';
import type { RootCA } from '../ca/root-ca.js';
import type { ClusterStore } from '../store/cluster-store.js';

/** What the CA service needs. */
export interface CaServerOptions {
  readonly store: ClusterStore;
  /** The root CA as it stands in the store now. */
  readonly rootCa: () => Promise<RootCA>;
  readonly now: () => Date;
  /** A node ID for a node that asked for none (or one already taken). */
  readonly newNodeId: () => string;
  readonly log: Logger;
  readonly allowShortCertExpiry?: boolean;
}

const DAY_MS = 24 * 3600 * 1000;

function certValidityMs(cluster: pb.Cluster | undefined): number {
  const expiry = cluster?.spec?.caConfig?.nodeCertExpiry;
  const ms = expiry ? expiry.seconds * 1000 + Math.round(expiry.nanos / 1e6) : 0;
  return ms > 0 ? ms : 90 * DAY_MS;
}

function peerHost(call: ServerUnaryCall<unknown, unknown>): string {
  const peer = call.getPeer();
  const match =
    /^(?:ipv4:)?(\d+\.\d+\.\d+\.\d+):\d+$/.exec(peer) ?? /^\[?([^\]]+)\]?:\d+$/.exec(peer);
  return match?.[1] ?? peer;
}

/** Builds the CA service implementation. */
export function caService(options: CaServerOptions): UntypedServiceImplementation {
  const { store, log } = options;
  const onUnexpected = (error: unknown) => log.error({ err: error }, 'CA call failed');
  // Certificates issued but not yet fetched, by node ID (NodeCertificateStatus).
  const issued = new Map<string, { role: pb.NodeRole; pem: string }>();

  async function issue(
    request: pb.IssueNodeCertificateRequest,
    call: ServerUnaryCall<unknown, unknown>,
  ): Promise<pb.IssueNodeCertificateResponse> {
    await store.barrier();
    const cluster = store.state.list('clusters')[0];
    if (!cluster?.rootCa)
      throw new ShoalError(
        'SHOAL_UNAVAILABLE',
        'Issue certificate: the swarm is not initialised yet',
      );
    const csrPem = Buffer.from(request.csr).toString('utf8');
    const caller = callerIdentity(call);
    let nodeId: string;
    let role: 'worker' | 'manager';
    if (request.token) {
      const tokens = cluster.rootCa.joinTokens ?? { worker: '', manager: '' };
      const tokenRole = roleOfJoinToken(request.token, tokens);
      if (!tokenRole) {
        throw new ShoalError(
          'SHOAL_PERMISSION_DENIED',
          'Join: the join token is not valid for this swarm (wrong, rotated or from another swarm): get a fresh one with `shoal swarm join-token worker|manager`',
        );
      }
      role = tokenRole;
      const wanted = request.requestedNodeId;
      const taken =
        !wanted || !isValidSubjectId(wanted) || store.state.get('nodes', wanted) !== undefined;
      if (wanted && cluster.removedNodes.includes(wanted)) {
        throw new ShoalError(
          'SHOAL_PERMISSION_DENIED',
          `Join: node "${wanted}" was removed from this swarm: it cannot join again with the same identity`,
        );
      }
      nodeId = taken ? options.newNodeId() : wanted;
      const now = options.now();
      const addr = request.advertiseAddr || peerHost(call);
      const node: pb.Node = pb.Node.fromPartial({
        id: nodeId,
        meta: { version: 0, createdAt: now, updatedAt: now },
        spec: {
          annotations: { name: '', labels: {} },
          desiredRole:
            role === 'manager' ? pb.NodeRole.NODE_ROLE_MANAGER : pb.NodeRole.NODE_ROLE_WORKER,
          availability: pb.NodeAvailability.NODE_AVAILABILITY_ACTIVE,
        },
        role: role === 'manager' ? pb.NodeRole.NODE_ROLE_MANAGER : pb.NodeRole.NODE_ROLE_WORKER,
        description: request.description ?? {},
        status: { state: pb.NodeStatus_State.STATE_UNKNOWN, message: 'joining', addr },
      });
      await store.update((tx) => tx.create('nodes', node));
      log.info({ nodeId, role, addr }, 'node joined');
    } else {
      // A renewal over mutual TLS: the role is the one the store holds now, so a
      // promotion or demotion takes effect through the next renewal.
      if (!caller)
        throw new ShoalError(
          'SHOAL_PERMISSION_DENIED',
          'Issue certificate: no join token and no node certificate given',
        );
      const node = store.state.get('nodes', caller.nodeId);
      if (!node)
        throw new ShoalError(
          'SHOAL_PERMISSION_DENIED',
          `Renew certificate: node "${caller.nodeId}" is not in this swarm`,
        );
      nodeId = node.id;
      role = node.role === pb.NodeRole.NODE_ROLE_MANAGER ? 'manager' : 'worker';
    }
    const ca = await options.rootCa();
    const pem = await ca.issueNodeCertificate({
      csrPem,
      nodeId,
      role,
      clusterId: cluster.id,
      validityMs: certValidityMs(cluster),
      allowShortValidityForTests: options.allowShortCertExpiry === true,
    });
    issued.set(nodeId, {
      role: role === 'manager' ? pb.NodeRole.NODE_ROLE_MANAGER : pb.NodeRole.NODE_ROLE_WORKER,
      pem,
    });
    return { nodeId };
  }

  return {
    getRootCaCertificate: unary(async () => {
      await store.barrier();
      const cluster = store.state.list('clusters')[0];
      if (!cluster?.rootCa)
        throw new ShoalError('SHOAL_UNAVAILABLE', 'Get root CA: the swarm is not initialised yet');
      return { certificate: cluster.rootCa.caCert };
    }, onUnexpected),
    issueNodeCertificate: unary(issue, onUnexpected),
    nodeCertificateStatus: unary(async (request: pb.NodeCertificateStatusRequest) => {
      const done = issued.get(request.nodeId);
      if (!done) {
        return {
          state: pb.NodeCertificateStatusResponse_IssuanceState.ISSUANCE_STATE_UNKNOWN,
          err: `no certificate was issued for node "${request.nodeId}" by this manager`,
          certificate: undefined,
        };
      }
      issued.delete(request.nodeId);
      return {
        state: pb.NodeCertificateStatusResponse_IssuanceState.ISSUANCE_STATE_ISSUED,
        err: '',
        certificate: {
          role: done.role,
          csr: Buffer.alloc(0),
          certificate: Buffer.from(done.pem),
          commonName: request.nodeId,
        },
      };
    }, onUnexpected),
  };
}
