// Who the managers' Raft members are and where they listen, kept in the store: each
// manager node's `managerStatus` holds its Raft ID and address. The RaftMembership
// service records a joining manager there (any manager can: the write goes through
// Raft); the leader's duties then add it as a learner and promote it once caught up.
import { randomInt } from 'node:crypto';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { pb, ShoalError, unary } from '@shoal/api';
import type { ConfChange, ConfState } from '@shoal/raft';
import type { Logger } from 'pino';
import { callerIdentity } from '../ca/authorize.js';
import type { ClusterStore } from '../store/cluster-store.js';

/** What membership changes need of the Raft member. */
export interface MembershipRaft {
  proposeConfChange(change: ConfChange, options?: { signal?: AbortSignal }): Promise<ConfState>;
  readonly id: number;
}

/** A new Raft ID: random, non-zero, within JavaScript's exact integers, never reused. */
export function newRaftId(): number {
  return randomInt(1, 2 ** 47);
}

/** The Raft members the store knows of: raft ID -> address. */
export function raftPeers(store: ClusterStore): Map<number, string> {
  const peers = new Map<number, string>();
  for (const node of store.state.list('nodes')) {
    const status = node.managerStatus;
    if (status && status.raftId !== 0 && status.addr) peers.set(status.raftId, status.addr);
  }
  return peers;
}

/** Builds the RaftMembership service implementation. */
export function raftMembershipService(options: {
  store: ClusterStore;
  raft: MembershipRaft;
  log: Logger;
}): UntypedServiceImplementation {
  const { store, raft, log } = options;
  const onUnexpected = (error: unknown) => log.error({ err: error }, 'raft membership call failed');
  return {
    join: unary(async (request: pb.RaftJoinRequest, call) => {
      const caller = callerIdentity(call);
      if (caller?.role !== 'manager') {
        throw new ShoalError(
          'SHOAL_PERMISSION_DENIED',
          'Join Raft: only a node with a manager certificate may join',
        );
      }
      await store.barrier();
      const node = store.state.get('nodes', caller.nodeId);
      if (!node || node.role !== pb.NodeRole.NODE_ROLE_MANAGER) {
        throw new ShoalError(
          'SHOAL_PERMISSION_DENIED',
          `Join Raft: node "${caller.nodeId}" is not a manager of this swarm`,
        );
      }
      if (!request.addr)
        throw new ShoalError('SHOAL_INVALID_ARGUMENT', 'Join Raft: no address given');
      // A manager that restarts with its state keeps its ID; a new one gets a fresh ID.
      const raftId = node.managerStatus?.raftId || newRaftId();
      await store.update((tx) => {
        const current = tx.get('nodes', node.id)!;
        tx.update('nodes', {
          ...current,
          managerStatus: {
            raftId,
            addr: request.addr,
            leader: false,
            reachability: pb.ManagerStatus_Reachability.REACHABILITY_UNKNOWN,
          },
        });
      });
      log.info(
        { nodeId: node.id, raftId, addr: request.addr },
        'manager asked to join Raft: the leader adds it as a learner',
      );
      const members = [...raftPeers(store)].map(([id, addr]) => ({
        raftId: id,
        addr,
        nodeId: store.state.list('nodes', (n) => n.managerStatus?.raftId === id)[0]?.id ?? '',
      }));
      return { raftId, members, removed: [] };
    }, onUnexpected),
    leave: unary(async (request: pb.RaftLeaveRequest, call) => {
      const caller = callerIdentity(call);
      const raftId = request.member?.raftId ?? 0;
      const node = store.state.list('nodes', (n) => n.managerStatus?.raftId === raftId)[0];
      if (!caller || !node || node.id !== caller.nodeId) {
        throw new ShoalError(
          'SHOAL_PERMISSION_DENIED',
          'Leave Raft: a manager may only remove itself',
        );
      }
      await raft.proposeConfChange({ type: 'remove', id: raftId });
      return {};
    }, onUnexpected),
  };
}
