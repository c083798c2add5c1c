import { pb, ShoalError } from '@shoal/api';
import { beforeEach, describe, expect, it } from 'vitest';
import { LocalClusterStore } from '../store/cluster-store.js';
import { MemoryStore } from '../store/memory-store.js';
import { ControlApi } from './control-api.js';

const NOW = new Date('2026-11-25T12:00:00Z');

function node(id: string, hostname: string, extra: Partial<pb.Node> = {}): pb.Node {
  return pb.Node.fromPartial({
    id,
    description: { hostname },
    spec: {
      desiredRole: pb.NodeRole.NODE_ROLE_WORKER,
      availability: pb.NodeAvailability.NODE_AVAILABILITY_ACTIVE,
    },
    status: { state: pb.NodeStatus_State.STATE_READY },
    ...extra,
  });
}

function manager(id: string, hostname: string, reachable: boolean, leader = false): pb.Node {
  return node(id, hostname, {
    role: pb.NodeRole.NODE_ROLE_MANAGER,
    spec: {
      desiredRole: pb.NodeRole.NODE_ROLE_MANAGER,
      availability: pb.NodeAvailability.NODE_AVAILABILITY_ACTIVE,
    },
    managerStatus: {
      raftId: id.length,
      addr: `${hostname}:2377`,
      leader,
      reachability: reachable
        ? pb.ManagerStatus_Reachability.REACHABILITY_REACHABLE
        : pb.ManagerStatus_Reachability.REACHABILITY_UNREACHABLE,
    },
  });
}

describe('ControlApi', () => {
  let store: LocalClusterStore;
  let api: ControlApi;
  let tokens = 0;

  beforeEach(async () => {
    store = new LocalClusterStore(new MemoryStore());
    tokens = 0;
    api = new ControlApi({
      store,
      now: () => NOW,
      newJoinToken: () => `SWMTKN-1-digest-new${++tokens}`,
    });
    await store.update((tx) => {
      tx.create(
        'clusters',
        pb.Cluster.fromPartial({
          id: 'c1',
          spec: { annotations: { name: 'default' } },
          rootCa: {
            caKey: Buffer.from('secret key'),
            joinTokens: { worker: 'SWMTKN-1-digest-w', manager: 'SWMTKN-1-digest-m' },
          },
        }),
      );
      tx.create('nodes', manager('mgr1', 'm1', true, true));
      tx.create('nodes', manager('mgr22', 'm2', true));
      tx.create('nodes', manager('mgr333', 'm3', false));
      tx.create('nodes', node('wrk1', 'w1'));
      tx.create(
        'nodes',
        node('wrk2', 'w2', {
          status: { state: pb.NodeStatus_State.STATE_DOWN, message: '', addr: '' },
        }),
      );
    });
  });

  async function failure(promise: Promise<unknown>): Promise<ShoalError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ShoalError);
    return error as ShoalError;
  }

  it('getNode: finds a node by ID, hostname or unique ID prefix, and refuses an ambiguous prefix', async () => {
    expect((await api.getNode({ nodeId: 'wrk1' })).node?.id).toBe('wrk1');
    expect((await api.getNode({ nodeId: 'w2' })).node?.id).toBe('wrk2');
    expect((await api.getNode({ nodeId: 'mgr3' })).node?.id).toBe('mgr333');
    const ambiguous = await failure(api.getNode({ nodeId: 'wrk' }));
    expect(ambiguous.code).toBe('SHOAL_INVALID_ARGUMENT');
    expect(ambiguous.message).toBe(
      'Inspect node: "wrk" is ambiguous: it matches 2 nodes; give more of the ID',
    );
    const missing = await failure(api.getNode({ nodeId: 'nope' }));
    expect(missing.code).toBe('SHOAL_NOT_FOUND');
    expect(missing.message).toBe('Inspect node: no such node: "nope"');
  });

  it('listNodes: sorts by hostname and filters by role', async () => {
    expect((await api.listNodes({})).nodes.map((n) => n.description?.hostname)).toEqual([
      'm1',
      'm2',
      'm3',
      'w1',
      'w2',
    ]);
    const workers = await api.listNodes({
      filters: { names: [], idPrefixes: [], roles: [pb.NodeRole.NODE_ROLE_WORKER], labels: {} },
    });
    expect(workers.nodes.map((n) => n.id)).toEqual(['wrk1', 'wrk2']);
  });

  it('updateNode: drains and labels a node and refuses a stale version without changing it', async () => {
    const current = (await api.getNode({ nodeId: 'wrk1' })).node!;
    const spec = {
      ...current.spec!,
      availability: pb.NodeAvailability.NODE_AVAILABILITY_DRAIN,
      annotations: { name: '', labels: { zone: 'a' } },
    };
    const updated = (
      await api.updateNode({ nodeId: 'w1', nodeVersion: current.meta!.version, spec })
    ).node!;
    expect(updated.spec?.availability).toBe(pb.NodeAvailability.NODE_AVAILABILITY_DRAIN);
    expect(updated.spec?.annotations?.labels).toEqual({ zone: 'a' });
    const stale = await failure(
      api.updateNode({
        nodeId: 'w1',
        nodeVersion: current.meta!.version,
        spec: { ...spec, annotations: { name: '', labels: {} } },
      }),
    );
    expect(stale.code).toBe('SHOAL_FAILED_PRECONDITION');
    expect(stale.message).toMatch(
      /^Update node "wrk1": update out of sequence: read at version \d+, stored version is \d+$/,
    );
    expect(store.state.get('nodes', 'wrk1')?.spec?.annotations?.labels).toEqual({ zone: 'a' });
  });

  it('updateNode: refuses a demotion that would leave too few reachable managers for quorum', async () => {
    const m2 = store.state.get('nodes', 'mgr22')!;
    const error = await failure(
      api.updateNode({
        nodeId: 'mgr22',
        nodeVersion: 0,
        spec: { ...m2.spec!, desiredRole: pb.NodeRole.NODE_ROLE_WORKER },
      }),
    );
    expect(error.message).toBe(
      'Demote node "mgr22": the swarm would lose quorum: 1 other managers are reachable and 2 are needed',
    );
    expect(store.state.get('nodes', 'mgr22')?.spec?.desiredRole).toBe(
      pb.NodeRole.NODE_ROLE_MANAGER,
    );
  });

  it('updateNode: refuses demoting the last manager', async () => {
    await store.update((tx) => {
      tx.delete('nodes', tx.get('nodes', 'mgr22')!);
      tx.delete('nodes', tx.get('nodes', 'mgr333')!);
    });
    const m1 = store.state.get('nodes', 'mgr1')!;
    const error = await failure(
      api.updateNode({
        nodeId: 'm1',
        nodeVersion: 0,
        spec: { ...m1.spec!, desiredRole: pb.NodeRole.NODE_ROLE_WORKER },
      }),
    );
    expect(error.message).toBe('Demote node "mgr1": it is the last manager of the swarm');
  });

  it('removeNode: needs a manager demoted first and a Ready node forced; remembers removed nodes', async () => {
    expect((await failure(api.removeNode({ nodeId: 'm2', force: true }))).message).toBe(
      'Remove node "mgr22": it is a swarm manager: demote it first (shoal node demote m2)',
    );
    expect((await failure(api.removeNode({ nodeId: 'w1', force: false }))).message).toBe(
      'Remove node "wrk1": the node is not down and can\'t be removed: stop it or use --force',
    );
    await api.removeNode({ nodeId: 'w2', force: false });
    await api.removeNode({ nodeId: 'w1', force: true });
    expect(store.state.get('nodes', 'wrk1')).toBeUndefined();
    expect(store.state.get('clusters', 'c1')?.removedNodes).toEqual(['wrk2', 'wrk1']);
  });

  it('getCluster: never hands out the root CA key', async () => {
    const { cluster } = await api.getCluster({ clusterId: '' });
    expect(cluster?.rootCa?.caKey.length).toBe(0);
    expect(store.state.get('clusters', 'c1')?.rootCa?.caKey.toString()).toBe('secret key');
  });

  it('updateCluster: rotates only the token asked for', async () => {
    const { cluster } = await api.updateCluster({
      clusterId: 'c1',
      clusterVersion: 0,
      spec: undefined,
      rotation: { workerJoinToken: true, managerJoinToken: false },
    });
    expect(cluster?.rootCa?.joinTokens).toEqual({
      worker: 'SWMTKN-1-digest-new1',
      manager: 'SWMTKN-1-digest-m',
    });
  });

  const badSpecs: { name: string; spec: pb.DeepPartial<pb.ClusterSpec>; error: string }[] = [
    {
      name: 'a negative task history limit',
      spec: { orchestration: { taskHistoryRetentionLimit: -1 } },
      error: 'Update swarm: invalid --task-history-limit -1: must be 0 or more',
    },
    {
      name: 'a heartbeat under 100ms',
      spec: { dispatcher: { heartbeatPeriod: { seconds: 0, nanos: 50e6 } } },
      error: 'Update swarm: invalid --dispatcher-heartbeat 50ms: must be between 100ms and 1h',
    },
    {
      name: 'a certificate expiry under 1h',
      spec: { caConfig: { nodeCertExpiry: { seconds: 600, nanos: 0 } } },
      error: 'Update swarm: invalid --cert-expiry 600000ms: must be at least 1h',
    },
  ];
  for (const c of badSpecs) {
    it(`updateCluster: refuses ${c.name} and changes nothing`, async () => {
      const before = store.state.get('clusters', 'c1');
      const error = await failure(
        api.updateCluster({
          clusterId: 'c1',
          clusterVersion: 0,
          spec: pb.ClusterSpec.fromPartial(c.spec),
          rotation: undefined,
        }),
      );
      expect(error.code).toBe('SHOAL_INVALID_ARGUMENT');
      expect(error.message).toBe(c.error);
      expect(store.state.get('clusters', 'c1')).toBe(before);
    });
  }
});
