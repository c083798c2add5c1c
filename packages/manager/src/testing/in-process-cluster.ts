// A swarm of real managers in one process, for integration tests: each is a `Manager`
// with its own Raft directory and mutual-TLS gRPC port on 127.0.0.1. The logic is the
// daemon's (packages/cli/src/daemon/swarm-node.ts `#init`, `#join`, `#joinRaft`) without
// the daemon: the first manager bootstraps the cluster with a new root CA; the others
// get manager certificates through the CA service with the manager token and join Raft
// through RaftMembership; `create()` resolves once all are voters.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { durationFromMs, isRetryableStatus, isServiceError, pb } from '@shoal/api';
import pino, { type Logger } from 'pino';
import { generateJoinTokens } from '../ca/join-token.js';
import { createNodeKeyAndCsr } from '../ca/node-keys.js';
import { generateRandomId } from '../ca/random-id.js';
import { RootCA } from '../ca/root-ca.js';
import { CRYPTO_RNG } from '../ca/secure-rng.js';
import { clientCredentials, MANAGER_CHANNEL_OPTIONS } from '../ca/tls.js';
import { Manager, type NodeTls } from '../manager/manager.js';
import { newRaftId } from '../manager/raft-membership.js';
import { freeLoopbackPort, pollUntil, unaryCall } from './grpc-call.js';
import { joinNode } from './join-node.js';

/** Where simulated agents join and which managers they may talk to. */
export interface JoinTarget {
  /** A manager's `host:port` to join through. */
  readonly joinAddr: string;
  readonly workerToken: string;
  /** Every manager's `host:port`, running or not (agents learn the live ones). */
  managerAddrs(): readonly string[];
}

/** Options of {@link InProcessCluster.create}. */
export interface InProcessClusterOptions {
  /** @default 3 */
  readonly managers?: number;
  /** The cluster's dispatcher heartbeat period: a node is Down after 2.5 of them. @default 500 */
  readonly heartbeatPeriodMs?: number;
  /** Raft tick. @default 50 */
  readonly tickMs?: number;
  /** Whether managers take tasks; drained by default so tasks go to simulated agents. @default false */
  readonly managersTakeTasks?: boolean;
  /** @default pino at `SHOAL_TEST_LOG` level, or silent */
  readonly log?: Logger;
  /** Gives up on forming the cluster after this long. @default 30000 */
  readonly timeoutMs?: number;
}

/** One manager of the cluster. */
export interface ClusterManager {
  readonly nodeId: string;
  readonly raftId: number;
  /** `127.0.0.1:port`, listened on and advertised. */
  readonly addr: string;
  readonly tls: NodeTls;
  readonly raftDir: string;
  /** The running manager; stopped ones stay listed (`manager.state === 'stopped'`). */
  readonly manager: Manager;
}

/**
 * Three (or N) managers on 127.0.0.1 with mutual TLS.
 *
 * @example
 * const cluster = await InProcessCluster.create({ managers: 3 });
 * const service = await cluster.control((c, md, o, cb) => c.createService({ spec }, md, o, cb));
 * await cluster.close();
 */
export class InProcessCluster implements JoinTarget {
  readonly clusterId: string;
  readonly workerToken: string;
  readonly managerToken: string;
  readonly rootCaPem: string;
  readonly log: Logger;
  readonly #dir: string;
  readonly #managers: ClusterManager[] = [];
  /** Control API clients by manager address, with the first manager's certificate. */
  readonly #controls = new Map<string, pb.ControlClient>();
  #closed = false;

  private constructor(parts: {
    clusterId: string;
    workerToken: string;
    managerToken: string;
    rootCaPem: string;
    log: Logger;
    dir: string;
  }) {
    this.clusterId = parts.clusterId;
    this.workerToken = parts.workerToken;
    this.managerToken = parts.managerToken;
    this.rootCaPem = parts.rootCaPem;
    this.log = parts.log;
    this.#dir = parts.dir;
  }

  /** Bootstraps the first manager, joins the others, waits until all are Raft voters. */
  static async create(options: InProcessClusterOptions = {}): Promise<InProcessCluster> {
    const count = options.managers ?? 3;
    if (!Number.isInteger(count) || count < 1) {
      throw new RangeError(
        `Create cluster: managers must be a whole number of at least 1: got ${count}`,
      );
    }
    const log =
      options.log ?? pino({ level: process.env.SHOAL_TEST_LOG ?? 'silent' }, pino.destination(2));
    const dir = await mkdtemp(join(tmpdir(), 'shoal-cluster-'));
    const ca = await RootCA.create();
    const clusterId = generateRandomId(CRYPTO_RNG);
    const tokens = generateJoinTokens(ca.digest(), CRYPTO_RNG);
    const { certPem: caCertPem, keyPem: caKeyPem } = ca.toPem();
    const cluster = new InProcessCluster({
      clusterId,
      workerToken: tokens.worker,
      managerToken: tokens.manager,
      rootCaPem: caCertPem,
      log,
      dir,
    });
    const timeoutMs = options.timeoutMs ?? 30_000;
    try {
      await cluster.#bootstrap(ca, { caCertPem, caKeyPem, tokens, options });
      for (let i = 1; i < count; i++) await cluster.#joinManager(i, options);
      await pollUntil(
        () => {
          const leader = cluster.leader();
          const voters = leader?.raft.status().conf.voters.length ?? 0;
          return voters === count && cluster.#managers.every((m) => m.manager.raft.leaderId !== 0);
        },
        {
          timeoutMs,
          what: `${count} Raft voters`,
          describe: () => cluster.leader()?.raft.status().conf,
        },
      );
      if (!options.managersTakeTasks) {
        for (const m of cluster.#managers) await cluster.setAvailability(m.nodeId, 'drain');
      }
      return cluster;
    } catch (error) {
      await cluster.close();
      throw error;
    }
  }

  /** The managers, in the order they joined. */
  get managers(): readonly ClusterManager[] {
    return this.#managers;
  }

  get joinAddr(): string {
    const running = this.#managers.find((m) => m.manager.state === 'running');
    return (running ?? this.#managers[0]!).addr;
  }

  managerAddrs(): readonly string[] {
    return this.#managers.map((m) => m.addr);
  }

  /** The running manager that leads, if one does right now. */
  leader(): Manager | undefined {
    return this.#managers.find((m) => m.manager.state === 'running' && m.manager.isLeader)?.manager;
  }

  /** Waits for a running leader (after a failover, say). */
  waitForLeader(options: { timeoutMs?: number } = {}): Promise<Manager> {
    return pollUntil(() => this.leader(), {
      timeoutMs: options.timeoutMs ?? 20_000,
      what: 'a Raft leader among the running managers',
    });
  }

  /** Stops one manager the hard way (no leadership transfer), as a crash would. */
  async stopManager(manager: Manager): Promise<void> {
    await manager.stop({ transferLeadership: false });
  }

  /**
   * One Control API call over mutual TLS with a manager certificate, on the leader when
   * there is one (else any running manager); a retryable refusal (no leader yet, a
   * manager going away) is tried again on whichever manager leads, until `timeoutMs`.
   */
  async control<Res>(
    invoke: (
      client: pb.ControlClient,
      metadata: grpc.Metadata,
      options: grpc.CallOptions,
      callback: (error: grpc.ServiceError | null, response: Res) => void,
    ) => void,
    options: { timeoutMs?: number } = {},
  ): Promise<Res> {
    const deadline = Date.now() + (options.timeoutMs ?? 20_000);
    for (;;) {
      const addr = this.#controlAddr();
      try {
        return await unaryCall<Res>((md, o, cb) => invoke(this.#control(addr), md, o, cb));
      } catch (error) {
        // STYLE 11: the retry decision rests on the status code alone.
        const cause = (error as { cause?: unknown }).cause;
        const retryable = isServiceError(cause) && isRetryableStatus(cause.code);
        if (!retryable || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** Sets a node's availability (`active`, `pause`, `drain`) through the Control API. */
  async setAvailability(nodeId: string, availability: 'active' | 'pause' | 'drain'): Promise<void> {
    const wanted = {
      active: pb.NodeAvailability.NODE_AVAILABILITY_ACTIVE,
      pause: pb.NodeAvailability.NODE_AVAILABILITY_PAUSE,
      drain: pb.NodeAvailability.NODE_AVAILABILITY_DRAIN,
    }[availability];
    const { node } = await this.control<pb.GetNodeResponse>((c, md, o, cb) =>
      c.getNode({ nodeId }, md, o, cb),
    );
    await this.control<pb.UpdateNodeResponse>((c, md, o, cb) =>
      c.updateNode(
        {
          nodeId,
          nodeVersion: node!.meta?.version ?? 0,
          spec: { ...node!.spec!, availability: wanted },
        },
        md,
        o,
        cb,
      ),
    );
  }

  /** Stops every manager (those still running) and removes the directories. Safe twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const client of this.#controls.values()) client.close();
    this.#controls.clear();
    await Promise.all(
      this.#managers.map((m) =>
        m.manager
          .stop({ transferLeadership: false })
          .catch((error: unknown) => this.log.warn({ err: error }, 'manager stop failed')),
      ),
    );
    await rm(this.#dir, { recursive: true, force: true });
  }

  #controlAddr(): string {
    const leader = this.leader();
    const entry =
      this.#managers.find((m) => m.manager === leader) ??
      this.#managers.find((m) => m.manager.state === 'running') ??
      this.#managers[0]!;
    return entry.addr;
  }

  #control(addr: string): pb.ControlClient {
    let client = this.#controls.get(addr);
    if (!client) {
      client = new pb.ControlClient(
        addr,
        clientCredentials({ ...this.#managers[0]!.tls }),
        MANAGER_CHANNEL_OPTIONS,
      );
      this.#controls.set(addr, client);
    }
    return client;
  }

  async #bootstrap(
    ca: RootCA,
    parts: {
      caCertPem: string;
      caKeyPem: string;
      tokens: pb.JoinTokens;
      options: InProcessClusterOptions;
    },
  ): Promise<void> {
    const { caCertPem, caKeyPem, tokens, options } = parts;
    const nodeId = generateRandomId(CRYPTO_RNG);
    const raftId = newRaftId();
    const addr = `127.0.0.1:${await freeLoopbackPort()}`;
    const { cluster, node, tls } = await bootstrapObjects(ca, {
      clusterId: this.clusterId,
      caCertPem,
      caKeyPem,
      tokens,
      nodeId,
      raftId,
      addr,
      heartbeatPeriodMs: options.heartbeatPeriodMs ?? 500,
    });
    await this.#startManager({ nodeId, raftId, addr, tls }, options, {
      bootstrap: { cluster, node },
    });
  }

  /** `#join` then `#joinRaft` of the daemon, for manager `index`. */
  async #joinManager(index: number, options: InProcessClusterOptions): Promise<void> {
    const via = this.#managers[0]!.addr;
    const { nodeId, tls } = await joinNode({
      joinAddr: via,
      token: this.managerToken,
      description: managerDescription(index),
    });
    const addr = `127.0.0.1:${await freeLoopbackPort()}`;
    const client = new pb.RaftMembershipClient(
      this.#leaderAddrOr(via),
      clientCredentials({ ...tls }),
      MANAGER_CHANNEL_OPTIONS,
    );
    try {
      const joined = await unaryCall<pb.RaftJoinResponse>((md, o, cb) =>
        client.join({ addr }, md, o, cb),
      );
      const peers = new Map(
        joined.members
          .filter((m) => m.raftId !== joined.raftId)
          .map((m) => [m.raftId, m.addr] as const),
      );
      await this.#startManager({ nodeId, raftId: joined.raftId, addr, tls }, options, { peers });
    } finally {
      client.close();
    }
  }

  #leaderAddrOr(fallback: string): string {
    return this.leader()?.leaderAddr() ?? fallback;
  }

  async #startManager(
    who: { nodeId: string; raftId: number; addr: string; tls: NodeTls },
    options: InProcessClusterOptions,
    extra: {
      bootstrap?: { cluster: pb.Cluster; node: pb.Node };
      peers?: ReadonlyMap<number, string>;
    },
  ): Promise<void> {
    const raftDir = join(this.#dir, `manager-${this.#managers.length}`);
    const manager = await Manager.start({
      raftDir,
      nodeId: who.nodeId,
      raftId: who.raftId,
      clusterId: this.clusterId,
      listenAddr: who.addr,
      advertiseAddr: who.addr,
      tls: who.tls,
      ...(extra.bootstrap ? { bootstrap: extra.bootstrap } : {}),
      ...(extra.peers ? { peers: extra.peers } : {}),
      log: this.log.child({ manager: this.#managers.length }),
      tickMs: options.tickMs ?? 50,
    });
    this.#managers.push({ ...who, raftDir, manager });
  }
}

/**
 * What the first manager of a new swarm writes (the daemon's `#init`): the cluster with
 * its root CA and join tokens, its own node as Raft leader, and its certificate.
 *
 * @example
 * const { cluster, node, tls } = await bootstrapObjects(ca, { clusterId, caCertPem, caKeyPem, tokens, nodeId, raftId, addr, heartbeatPeriodMs: 5000 });
 */
export async function bootstrapObjects(
  ca: RootCA,
  o: {
    clusterId: string;
    caCertPem: string;
    caKeyPem: string;
    tokens: pb.JoinTokens;
    nodeId: string;
    raftId: number;
    addr: string;
    heartbeatPeriodMs: number;
  },
): Promise<{ cluster: pb.Cluster; node: pb.Node; tls: NodeTls }> {
  const { keyPem, csrPem } = await createNodeKeyAndCsr();
  const certPem = await ca.issueNodeCertificate({
    csrPem,
    nodeId: o.nodeId,
    role: 'manager',
    clusterId: o.clusterId,
  });
  const now = new Date();
  const cluster = pb.Cluster.fromPartial({
    id: o.clusterId,
    meta: { version: 0, createdAt: now, updatedAt: now },
    spec: {
      annotations: { name: 'default', labels: {} },
      orchestration: { taskHistoryRetentionLimit: 5 },
      dispatcher: { heartbeatPeriod: durationFromMs(o.heartbeatPeriodMs) },
      caConfig: { nodeCertExpiry: { seconds: 90 * 24 * 3600, nanos: 0 } },
      defaultAddressPool: ['10.0.0.0/8'],
      subnetSize: 24,
    },
    rootCa: {
      caCert: Buffer.from(o.caCertPem),
      caKey: Buffer.from(o.caKeyPem),
      caCertDigest: ca.digest(),
      joinTokens: o.tokens,
    },
  });
  const node = pb.Node.fromPartial({
    id: o.nodeId,
    meta: { version: 0, createdAt: now, updatedAt: now },
    spec: {
      annotations: { name: '', labels: {} },
      desiredRole: pb.NodeRole.NODE_ROLE_MANAGER,
      availability: pb.NodeAvailability.NODE_AVAILABILITY_ACTIVE,
    },
    role: pb.NodeRole.NODE_ROLE_MANAGER,
    description: managerDescription(0),
    status: { state: pb.NodeStatus_State.STATE_READY, message: '', addr: '127.0.0.1' },
    managerStatus: {
      raftId: o.raftId,
      addr: o.addr,
      leader: true,
      reachability: pb.ManagerStatus_Reachability.REACHABILITY_REACHABLE,
    },
  });
  return { cluster, node, tls: { rootCaPem: o.caCertPem, certPem, keyPem } };
}

/** What a simulated manager declares. */
export function managerDescription(index: number): pb.NodeDescription {
  return pb.NodeDescription.fromPartial({
    hostname: `manager-${index}`,
    os: 'linux',
    arch: 'x64',
    resources: { nanoCpus: 4e9, memoryBytes: 8 * 2 ** 30 },
    engine: { engineVersion: 'simulated', labels: {} },
  });
}
