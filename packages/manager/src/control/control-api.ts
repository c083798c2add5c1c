// The control API's logic, independent of transport: the TLS gRPC server and the local
// unix socket both call it. Reads first wait on a store barrier, so they are
// linearizable on any manager; writes are store transactions with version checks.
import { pb, ShoalError } from '@shoal/api';
import type { ClusterStore } from '../store/cluster-store.js';
import { resolveObject } from './resolve.js';
import type { ServiceApi } from './service-api.js';

/** Smallest node certificate lifetime, as Docker's `--cert-expiry` allows. */
export const MIN_CERT_EXPIRY_MS = 60 * 60 * 1000;
/** Bounds of the heartbeat period a user may set. */
export const MIN_HEARTBEAT_MS = 100;
export const MAX_HEARTBEAT_MS = 60 * 60 * 1000;

/** What the control API needs besides the store. */
export interface ControlApiOptions {
  readonly store: ClusterStore;
  /** A fresh join token for the current root CA (token rotation). */
  readonly newJoinToken: () => string;
  /** Wall clock for object timestamps. */
  readonly now: () => Date;
  /** Lets a test-only cluster accept certificate lifetimes under an hour. */
  readonly allowShortCertExpiry?: boolean;
  /**
   * The service and task API served beside this one, so that whoever serves the
   * Control service (the cluster port, the local socket) finds both in one place.
   */
  readonly services?: ServiceApi;
}

function durationMs(duration: pb.Duration | undefined): number {
  return duration ? duration.seconds * 1000 + Math.round(duration.nanos / 1e6) : 0;
}

/** Nodes and the cluster; services and tasks are {@link ServiceApi}'s, networks arrive later. */
export class ControlApi {
  readonly #o: ControlApiOptions;

  constructor(options: ControlApiOptions) {
    this.#o = options;
  }

  /** The service and task API served beside this one, if any. */
  get services(): ServiceApi | undefined {
    return this.#o.services;
  }

  async getNode(request: pb.GetNodeRequest): Promise<pb.GetNodeResponse> {
    await this.#o.store.barrier();
    return { node: resolveObject(this.#o.store.state, 'nodes', request.nodeId, 'Inspect node') };
  }

  async listNodes(request: pb.ListNodesRequest): Promise<pb.ListNodesResponse> {
    await this.#o.store.barrier();
    const f = request.filters;
    const nodes = this.#o.store.state.list('nodes', (node) => {
      if (f?.names.length && !f.names.includes(node.description?.hostname ?? '')) return false;
      if (f?.idPrefixes.length && !f.idPrefixes.some((p) => node.id.startsWith(p))) return false;
      if (f?.roles.length && !f.roles.includes(node.role)) return false;
      for (const [key, value] of Object.entries(f?.labels ?? {})) {
        if (node.spec?.annotations?.labels[key] !== value) return false;
      }
      return true;
    });
    nodes.sort(
      (a, b) =>
        (a.description?.hostname ?? '').localeCompare(b.description?.hostname ?? '') ||
        a.id.localeCompare(b.id),
    );
    return { nodes };
  }

  async updateNode(request: pb.UpdateNodeRequest): Promise<pb.UpdateNodeResponse> {
    const spec = request.spec;
    if (!spec) throw new ShoalError('SHOAL_INVALID_ARGUMENT', 'Update node: no spec given');
    if (
      !Object.values(pb.NodeAvailability).includes(spec.availability) ||
      spec.availability === pb.NodeAvailability.UNRECOGNIZED
    ) {
      throw new ShoalError(
        'SHOAL_INVALID_ARGUMENT',
        `Update node: invalid availability ${spec.availability}: want active, pause or drain`,
      );
    }
    if (
      spec.desiredRole !== pb.NodeRole.NODE_ROLE_WORKER &&
      spec.desiredRole !== pb.NodeRole.NODE_ROLE_MANAGER
    ) {
      throw new ShoalError(
        'SHOAL_INVALID_ARGUMENT',
        `Update node: invalid role ${spec.desiredRole}: want worker or manager`,
      );
    }
    for (const key of Object.keys(spec.annotations?.labels ?? {})) {
      if (key.trim() === '')
        throw new ShoalError('SHOAL_INVALID_ARGUMENT', 'Update node: a label has an empty key');
    }
    await this.#o.store.barrier();
    const current = resolveObject(this.#o.store.state, 'nodes', request.nodeId, 'Update node');
    if (request.nodeVersion !== 0 && request.nodeVersion !== current.meta?.version) {
      throw new ShoalError(
        'SHOAL_FAILED_PRECONDITION',
        `Update node "${current.id}": update out of sequence: read at version ${request.nodeVersion}, stored version is ${current.meta?.version ?? 0}`,
      );
    }
    if (
      current.spec?.desiredRole === pb.NodeRole.NODE_ROLE_MANAGER &&
      spec.desiredRole === pb.NodeRole.NODE_ROLE_WORKER
    ) {
      this.#checkDemotion(current);
    }
    const updated: pb.Node = {
      ...current,
      spec: {
        ...spec,
        annotations: {
          name: spec.annotations?.name ?? current.spec?.annotations?.name ?? '',
          labels: spec.annotations?.labels ?? {},
        },
      },
      meta: { ...current.meta!, updatedAt: this.#o.now() },
    };
    await this.#o.store.update((tx) => tx.update('nodes', updated));
    return { node: this.#o.store.state.get('nodes', current.id) };
  }

  async removeNode(request: pb.RemoveNodeRequest): Promise<pb.RemoveNodeResponse> {
    await this.#o.store.barrier();
    const node = resolveObject(this.#o.store.state, 'nodes', request.nodeId, 'Remove node');
    if (
      node.role === pb.NodeRole.NODE_ROLE_MANAGER ||
      node.spec?.desiredRole === pb.NodeRole.NODE_ROLE_MANAGER
    ) {
      throw new ShoalError(
        'SHOAL_FAILED_PRECONDITION',
        `Remove node "${node.id}": it is a swarm manager: demote it first (shoal node demote ${node.description?.hostname ?? node.id})`,
      );
    }
    if (!request.force && node.status?.state === pb.NodeStatus_State.STATE_READY) {
      throw new ShoalError(
        'SHOAL_FAILED_PRECONDITION',
        `Remove node "${node.id}": the node is not down and can't be removed: stop it or use --force`,
      );
    }
    const cluster = this.#cluster();
    await this.#o.store.update((tx) => {
      tx.delete('nodes', node);
      for (const task of tx.list('tasks', (t) => t.nodeId === node.id)) {
        tx.update('tasks', { ...task, desiredState: pb.TaskState.TASK_STATE_ORPHANED });
      }
      if (cluster && !cluster.removedNodes.includes(node.id)) {
        tx.update('clusters', { ...cluster, removedNodes: [...cluster.removedNodes, node.id] });
      }
    });
    return {};
  }

  async getCluster(request: pb.GetClusterRequest): Promise<pb.GetClusterResponse> {
    await this.#o.store.barrier();
    const cluster = request.clusterId
      ? resolveObject(this.#o.store.state, 'clusters', request.clusterId, 'Inspect swarm')
      : this.#cluster();
    if (!cluster)
      throw new ShoalError(
        'SHOAL_NOT_FOUND',
        'Inspect swarm: no cluster object: the swarm is not initialised',
      );
    return { cluster: withoutCaKey(cluster) };
  }

  async updateCluster(request: pb.UpdateClusterRequest): Promise<pb.UpdateClusterResponse> {
    await this.#o.store.barrier();
    const current = request.clusterId
      ? resolveObject(this.#o.store.state, 'clusters', request.clusterId, 'Update swarm')
      : this.#cluster();
    if (!current)
      throw new ShoalError(
        'SHOAL_NOT_FOUND',
        'Update swarm: no cluster object: the swarm is not initialised',
      );
    if (request.clusterVersion !== 0 && request.clusterVersion !== current.meta?.version) {
      throw new ShoalError(
        'SHOAL_FAILED_PRECONDITION',
        `Update swarm: update out of sequence: read at version ${request.clusterVersion}, stored version is ${current.meta?.version ?? 0}`,
      );
    }
    const spec = request.spec ?? current.spec!;
    this.#checkClusterSpec(spec);
    const tokens = current.rootCa?.joinTokens ?? { worker: '', manager: '' };
    const rotated = {
      worker: request.rotation?.workerJoinToken ? this.#o.newJoinToken() : tokens.worker,
      manager: request.rotation?.managerJoinToken ? this.#o.newJoinToken() : tokens.manager,
    };
    const updated: pb.Cluster = {
      ...current,
      spec,
      rootCa: { ...current.rootCa!, joinTokens: rotated },
      meta: { ...current.meta!, updatedAt: this.#o.now() },
    };
    await this.#o.store.update((tx) => tx.update('clusters', updated));
    return { cluster: withoutCaKey(this.#o.store.state.get('clusters', current.id)!) };
  }

  #cluster(): pb.Cluster | undefined {
    return this.#o.store.state.list('clusters')[0];
  }

  #checkClusterSpec(spec: pb.ClusterSpec): void {
    const history = spec.orchestration?.taskHistoryRetentionLimit ?? 0;
    if (history < 0) {
      throw new ShoalError(
        'SHOAL_INVALID_ARGUMENT',
        `Update swarm: invalid --task-history-limit ${history}: must be 0 or more`,
      );
    }
    const heartbeat = durationMs(spec.dispatcher?.heartbeatPeriod);
    if (heartbeat !== 0 && (heartbeat < MIN_HEARTBEAT_MS || heartbeat > MAX_HEARTBEAT_MS)) {
      throw new ShoalError(
        'SHOAL_INVALID_ARGUMENT',
        `Update swarm: invalid --dispatcher-heartbeat ${heartbeat}ms: must be between ${MIN_HEARTBEAT_MS}ms and 1h`,
      );
    }
    const expiry = durationMs(spec.caConfig?.nodeCertExpiry);
    if (expiry !== 0 && expiry < MIN_CERT_EXPIRY_MS && !this.#o.allowShortCertExpiry) {
      throw new ShoalError(
        'SHOAL_INVALID_ARGUMENT',
        `Update swarm: invalid --cert-expiry ${expiry}ms: must be at least 1h`,
      );
    }
  }

  /** Docker refuses to demote the last manager or one whose loss breaks quorum. */
  #checkDemotion(node: pb.Node): void {
    const managers = this.#o.store.state.list(
      'nodes',
      (n) => n.spec?.desiredRole === pb.NodeRole.NODE_ROLE_MANAGER,
    );
    if (managers.length <= 1) {
      throw new ShoalError(
        'SHOAL_FAILED_PRECONDITION',
        `Demote node "${node.id}": it is the last manager of the swarm`,
      );
    }
    const reachable = managers.filter(
      (m) =>
        m.id !== node.id &&
        m.managerStatus?.reachability === pb.ManagerStatus_Reachability.REACHABILITY_REACHABLE,
    ).length;
    const quorumAfter = Math.floor((managers.length - 1) / 2) + 1;
    if (reachable < quorumAfter) {
      throw new ShoalError(
        'SHOAL_FAILED_PRECONDITION',
        `Demote node "${node.id}": the swarm would lose quorum: ${reachable} other managers are reachable and ${quorumAfter} are needed`,
      );
    }
  }
}

/** The root CA's private key never leaves the managers' store. */
function withoutCaKey(cluster: pb.Cluster): pb.Cluster {
  return cluster.rootCa
    ? { ...cluster, rootCa: { ...cluster.rootCa, caKey: Buffer.alloc(0) } }
    : cluster;
}
