// What only the Raft leader does, on a short period: keep each manager's status
// (leader, reachable) in the store, promote learners that caught up, and carry out
// promotions and demotions (node role <-> Raft membership). Each step is idempotent,
// so a new leader simply continues where the old one stopped.
import { pb } from '@shoal/api';
import type { ConfChange, ConfState, RaftStatus } from '@shoal/raft';
import type { Logger } from 'pino';
import type { ClusterStore } from '../store/cluster-store.js';

/** How often the leader runs its duties. */
export const LEADER_DUTY_INTERVAL_MS = 250;
/** A manager not heard from for this long is Unreachable. */
export const UNREACHABLE_AFTER_MS = 1500;

/** What the duties need of the Raft member. */
export interface LeaderRaft {
  readonly id: number;
  status(): RaftStatus;
  proposeConfChange(change: ConfChange, options?: { signal?: AbortSignal }): Promise<ConfState>;
  transferLeadership(target?: number): Promise<number>;
}

/** Runs the leader's duties while started. */
export class LeaderDuties {
  readonly #store: ClusterStore;
  readonly #raft: LeaderRaft;
  readonly #log: Logger;
  readonly #now: () => number;
  /** When the leader last saw each member active (Raft ID -> ms). */
  readonly #lastSeen = new Map<number, number>();
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(options: { store: ClusterStore; raft: LeaderRaft; log: Logger; now?: () => number }) {
    this.#store = options.store;
    this.#raft = options.raft;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
  }

  start(): void {
    this.stop();
    this.#lastSeen.clear();
    const startedAt = this.#now();
    // A new leader has heard from nobody yet: count everyone as seen at takeover.
    for (const id of this.#raft.status().conf.voters) this.#lastSeen.set(id, startedAt);
    this.#timer = setInterval(() => void this.runOnce(), LEADER_DUTY_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One pass of every duty; skipped while the previous pass still runs. */
  async runOnce(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      const status = this.#raft.status();
      if (status.role !== 'leader') return;
      await this.#updateManagerStatus(status);
      await this.#addJoiningManagers(status);
      await this.#promoteCaughtUpLearners(status);
      await this.#reconcileRoles(status);
    } catch (error) {
      this.#log.warn({ err: error }, 'leader duties failed; retrying on the next pass');
    } finally {
      this.#running = false;
    }
  }

  async #updateManagerStatus(status: RaftStatus): Promise<void> {
    const now = this.#now();
    for (const [id, progress] of Object.entries(status.progress)) {
      if (progress.recentActive || Number(id) === status.id) this.#lastSeen.set(Number(id), now);
    }
    const members = new Set([...status.conf.voters, ...status.conf.learners]);
    await this.#store.update((tx) => {
      for (const node of tx.list('nodes', (n) => (n.managerStatus?.raftId ?? 0) !== 0)) {
        const ms = node.managerStatus!;
        // Joining, not a member yet: #addJoiningManagers takes it from here.
        if (
          !members.has(ms.raftId) &&
          ms.reachability === pb.ManagerStatus_Reachability.REACHABILITY_UNKNOWN
        )
          continue;
        const leader = ms.raftId === status.id;
        const seen = this.#lastSeen.get(ms.raftId);
        // A manager outside the configuration (after --force-new-cluster) is unreachable.
        const reachable =
          leader ||
          (members.has(ms.raftId) && seen !== undefined && now - seen <= UNREACHABLE_AFTER_MS);
        const reachability = reachable
          ? pb.ManagerStatus_Reachability.REACHABILITY_REACHABLE
          : pb.ManagerStatus_Reachability.REACHABILITY_UNREACHABLE;
        if (ms.leader !== leader || ms.reachability !== reachability) {
          tx.update('nodes', { ...node, managerStatus: { ...ms, leader, reachability } });
        }
      }
    });
  }

  /**
   * Managers recorded by RaftMembership.Join (reachability still unknown) that are not
   * in the configuration yet become learners, one change at a time. Managers left out
   * by --force-new-cluster have a known reachability and are not taken back.
   */
  async #addJoiningManagers(status: RaftStatus): Promise<void> {
    const members = new Set([...status.conf.voters, ...status.conf.learners]);
    for (const node of this.#store.state.list('nodes')) {
      const ms = node.managerStatus;
      if (!ms || ms.raftId === 0 || members.has(ms.raftId)) continue;
      if (
        node.role !== pb.NodeRole.NODE_ROLE_MANAGER ||
        node.spec?.desiredRole !== pb.NodeRole.NODE_ROLE_MANAGER
      )
        continue;
      if (ms.reachability !== pb.ManagerStatus_Reachability.REACHABILITY_UNKNOWN) continue;
      this.#log.info(
        { nodeId: node.id, raftId: ms.raftId, addr: ms.addr },
        'adding joining manager as a learner',
      );
      const context = Buffer.from(JSON.stringify({ nodeId: node.id, addr: ms.addr }));
      await this.#raft.proposeConfChange({ type: 'addLearner', id: ms.raftId, context });
      return;
    }
  }

  async #promoteCaughtUpLearners(status: RaftStatus): Promise<void> {
    for (const learner of status.conf.learners) {
      const progress = status.progress[learner];
      if (progress && progress.match >= status.commit) {
        this.#log.info({ raftId: learner }, 'learner caught up: promoting it to voter');
        await this.#raft.proposeConfChange({ type: 'promote', id: learner });
        return; // One change at a time.
      }
    }
  }

  async #reconcileRoles(status: RaftStatus): Promise<void> {
    const members = new Set([...status.conf.voters, ...status.conf.learners]);
    for (const node of this.#store.state.list('nodes')) {
      const desired = node.spec?.desiredRole ?? pb.NodeRole.NODE_ROLE_WORKER;
      if (
        desired === pb.NodeRole.NODE_ROLE_MANAGER &&
        node.role !== pb.NodeRole.NODE_ROLE_MANAGER
      ) {
        // The node renews its certificate as a manager, then joins Raft itself.
        this.#log.info({ nodeId: node.id }, 'promoting node to manager');
        await this.#store.update((tx) =>
          tx.update('nodes', { ...tx.get('nodes', node.id)!, role: pb.NodeRole.NODE_ROLE_MANAGER }),
        );
        return;
      }
      if (desired === pb.NodeRole.NODE_ROLE_WORKER && node.role === pb.NodeRole.NODE_ROLE_MANAGER) {
        const raftId = node.managerStatus?.raftId ?? 0;
        if (raftId === status.id) {
          // Demoting ourselves: hand leadership over; the next leader removes us.
          this.#log.info({ nodeId: node.id }, 'demoting the leader: transferring leadership first');
          await this.#raft.transferLeadership();
          return;
        }
        if (raftId !== 0 && members.has(raftId)) {
          this.#log.info({ nodeId: node.id, raftId }, 'demoting manager: removing it from Raft');
          await this.#raft.proposeConfChange({ type: 'remove', id: raftId });
        }
        await this.#store.update((tx) =>
          tx.update('nodes', {
            ...tx.get('nodes', node.id)!,
            role: pb.NodeRole.NODE_ROLE_WORKER,
            managerStatus: undefined,
          }),
        );
        return;
      }
    }
  }
}
