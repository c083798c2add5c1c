// Who a node is, as its certificate says: CN = node ID, OU = role, O = cluster ID
// (docs how-swarm-mode-works/pki.md). Shared by certificate parsing, the TLS server-name
// check and per-RPC authorisation, which all read the same three subject fields.
import { pb, ShoalError } from '@shoal/api';

/** A node's role as the PKI names it. */
export type NodeRoleName = 'worker' | 'manager';

/** The identity a node certificate carries. */
export interface NodeIdentity {
  readonly nodeId: string;
  readonly role: NodeRoleName;
  readonly clusterId: string;
}

/** Organisational unit of each role in node certificates, as Docker writes it. */
export const ROLE_OU: Readonly<Record<NodeRoleName, string>> = {
  worker: 'swarm-worker',
  manager: 'swarm-manager',
};

/** Extra DNS name managers carry so clients can dial the CA by server name. */
export const CA_SERVER_NAME = 'swarm-ca';

// IDs are base-36 random IDs in practice; this wider set keeps hand-made test IDs usable
// while refusing anything that could be read as distinguished-name syntax.
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Whether `value` can be a node ID or cluster ID in a certificate subject.
 *
 * @example
 * isValidSubjectId('dw02poa4vqvzxi5c10gm4pq2g'); // true
 */
export function isValidSubjectId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/** The API's `NodeRole` for a role name. */
export function toPbNodeRole(role: NodeRoleName): pb.NodeRole {
  return role === 'manager' ? pb.NodeRole.NODE_ROLE_MANAGER : pb.NodeRole.NODE_ROLE_WORKER;
}

/** The role name of the API's `NodeRole`; unknown values read as worker, the least privilege. */
export function fromPbNodeRole(role: pb.NodeRole): NodeRoleName {
  return role === pb.NodeRole.NODE_ROLE_MANAGER ? 'manager' : 'worker';
}

/** The role whose OU is `ou`, if any. */
export function roleOfOu(ou: string): NodeRoleName | undefined {
  if (ou === ROLE_OU.worker) return 'worker';
  if (ou === ROLE_OU.manager) return 'manager';
  return undefined;
}

/**
 * The subject fields of a certificate as Node parses them: `tls.PeerCertificate.subject`
 * gives a string per field, or an array when a field repeats.
 */
export type SubjectFields = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * The node identity a certificate subject carries, checking its shape: exactly one O,
 * one OU naming a role and one CN, nothing else.
 *
 * @throws ShoalError `SHOAL_INVALID_ARGUMENT` when the subject is not a node's.
 * @example
 * identityFromSubject({ O: 'c1', OU: 'swarm-worker', CN: 'n1' });
 * // { nodeId: 'n1', role: 'worker', clusterId: 'c1' }
 */
export function identityFromSubject(subject: SubjectFields): NodeIdentity {
  const extra = Object.keys(subject).filter(
    (key) => key !== 'O' && key !== 'OU' && key !== 'CN' && subject[key] !== undefined,
  );
  if (extra.length > 0) {
    throw notANodeSubject(`unexpected field "${extra[0]}"`);
  }
  const clusterId = single(subject, 'O');
  const ou = single(subject, 'OU');
  const nodeId = single(subject, 'CN');
  const role = roleOfOu(ou);
  if (role === undefined) {
    throw notANodeSubject(`OU must be "swarm-worker" or "swarm-manager": got "${ou}"`);
  }
  if (!isValidSubjectId(nodeId)) throw notANodeSubject(`CN is not a node ID: got "${nodeId}"`);
  if (!isValidSubjectId(clusterId)) {
    throw notANodeSubject(`O is not a cluster ID: got "${clusterId}"`);
  }
  return { nodeId, role, clusterId };
}

function single(subject: SubjectFields, key: 'O' | 'OU' | 'CN'): string {
  const value = subject[key];
  if (value === undefined || value === '') throw notANodeSubject(`no ${key}`);
  if (typeof value !== 'string') {
    throw notANodeSubject(`${key} appears ${value.length} times`);
  }
  return value;
}

function notANodeSubject(detail: string): ShoalError {
  return new ShoalError(
    'SHOAL_INVALID_ARGUMENT',
    `Read node certificate: subject is not a node's: ${detail}`,
  );
}
