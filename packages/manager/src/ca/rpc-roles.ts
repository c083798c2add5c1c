// Who may call each RPC of the Shoal API, by full method path: the equivalent of
// swarmkit's `tls_authorization` options in its .proto files. Every RPC must have an
// entry (rpc-roles.test.ts fails otherwise) and authorisation refuses any path that has
// none, so a new RPC is closed until someone decides who may call it.
import type { NodeRoleName } from './node-identity.js';

/** Who may call an RPC. */
export type RpcAccess =
  /** Callers with a node certificate of one of these roles. */
  | { readonly type: 'roles'; readonly roles: readonly NodeRoleName[] }
  /** Anyone, with or without a certificate: the handler checks a token or is harmless. */
  | { readonly type: 'open' }
  /** Only over the daemon's root-only unix socket; never on the cluster port. */
  | { readonly type: 'local' };

const MANAGERS: RpcAccess = { type: 'roles', roles: ['manager'] };
const NODES: RpcAccess = { type: 'roles', roles: ['worker', 'manager'] };
const OPEN: RpcAccess = { type: 'open' };
const LOCAL: RpcAccess = { type: 'local' };

/**
 * Access rule of every RPC, keyed by full method path.
 *
 * - `Control.*` (the user API), `Raft.*` and `RaftMembership.*`: managers only.
 * - `Dispatcher.*`: any node, worker or manager.
 * - `CA.GetRootCACertificate`, `CA.IssueNodeCertificate`: open; a joining node has no
 *   certificate yet, and issuance checks the join token (or, for a renewal, the
 *   caller's certificate) itself.
 * - `CA.NodeCertificateStatus`: open, as in swarmkit: the joining node polls it for its
 *   new certificate before it has one; it only reveals a public certificate to whoever
 *   knows the node's random 128-bit ID.
 * - `Local.*`: the CLI's calls to its own daemon over the unix socket.
 *
 * @example
 * RPC_ROLES['/shoal.v1.Control/ListNodes']; // { type: 'roles', roles: ['manager'] }
 */
export const RPC_ROLES: Readonly<Record<string, RpcAccess>> = {
  '/shoal.v1.CA/GetRootCACertificate': OPEN,
  '/shoal.v1.CA/IssueNodeCertificate': OPEN,
  '/shoal.v1.CA/NodeCertificateStatus': OPEN,

  '/shoal.v1.Control/GetNode': MANAGERS,
  '/shoal.v1.Control/ListNodes': MANAGERS,
  '/shoal.v1.Control/UpdateNode': MANAGERS,
  '/shoal.v1.Control/RemoveNode': MANAGERS,
  '/shoal.v1.Control/GetService': MANAGERS,
  '/shoal.v1.Control/ListServices': MANAGERS,
  '/shoal.v1.Control/CreateService': MANAGERS,
  '/shoal.v1.Control/UpdateService': MANAGERS,
  '/shoal.v1.Control/RemoveService': MANAGERS,
  '/shoal.v1.Control/GetTask': MANAGERS,
  '/shoal.v1.Control/ListTasks': MANAGERS,
  '/shoal.v1.Control/GetNetwork': MANAGERS,
  '/shoal.v1.Control/ListNetworks': MANAGERS,
  '/shoal.v1.Control/CreateNetwork': MANAGERS,
  '/shoal.v1.Control/RemoveNetwork': MANAGERS,
  '/shoal.v1.Control/GetCluster': MANAGERS,
  '/shoal.v1.Control/UpdateCluster': MANAGERS,
  '/shoal.v1.Control/ServiceLogs': MANAGERS,

  '/shoal.v1.Dispatcher/Session': NODES,
  '/shoal.v1.Dispatcher/Heartbeat': NODES,
  '/shoal.v1.Dispatcher/Heartbeats': NODES,
  '/shoal.v1.Dispatcher/UpdateTaskStatus': NODES,
  '/shoal.v1.Dispatcher/Assignments': NODES,
  '/shoal.v1.Dispatcher/LogSubscriptions': NODES,
  '/shoal.v1.Dispatcher/PublishLogs': NODES,

  '/shoal.v1.Raft/Stream': MANAGERS,
  '/shoal.v1.Raft/Propose': MANAGERS,
  '/shoal.v1.Raft/ReadIndex': MANAGERS,
  '/shoal.v1.RaftMembership/Join': MANAGERS,
  '/shoal.v1.RaftMembership/Leave': MANAGERS,

  '/shoal.v1.Local/Version': LOCAL,
  '/shoal.v1.Local/Info': LOCAL,
  '/shoal.v1.Local/SwarmInit': LOCAL,
  '/shoal.v1.Local/SwarmJoin': LOCAL,
  '/shoal.v1.Local/SwarmLeave': LOCAL,
};
