// Per-RPC authorisation on the cluster port, from the caller's node certificate: its OU
// (role) and O (cluster) decide, as in swarmkit's ca/auth.go, and removed nodes are
// refused although their certificates still verify (swarmkit keeps a blacklist).
import type { PeerCertificate } from 'node:tls';
import {
  Metadata,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  status,
} from '@grpc/grpc-js';
import { ShoalError, toServiceError } from '@shoal/api';
import {
  identityFromSubject,
  type NodeIdentity,
  type NodeRoleName,
  ROLE_OU,
} from './node-identity.js';
import { RPC_ROLES } from './rpc-roles.js';

/**
 * The part of a grpc-js server call authorisation reads; every grpc-js server call
 * (unary, streaming) has it.
 */
export interface AuthorizableCall {
  getAuthContext(): { sslPeerCertificate?: PeerCertificate };
  /** The full method path, e.g. `/shoal.v1.Control/ListNodes`. */
  getPath(): string;
}

/** What authorisation needs to know about the cluster. */
export interface AuthorizeOptions {
  /** This cluster's ID: callers' certificates must carry it as O. */
  clusterId: string;
  /** Whether a node was removed from the cluster; its certificate no longer admits it. */
  isRemoved(nodeId: string): boolean;
}

/**
 * The identity in the caller's client certificate, or `undefined` when there is none:
 * no certificate, one that did not verify against the cluster's root (grpc-js only
 * reports verified ones), or one whose subject is not a node's.
 *
 * @example
 * const who = callerIdentity(call); // { nodeId, role, clusterId } | undefined
 */
export function callerIdentity(
  call: Pick<AuthorizableCall, 'getAuthContext'>,
): NodeIdentity | undefined {
  const cert = call.getAuthContext().sslPeerCertificate;
  if (cert === undefined) return undefined;
  try {
    return identityFromSubject(cert.subject);
  } catch {
    return undefined;
  }
}

/**
 * The caller's identity, once checked: a valid certificate of this cluster, of a node
 * that was not removed, with one of `roles`.
 *
 * @throws ShoalError `SHOAL_PERMISSION_DENIED` saying which check failed.
 * @example
 * const caller = requireRole(call, ['manager'], { clusterId, isRemoved });
 */
export function requireRole(
  call: AuthorizableCall,
  roles: readonly NodeRoleName[],
  options: AuthorizeOptions,
): NodeIdentity {
  return checkIdentity(call.getPath(), callerIdentity(call), roles, options);
}

/**
 * Applies the {@link RPC_ROLES} rule of the call's method: returns the caller's identity
 * (`undefined` for an open RPC called without a certificate). Open RPCs do not check the
 * certificate they may come with: a handler that acts on the caller's identity (a
 * certificate renewal) must call {@link requireRole} itself.
 *
 * @throws ShoalError `SHOAL_PERMISSION_DENIED` when the rule refuses the caller, the
 *   method has no rule, or it is served only on the local socket.
 * @example
 * const caller = authorizeRpc(call, { clusterId, isRemoved });
 */
export function authorizeRpc(
  call: AuthorizableCall,
  options: AuthorizeOptions,
): NodeIdentity | undefined {
  return checkRpc(call.getPath(), callerIdentity(call), options);
}

/**
 * A grpc-js server interceptor that applies {@link RPC_ROLES} to every call before its
 * handler runs; a refusal ends the call with `PERMISSION_DENIED` and the
 * `shoal-error-code` trailer.
 *
 * @example
 * new grpc.Server({ interceptors: [authorizationInterceptor({ clusterId, isRemoved })] });
 */
export function authorizationInterceptor(options: AuthorizeOptions): ServerInterceptor {
  return (method, call: ServerInterceptingCallInterface) =>
    new ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            try {
              checkRpc(method.path, callerIdentity(call), options);
            } catch (error) {
              const {
                code = status.INTERNAL,
                details = '',
                metadata: trailers = new Metadata(),
              } = toServiceError(error);
              call.sendStatus({ code, details, metadata: trailers });
              return;
            }
            nextMetadata(metadata);
          },
        });
      },
    });
}

/**
 * The pure check behind {@link authorizeRpc}.
 *
 * @internal exported for tests
 */
export function checkRpc(
  path: string,
  identity: NodeIdentity | undefined,
  options: AuthorizeOptions,
): NodeIdentity | undefined {
  const rule = RPC_ROLES[path];
  if (rule === undefined) throw denied(path, 'no access rule for this method');
  switch (rule.type) {
    case 'open':
      return identity;
    case 'local':
      throw denied(path, 'served only on the local socket');
    case 'roles':
      return checkIdentity(path, identity, rule.roles, options);
  }
}

/**
 * The pure check behind {@link requireRole}.
 *
 * @internal exported for tests
 */
export function checkIdentity(
  path: string,
  identity: NodeIdentity | undefined,
  roles: readonly NodeRoleName[],
  options: AuthorizeOptions,
): NodeIdentity {
  const wanted = roles.map((role) => `"${ROLE_OU[role]}"`).join(' or ');
  if (identity === undefined) {
    throw denied(path, `no valid client certificate: need a ${wanted} certificate`);
  }
  const { nodeId, role, clusterId } = identity;
  if (clusterId !== options.clusterId) {
    throw denied(
      path,
      `node "${nodeId}" is from cluster "${clusterId}": this cluster is "${options.clusterId}"`,
    );
  }
  if (options.isRemoved(nodeId)) {
    throw denied(path, `node "${nodeId}" was removed from the cluster`);
  }
  if (!roles.includes(role)) {
    throw denied(path, `node "${nodeId}" has role "${ROLE_OU[role]}": need ${wanted}`);
  }
  return identity;
}

function denied(path: string, detail: string): ShoalError {
  return new ShoalError('SHOAL_PERMISSION_DENIED', `Authorize "${path}": ${detail}`);
}
