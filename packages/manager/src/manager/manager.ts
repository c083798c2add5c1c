// A manager: the Raft member, the replicated store, and the mutual-TLS gRPC port that
// serves Control, CA, Raft and RaftMembership to the other nodes; plus the duties only
// the leader carries out. The daemon starts one on manager nodes.
import { mkdir } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { pb, ShoalError } from '@shoal/api';
import { GrpcTransport, RaftNode, type RaftNodeEvent } from '@shoal/raft';
import type { Logger } from 'pino';
import { authorizationInterceptor, callerIdentity } from '../ca/authorize.js';
import { generateJoinToken } from '../ca/join-token.js';
import { generateRandomId } from '../ca/random-id.js';
import { RootCA } from '../ca/root-ca.js';
import { CRYPTO_RNG } from '../ca/secure-rng.js';
import {
  clientCredentials,
  MANAGER_CHANNEL_OPTIONS,
  type NodeServerCredentials,
  serverCredentials,
} from '../ca/tls.js';
import { ControlApi } from '../control/control-api.js';
import { controlService } from '../control/control-service.js';
import { ServiceApi } from '../control/service-api.js';
import { Dispatcher } from '../dispatcher/dispatcher.js';
import {
  DEFAULT_HEARTBEAT_PERIOD_MS,
  heartbeatPeriodOf,
} from '../dispatcher/dispatcher-options.js';
import type { LogBroker } from '../logs/log-broker.js';
import { forwardServiceLogs, ServiceLogs } from '../logs/service-logs.js';
import { OrchestrationDriver } from '../services/orchestration-driver.js';
import { MemoryStore } from '../store/memory-store.js';
import { ReplicatedStore, storeStateMachine } from '../store/replicated-store.js';
import { caService } from './ca-server.js';
import { LeaderDuties } from './leader-duties.js';
import { raftMembershipService, raftPeers } from './raft-membership.js';

/** A node's certificate material, PEM. */
export interface NodeTls {
  readonly rootCaPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** Options of {@link Manager.start}. */
export interface ManagerOptions {
  /** Where Raft keeps its WAL and snapshots. */
  readonly raftDir: string;
  readonly nodeId: string;
  readonly raftId: number;
  readonly clusterId: string;
  /** host:port the cluster port binds. */
  readonly listenAddr: string;
  /** host:port other nodes reach this manager at. */
  readonly advertiseAddr: string;
  readonly tls: NodeTls;
  /** A new cluster: this manager is its only member and writes these objects first. */
  readonly bootstrap?: { readonly cluster: pb.Cluster; readonly node: pb.Node };
  /** Known members when joining an existing cluster (Raft ID -> address). */
  readonly peers?: ReadonlyMap<number, string>;
  readonly log: Logger;
  /** @default 100 */
  readonly tickMs?: number;
  /** Ticks without a leader before a follower campaigns. @default MANAGER_ELECTION_TICK */
  readonly electionTick?: number;
  /** Test-only: certificates may live less than an hour. */
  readonly allowShortCertExpiry?: boolean;
  /** Recover from lost quorum: restart as the only Raft voter, keeping the state. */
  readonly forceNewCluster?: boolean;
}

/**
 * A follower campaigns after [7, 14) ticks, 700 ms to 1.4 s, without hearing from the
 * leader, and a leader steps down after 7 ticks without a quorum. The Raft library's
 * 5 ticks made a manager busy applying a 10,000-task service miss its heartbeats: in
 * bench:scale runs on 2 shared cores, 4 of 6 runs changed leader once or more while
 * converging (9 to 80 s), none of two at 7 or 10 (10.0 and 11.4 s). Failover pays
 * the longer wait (bench:failover).
 */
export const MANAGER_ELECTION_TICK = 7;

/** `running` until `stop()`; then `stopped`. */
export type ManagerState = 'running' | 'stopping' | 'stopped';

/** A running manager. */
export class Manager {
  readonly raft: RaftNode<import('../store/memory-store.js').ApplyResult>;
  readonly store: ReplicatedStore;
  readonly control: ControlApi;
  /** Services and tasks (the Control service's service and task calls). */
  readonly services: ServiceApi;
  /** Control.ServiceLogs: the leader's log broker, or a forward to the leader. */
  readonly logs: ServiceLogs;
  readonly #server: grpc.Server;
  readonly #credentials: NodeServerCredentials;
  readonly #transport: GrpcTransport;
  readonly #duties: LeaderDuties;
  readonly #orchestration: OrchestrationDriver;
  readonly #dispatcher: Dispatcher;
  readonly #log: Logger;
  readonly #advertiseAddr: string;
  #state: ManagerState = 'running';
  #stopPeerWatch: (() => void) | undefined;

  private constructor(parts: {
    raft: RaftNode<import('../store/memory-store.js').ApplyResult>;
    store: ReplicatedStore;
    control: ControlApi;
    services: ServiceApi;
    server: grpc.Server;
    credentials: NodeServerCredentials;
    transport: GrpcTransport;
    duties: LeaderDuties;
    orchestration: OrchestrationDriver;
    log: Logger;
    advertiseAddr: string;
    dispatcher: Dispatcher;
    logs: ServiceLogs;
  }) {
    this.logs = parts.logs;
    this.#dispatcher = parts.dispatcher;
    this.raft = parts.raft;
    this.store = parts.store;
    this.control = parts.control;
    this.services = parts.services;
    this.#server = parts.server;
    this.#credentials = parts.credentials;
    this.#transport = parts.transport;
    this.#duties = parts.duties;
    this.#orchestration = parts.orchestration;
    this.#log = parts.log;
    this.#advertiseAddr = parts.advertiseAddr;
  }

  /** Starts Raft, the store and the cluster port; resolves once the port listens. */
  static async start(options: ManagerOptions): Promise<Manager> {
    // Components bind their own `component`; `base` carries only the node's bindings.
    const base = options.log;
    const log = base.child({ component: 'manager' });
    await mkdir(options.raftDir, { recursive: true, mode: 0o700 });
    const state = new MemoryStore();
    const isRemoved = (nodeId: string) =>
      state.list('clusters')[0]?.removedNodes.includes(nodeId) ?? false;
    const server = new grpc.Server({
      interceptors: [authorizationInterceptor({ clusterId: options.clusterId, isRemoved })],
      'grpc.max_receive_message_length': 256 * 1024 * 1024,
      'grpc.max_send_message_length': 256 * 1024 * 1024,
    });
    const credentials = serverCredentials(options.tls);
    const transport = await GrpcTransport.create({
      id: options.raftId,
      server,
      peers: options.peers ?? new Map(),
      channelCredentials: clientCredentials({ ...options.tls, clusterId: options.clusterId }),
      channelOptions: MANAGER_CHANNEL_OPTIONS,
      logger: base.child({ component: 'raft-transport' }),
    });
    const raft = await RaftNode.create({
      id: options.raftId,
      peers: options.bootstrap ? [options.raftId] : [],
      dataDir: options.raftDir,
      transport,
      stateMachine: storeStateMachine(state),
      tickMs: options.tickMs ?? 100,
      raft: { electionTick: options.electionTick ?? MANAGER_ELECTION_TICK },
      logger: base,
      forceNewCluster: options.forceNewCluster === true,
    });
    const store = new ReplicatedStore(state, raft);
    const now = () => new Date();
    const rootCa = async () => {
      const root = state.list('clusters')[0]?.rootCa;
      if (!root)
        throw new ShoalError('SHOAL_UNAVAILABLE', 'Use root CA: the swarm has no root CA yet');
      return RootCA.fromPem(
        Buffer.from(root.caCert).toString('utf8'),
        Buffer.from(root.caKey).toString('utf8'),
      );
    };
    const services = new ServiceApi({ store, now, rng: CRYPTO_RNG });
    const control = new ControlApi({
      store,
      services,
      now,
      newJoinToken: () => {
        const digest = state.list('clusters')[0]?.rootCa?.caCertDigest ?? '';
        return generateJoinToken(digest, CRYPTO_RNG);
      },
      allowShortCertExpiry: options.allowShortCertExpiry === true,
    });
    let manager: Manager | undefined;
    // Set below, once the dispatcher (which owns the broker) exists.
    let broker: () => LogBroker | undefined = () => undefined;
    const logs = new ServiceLogs({
      store,
      broker: () => (manager?.isLeader ? broker() : undefined),
      // A follower asks the leader over mTLS with this manager's own certificate.
      forward: (request, signal) => {
        const leader = manager?.leaderAddr();
        if (!leader) {
          throw new ShoalError('SHOAL_UNAVAILABLE', 'Read logs: no leader known yet: try again');
        }
        const client = new pb.ControlClient(
          leader,
          clientCredentials({ ...options.tls, clusterId: options.clusterId }),
          MANAGER_CHANNEL_OPTIONS,
        );
        return (async function* () {
          try {
            yield* forwardServiceLogs(client, request, signal);
          } finally {
            client.close();
          }
        })();
      },
    });
    server.addService(
      pb.ControlService,
      controlService(() => control, base.child({ component: 'control' }), { logs: () => logs }),
    );
    server.addService(
      pb.CAService,
      caService({
        store,
        rootCa,
        now,
        newNodeId: () => generateRandomId(CRYPTO_RNG),
        log: base.child({ component: 'ca' }),
        allowShortCertExpiry: options.allowShortCertExpiry === true,
      }),
    );
    server.addService(
      pb.RaftMembershipService,
      raftMembershipService({ store, raft, log: base.child({ component: 'raft-membership' }) }),
    );
    const duties = new LeaderDuties({ store, raft, log: base.child({ component: 'leader' }) });
    const orchestration = new OrchestrationDriver({
      store,
      log: base.child({ component: 'orchestrator' }),
    });
    const dispatcher = await Dispatcher.create({
      store,
      identify: (call) => callerIdentity(call),
      managers: () => managerPeers(store),
      leaderAddr: () => manager?.leaderAddr(),
      log: base,
      heartbeatPeriodMs: heartbeatPeriodOf(state.list('clusters')[0]),
    });
    server.addService(pb.DispatcherService, dispatcher.service());
    broker = () => dispatcher.logs;
    manager = new Manager({
      dispatcher,
      logs,
      raft,
      store,
      control,
      services,
      server,
      credentials,
      transport,
      duties,
      orchestration,
      log,
      advertiseAddr: options.advertiseAddr,
    });
    raft.onEvent((event) => manager.#onRaftEvent(event));
    manager.#watchPeers();
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(options.listenAddr, credentials, (error) =>
        error ? reject(error) : resolve(),
      ),
    ).catch(async (error: unknown) => {
      await manager.stop({ transferLeadership: false });
      throw new ShoalError(
        'SHOAL_FAILED_PRECONDITION',
        `Start manager: cannot listen on "${options.listenAddr}": ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    });
    if (options.bootstrap) await manager.#bootstrap(options.bootstrap);
    log.info(
      { raftId: options.raftId, listen: options.listenAddr, advertise: options.advertiseAddr },
      'manager started',
    );
    return manager;
  }

  get state(): ManagerState {
    return this.#state;
  }

  get isLeader(): boolean {
    return this.raft.isLeader;
  }

  /** The leader's cluster address, when known. */
  leaderAddr(): string | undefined {
    const leader = this.raft.leaderId;
    if (leader === 0) return undefined;
    if (leader === this.raft.id) return this.#advertiseAddr;
    return raftPeers(this.store).get(leader);
  }

  /** Serves renewed certificate material from the next handshake on. */
  updateCertificate(tls: NodeTls): void {
    this.#credentials.updateCertificate(tls);
  }

  /** Stops; a leader hands leadership over first unless told not to. Safe twice. */
  async stop({ transferLeadership = true }: { transferLeadership?: boolean } = {}): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    this.#duties.stop();
    this.#orchestration.stop();
    this.#dispatcher.stop();
    this.#stopPeerWatch?.();
    await this.raft
      .stop({ transferLeadership })
      .catch((error: unknown) => this.#log.warn({ err: error }, 'raft stop failed'));
    await this.#transport.close();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, 2000);
      timer.unref();
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.#state = 'stopped';
    this.#log.info('manager stopped');
  }

  #onRaftEvent(event: RaftNodeEvent): void {
    if (event.type !== 'leaderChanged') return;
    this.#log.info({ term: event.term, leader: event.leaderId }, 'leader changed');
    if (event.leaderId === this.raft.id) {
      this.#duties.start();
      this.#orchestration.start();
      this.#dispatcher.setHeartbeatPeriod(
        heartbeatPeriodOf(this.store.state.list('clusters')[0]) ?? DEFAULT_HEARTBEAT_PERIOD_MS,
      );
      void this.#dispatcher
        .start()
        .catch((error: unknown) => this.#log.error({ err: error }, 'dispatcher failed to start'));
    } else {
      this.#duties.stop();
      this.#orchestration.stop();
      this.#dispatcher.stop();
    }
  }

  /** Keeps the transport's peer addresses in step with the manager statuses in the store. */
  #watchPeers(): void {
    const sync = () => {
      for (const [id, addr] of raftPeers(this.store))
        if (id !== this.raft.id) this.#transport.setPeer(id, addr);
    };
    sync();
    const watch = this.store.watch({ filter: (e) => e.type === 'reset' || e.table === 'nodes' });
    let stopped = false;
    this.#stopPeerWatch = () => {
      stopped = true;
      void watch.return?.();
    };
    void (async () => {
      try {
        for await (const _event of watch) sync();
      } catch (error) {
        if (!stopped) this.#log.warn({ err: error }, 'peer watch ended; restarting it');
        if (!stopped) this.#watchPeers();
      }
    })();
  }

  async #bootstrap(bootstrap: { cluster: pb.Cluster; node: pb.Node }): Promise<void> {
    if (this.store.state.list('clusters').length > 0) return; // Restarted: already written.
    const deadline = Date.now() + 10_000;
    while (!this.raft.isLeader) {
      if (Date.now() > deadline)
        throw new ShoalError(
          'SHOAL_UNAVAILABLE',
          'Initialise swarm: this manager did not become leader within 10 s',
        );
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await this.store.update((tx) => {
      tx.create('clusters', bootstrap.cluster);
      tx.create('nodes', bootstrap.node);
    });
  }
}

/** The managers agents may connect to, as the dispatcher hands them out. */
function managerPeers(store: ReplicatedStore): pb.WeightedPeer[] {
  return store.state
    .list(
      'nodes',
      (n) => n.role === pb.NodeRole.NODE_ROLE_MANAGER && Boolean(n.managerStatus?.addr),
    )
    .map((n) => ({
      nodeId: n.id,
      addr: n.managerStatus!.addr,
      weight: n.managerStatus!.leader ? 2 : 1,
    }));
}
