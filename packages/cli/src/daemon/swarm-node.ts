// The daemon's composition of swarm membership: init, join and leave, the manager on
// manager nodes, the agent's session on every node, certificate renewal and role
// changes. The protocol pieces live in @shoal/manager (CA, Raft, store) and
// @shoal/agent (session); this file only decides which run and feeds them state.
import { networkInterfaces } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import {
  AgentSession,
  DockerLogSource,
  DockerRuntime,
  LogPublisher,
  readEngineFacts,
  TaskExecutor,
} from '@shoal/agent';
import { fromServiceError, isServiceError, pb, ShoalError } from '@shoal/api';
import {
  CRYPTO_RNG,
  clientCredentials,
  createNodeKeyAndCsr,
  generateJoinTokens,
  generateRandomId,
  insecureCaBootstrapCredentials,
  MANAGER_CHANNEL_OPTIONS,
  Manager,
  newRaftId,
  parseJoinToken,
  parseNodeCertificate,
  RootCA,
  renewalDelayMs,
  verifyRootAgainstToken,
} from '@shoal/manager';
import type { Logger } from 'pino';
import type { CompiledDaemonOptions } from './daemon-options.js';
import { type SwarmCertificates, type SwarmState, SwarmStateDir } from './swarm-state.js';

/** The manager port's default, as Docker's. */
export const DEFAULT_MANAGER_PORT = 2377;
const CALL_TIMEOUT_MS = 15_000;
const DAY_MS = 24 * 3600 * 1000;

const NOT_IN_SWARM =
  'This node is not a swarm manager. Use "shoal swarm init" or "shoal swarm join" to connect this node to swarm and try again.';
const WORKER_NODE =
  "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.";

/** Splits `host[:port]`, filling in `defaultPort`. */
export function splitHostPort(
  text: string,
  defaultPort: number,
  flag: string,
): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(text.trim());
  const port = match?.[2] === undefined ? defaultPort : Number(match[2]);
  if (!match || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ShoalError(
      'SHOAL_INVALID_ARGUMENT',
      `Invalid ${flag} "${text}": want IP[:PORT], e.g. 198.18.0.2:2377`,
    );
  }
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/** The one address to advertise when none was given, as Docker picks it. */
function defaultAdvertiseHost(listenHost: string): string {
  if (listenHost !== '0.0.0.0' && listenHost !== '::') return listenHost;
  const addresses = Object.entries(networkInterfaces()).flatMap(([name, infos]) =>
    (infos ?? [])
      .filter((i) => i.family === 'IPv4' && !i.internal)
      .map((i) => ({ name, address: i.address })),
  );
  if (addresses.length === 1) return addresses[0]!.address;
  if (addresses.length === 0) {
    throw new ShoalError(
      'SHOAL_INVALID_ARGUMENT',
      'Choose advertise address: this host has no non-loopback IPv4 address: specify one with --advertise-addr',
    );
  }
  throw new ShoalError(
    'SHOAL_INVALID_ARGUMENT',
    `Choose advertise address: this host has several addresses (${addresses.map((a) => `${a.address} on ${a.name}`).join(', ')}): specify one with --advertise-addr`,
  );
}

function unaryCall<Res>(
  invoke: (callback: (error: grpc.ServiceError | null, response: Res) => void) => void,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    invoke((error, response) =>
      error ? reject(isServiceError(error) ? fromServiceError(error) : error) : resolve(response),
    ),
  );
}

function deadline(): { deadline: Date } {
  return { deadline: new Date(Date.now() + CALL_TIMEOUT_MS) };
}

/** Where a node stands in its swarm. */
export type SwarmNodeState = 'inactive' | 'active';

/** The daemon's swarm membership and the components it runs. */
export class SwarmNode {
  readonly #options: CompiledDaemonOptions;
  readonly #log: Logger;
  /** The daemon's logger without a component: components bind their own. */
  readonly #baseLog: Logger;
  readonly #dir: SwarmStateDir;
  readonly #localNodeId: string;
  #state: SwarmState | undefined;
  #certs: SwarmCertificates | undefined;
  #manager: Manager | undefined;
  #session: AgentSession | undefined;
  /** Runs this node's tasks on its engine; outlives sessions (a role change reopens one). */
  #executor: TaskExecutor | undefined;
  /** Publishes this node's task logs to the leader's log broker; one per session. */
  #logPublisher: LogPublisher | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  /** Serialises init, join, leave and role changes. */
  #busy: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(options: CompiledDaemonOptions, log: Logger, localNodeId: string) {
    this.#options = options;
    this.#baseLog = log;
    this.#log = log.child({ component: 'swarm' });
    this.#dir = new SwarmStateDir(options.dataDir);
    this.#localNodeId = localNodeId;
  }

  /** Opens the node's swarm state and, when it is in a swarm, starts its components. */
  static async open(
    options: CompiledDaemonOptions,
    log: Logger,
    localNodeId: string,
  ): Promise<SwarmNode> {
    const node = new SwarmNode(options, log, localNodeId);
    const saved = await node.#dir.load();
    if (saved) {
      node.#state = saved.state;
      node.#certs = saved.certificates;
      await node.#startComponents();
    }
    return node;
  }

  get state(): SwarmNodeState {
    return this.#state ? 'active' : 'inactive';
  }

  get nodeId(): string {
    return this.#state?.nodeId ?? this.#localNodeId;
  }

  get clusterId(): string {
    return this.#state?.clusterId ?? '';
  }

  get isManager(): boolean {
    return this.#manager !== undefined;
  }

  get advertiseAddr(): string {
    return this.#state?.advertiseAddr ?? '';
  }

  /** The control API, or the error Docker gives on workers and outside a swarm. */
  control(): Manager['control'] {
    if (this.#manager) return this.#manager.control;
    throw new ShoalError('SHOAL_FAILED_PRECONDITION', this.#state ? WORKER_NODE : NOT_IN_SWARM);
  }

  /** Control.ServiceLogs of this node's manager. */
  logs(): Manager['logs'] {
    if (this.#manager) return this.#manager.logs;
    throw new ShoalError('SHOAL_FAILED_PRECONDITION', this.#state ? WORKER_NODE : NOT_IN_SWARM);
  }

  /** Counts and addresses for `shoal info` on a manager. */
  clusterFacts(): { managers: number; nodes: number; managerAddrs: string[] } {
    const nodes = this.#manager?.store.state.list('nodes') ?? [];
    const managers = nodes.filter((n) => n.role === pb.NodeRole.NODE_ROLE_MANAGER);
    return {
      managers: managers.length,
      nodes: nodes.length,
      managerAddrs: managers.map((m) => m.managerStatus?.addr ?? '').filter(Boolean),
    };
  }

  init(request: pb.SwarmInitRequest): Promise<pb.SwarmInitResponse> {
    return this.#exclusive(() => this.#init(request));
  }

  join(request: pb.SwarmJoinRequest): Promise<pb.SwarmJoinResponse> {
    return this.#exclusive(() => this.#join(request));
  }

  leave(request: pb.SwarmLeaveRequest): Promise<void> {
    return this.#exclusive(() => this.#leave(request));
  }

  /** Stops the components; a leader hands leadership over first. Safe twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#stopComponents({ transferLeadership: true });
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#busy.then(work, work);
    this.#busy = next.catch(() => {});
    return next;
  }

  async #description(): Promise<pb.NodeDescription> {
    const engine = await readEngineFacts(this.#options.engineHost).catch((error: unknown) => {
      this.#log.warn({ err: error }, 'engine did not answer: reporting no engine facts');
      return { engineVersion: '', labels: {} };
    });
    return {
      hostname: this.#options.hostname,
      os: process.platform,
      arch: process.arch,
      resources: {
        nanoCpus: this.#options.capacityNanoCpus,
        memoryBytes: this.#options.capacityMemoryBytes,
      },
      engine,
    };
  }

  #addresses(
    listenText: string,
    advertiseText: string,
  ): { listenAddr: string; advertiseAddr: string } {
    const listen = splitHostPort(
      listenText || `0.0.0.0:${DEFAULT_MANAGER_PORT}`,
      DEFAULT_MANAGER_PORT,
      '--listen-addr',
    );
    const advertise = advertiseText
      ? splitHostPort(advertiseText, listen.port, '--advertise-addr')
      : { host: defaultAdvertiseHost(listen.host), port: listen.port };
    return {
      listenAddr: `${listen.host}:${listen.port}`,
      advertiseAddr: `${advertise.host}:${advertise.port}`,
    };
  }

  async #init(request: pb.SwarmInitRequest): Promise<pb.SwarmInitResponse> {
    if (request.forceNewCluster) return this.#forceNewCluster();
    if (this.#state) {
      throw new ShoalError(
        'SHOAL_FAILED_PRECONDITION',
        'This node is already part of a swarm. Use "shoal swarm leave" to leave this swarm and join another one.',
      );
    }
    const { listenAddr, advertiseAddr } = this.#addresses(
      request.listenAddr,
      request.advertiseAddr,
    );
    for (const pool of request.defaultAddrPool) {
      if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(pool)) {
        throw new ShoalError(
          'SHOAL_INVALID_ARGUMENT',
          `Invalid --default-addr-pool "${pool}": want a CIDR such as 10.0.0.0/8`,
        );
      }
    }
    const ca = await RootCA.create();
    const clusterId = generateRandomId(CRYPTO_RNG);
    const nodeId = this.#localNodeId;
    const raftId = newRaftId();
    const { keyPem, csrPem } = await createNodeKeyAndCsr();
    const certPem = await ca.issueNodeCertificate({ csrPem, nodeId, role: 'manager', clusterId });
    const now = new Date();
    const { certPem: caCertPem, keyPem: caKeyPem } = ca.toPem();
    const cluster = pb.Cluster.fromPartial({
      id: clusterId,
      meta: { version: 0, createdAt: now, updatedAt: now },
      spec: {
        annotations: { name: 'default', labels: {} },
        orchestration: { taskHistoryRetentionLimit: 5 },
        dispatcher: {},
        caConfig: { nodeCertExpiry: { seconds: (90 * DAY_MS) / 1000, nanos: 0 } },
        defaultAddressPool: request.defaultAddrPool.length
          ? request.defaultAddrPool
          : ['10.0.0.0/8'],
        subnetSize: request.subnetSize || 24,
      },
      rootCa: {
        caCert: Buffer.from(caCertPem),
        caKey: Buffer.from(caKeyPem),
        caCertDigest: ca.digest(),
        joinTokens: generateJoinTokens(ca.digest(), CRYPTO_RNG),
      },
    });
    const description = await this.#description();
    const self = pb.Node.fromPartial({
      id: nodeId,
      meta: { version: 0, createdAt: now, updatedAt: now },
      spec: {
        annotations: { name: '', labels: {} },
        desiredRole: pb.NodeRole.NODE_ROLE_MANAGER,
        availability: pb.NodeAvailability.NODE_AVAILABILITY_ACTIVE,
      },
      role: pb.NodeRole.NODE_ROLE_MANAGER,
      description,
      status: {
        state: pb.NodeStatus_State.STATE_READY,
        message: '',
        addr: advertiseAddr.replace(/:\d+$/, ''),
      },
      managerStatus: {
        raftId,
        addr: advertiseAddr,
        leader: true,
        reachability: pb.ManagerStatus_Reachability.REACHABILITY_REACHABLE,
      },
    });
    const certificates = { rootCaPem: caCertPem, certPem, keyPem };
    const state: SwarmState = {
      clusterId,
      nodeId,
      role: 'manager',
      listenAddr,
      advertiseAddr,
      raftId,
      managers: [advertiseAddr],
    };
    await this.#dir.clear();
    await this.#dir.saveCertificates(certificates);
    this.#certs = certificates;
    try {
      await this.#startManager(state, { bootstrap: { cluster, node: self } });
    } catch (error) {
      await this.#dir.clear();
      this.#certs = undefined;
      throw error;
    }
    await this.#dir.saveState(state);
    this.#state = state;
    await this.#startSession();
    this.#scheduleRenewal();
    this.#log.info({ clusterId, nodeId, advertiseAddr }, 'swarm initialised');
    return {
      nodeId,
      clusterId,
      workerToken: cluster.rootCa!.joinTokens!.worker,
      joinAddr: advertiseAddr,
    };
  }

  /** Restarts this manager as the only Raft voter, keeping the swarm's state. */
  async #forceNewCluster(): Promise<pb.SwarmInitResponse> {
    const state = this.#state;
    if (state?.role !== 'manager') {
      throw new ShoalError(
        'SHOAL_FAILED_PRECONDITION',
        'Initialise swarm: --force-new-cluster needs a node that was a manager of a swarm: this node is not',
      );
    }
    await this.#stopComponents({ transferLeadership: false });
    await this.#startManager(state, { forceNewCluster: true });
    const manager = this.#manager!;
    const deadline = Date.now() + 10_000;
    while (!manager.isLeader && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await this.#startSession();
    this.#scheduleRenewal();
    const { cluster } = await manager.control.getCluster({ clusterId: '' });
    this.#log.warn(
      { clusterId: state.clusterId },
      'forced a new cluster: this manager is the only Raft member now',
    );
    return {
      nodeId: state.nodeId,
      clusterId: state.clusterId,
      workerToken: cluster?.rootCa?.joinTokens?.worker ?? '',
      joinAddr: state.advertiseAddr,
    };
  }

  async #join(request: pb.SwarmJoinRequest): Promise<pb.SwarmJoinResponse> {
    if (this.#state) {
      throw new ShoalError(
        'SHOAL_FAILED_PRECONDITION',
        'This node is already part of a swarm. Use "shoal swarm leave" to leave this swarm and join another one.',
      );
    }
    const token = parseJoinToken(request.token);
    const remote = splitHostPort(request.remoteAddr, DEFAULT_MANAGER_PORT, 'manager address');
    const remoteAddr = `${remote.host}:${remote.port}`;
    const { listenAddr, advertiseAddr } = this.#addresses(
      request.listenAddr,
      request.advertiseAddr,
    );
    // 1. The root CA, over TLS we cannot verify yet; trusted only if it matches the token.
    const bootstrap = new pb.CAClient(
      remoteAddr,
      insecureCaBootstrapCredentials(),
      MANAGER_CHANNEL_OPTIONS,
    );
    let rootCaPem: string;
    try {
      const response = await unaryCall<pb.GetRootCACertificateResponse>((cb) =>
        bootstrap.getRootCaCertificate({}, new grpc.Metadata(), deadline(), cb),
      ).catch((error: unknown) => {
        throw new ShoalError(
          'SHOAL_UNAVAILABLE',
          `Join swarm: cannot reach a manager at "${remoteAddr}": ${(error as Error).message}`,
          { cause: error },
        );
      });
      rootCaPem = Buffer.from(response.certificate).toString('utf8');
    } finally {
      bootstrap.close();
    }
    verifyRootAgainstToken(rootCaPem, token);
    // 2. A certificate for a fresh key, granted for the token's secret.
    const { keyPem, csrPem } = await createNodeKeyAndCsr();
    const ca = new pb.CAClient(
      remoteAddr,
      clientCredentials({ rootCaPem }),
      MANAGER_CHANNEL_OPTIONS,
    );
    let certPem: string;
    let nodeId: string;
    const description = await this.#description();
    try {
      const issued = await unaryCall<pb.IssueNodeCertificateResponse>((cb) =>
        ca.issueNodeCertificate(
          {
            csr: Buffer.from(csrPem),
            token: request.token,
            availabilityHint: '',
            description,
            role: pb.NodeRole.NODE_ROLE_WORKER,
            requestedNodeId: this.#localNodeId,
            advertiseAddr: advertiseAddr.replace(/:\d+$/, ''),
          },
          new grpc.Metadata(),
          deadline(),
          cb,
        ),
      );
      nodeId = issued.nodeId;
      const status = await unaryCall<pb.NodeCertificateStatusResponse>((cb) =>
        ca.nodeCertificateStatus({ nodeId }, new grpc.Metadata(), deadline(), cb),
      );
      if (
        status.state !== pb.NodeCertificateStatusResponse_IssuanceState.ISSUANCE_STATE_ISSUED ||
        !status.certificate
      ) {
        throw new ShoalError(
          'SHOAL_UNAVAILABLE',
          `Join swarm: the manager issued no certificate: ${status.err || 'unknown reason'}`,
        );
      }
      certPem = Buffer.from(status.certificate.certificate).toString('utf8');
    } finally {
      ca.close();
    }
    const cert = parseNodeCertificate(certPem);
    const certificates = { rootCaPem, certPem, keyPem };
    await this.#dir.clear();
    await this.#dir.saveCertificates(certificates);
    this.#certs = certificates;
    let state: SwarmState = {
      clusterId: cert.clusterId,
      nodeId,
      role: cert.role,
      listenAddr,
      advertiseAddr,
      raftId: 0,
      managers: [remoteAddr],
    };
    if (cert.role === 'manager') state = await this.#joinRaft(state, remoteAddr);
    await this.#dir.saveState(state);
    this.#state = state;
    await this.#startSession();
    this.#scheduleRenewal();
    this.#log.info({ nodeId, role: cert.role, manager: remoteAddr }, 'joined swarm');
    return { nodeId, manager: cert.role === 'manager' };
  }

  /** Asks a manager to add this node to Raft, then starts the local manager. */
  async #joinRaft(state: SwarmState, via: string): Promise<SwarmState> {
    const client = new pb.RaftMembershipClient(
      via,
      clientCredentials({ ...this.#certs! }),
      MANAGER_CHANNEL_OPTIONS,
    );
    try {
      const joined = await unaryCall<pb.RaftJoinResponse>((cb) =>
        client.join({ addr: state.advertiseAddr }, new grpc.Metadata(), deadline(), cb),
      );
      const peers = new Map(
        joined.members
          .filter((m) => m.raftId !== joined.raftId)
          .map((m) => [m.raftId, m.addr] as const),
      );
      const next = { ...state, raftId: joined.raftId, role: 'manager' as const };
      await this.#startManager(next, { peers });
      return next;
    } finally {
      client.close();
    }
  }

  async #leave(request: pb.SwarmLeaveRequest): Promise<void> {
    if (!this.#state)
      throw new ShoalError('SHOAL_FAILED_PRECONDITION', 'This node is not part of a swarm');
    if (this.#manager) {
      const facts = this.#manager.store.state.list(
        'nodes',
        (n) => n.role === pb.NodeRole.NODE_ROLE_MANAGER,
      );
      const reachable = facts.filter(
        (n) =>
          n.id !== this.nodeId &&
          n.managerStatus?.reachability === pb.ManagerStatus_Reachability.REACHABILITY_REACHABLE,
      ).length;
      const remaining = facts.length - 1;
      const quorum = Math.floor(remaining / 2) + 1;
      if (!request.force && (remaining === 0 || reachable < quorum)) {
        throw new ShoalError(
          'SHOAL_FAILED_PRECONDITION',
          `You are attempting to leave the swarm on a node that is participating as a manager. Removing this node leaves ${reachable} reachable managers out of ${remaining}, and ${quorum} are needed for quorum. Without a Raft quorum your swarm will be inaccessible. Use \`--force\` to ignore this message.`,
        );
      }
      if (remaining > 0) {
        // Mark ourselves a worker so the leader removes us from Raft, as a demotion would.
        await this.#manager.control
          .getNode({ nodeId: this.nodeId })
          .then(({ node }) =>
            this.#manager!.control.updateNode({
              nodeId: this.nodeId,
              nodeVersion: node!.meta?.version ?? 0,
              spec: { ...node!.spec!, desiredRole: pb.NodeRole.NODE_ROLE_WORKER },
            }),
          )
          .catch((error: unknown) => {
            if (!request.force) throw error;
            this.#log.warn(
              { err: error },
              'could not demote this manager before leaving; leaving anyway (--force)',
            );
          });
      }
    }
    await this.#stopComponents({ transferLeadership: true, removeTasks: true });
    await this.#dir.clear();
    this.#state = undefined;
    this.#certs = undefined;
    this.#log.info('left the swarm');
  }

  async #startComponents(): Promise<void> {
    const state = this.#state!;
    if (state.role === 'manager') await this.#startManager(state, {});
    await this.#startSession();
    this.#scheduleRenewal();
  }

  async #startManager(
    state: SwarmState,
    extra: {
      bootstrap?: Parameters<typeof Manager.start>[0]['bootstrap'];
      peers?: ReadonlyMap<number, string>;
      forceNewCluster?: boolean;
    },
  ): Promise<void> {
    this.#manager = await Manager.start({
      raftDir: this.#dir.raftDir,
      nodeId: state.nodeId,
      raftId: state.raftId,
      clusterId: state.clusterId,
      listenAddr: state.listenAddr,
      advertiseAddr: state.advertiseAddr,
      tls: this.#certs!,
      ...(extra.bootstrap ? { bootstrap: extra.bootstrap } : {}),
      ...(extra.peers ? { peers: extra.peers } : {}),
      forceNewCluster: extra.forceNewCluster === true,
      log: this.#baseLog,
    });
  }

  async #startSession(): Promise<void> {
    const state = this.#state ?? undefined;
    const managers = this.#manager ? [state?.advertiseAddr ?? ''] : [...(state?.managers ?? [])];
    const session = await AgentSession.start({
      managers: managers.filter(Boolean),
      credentials: clientCredentials({ ...this.#certs! }),
      channelOptions: MANAGER_CHANNEL_OPTIONS,
      description: await this.#description(),
      log: this.#baseLog,
    });
    this.#session = session;
    void this.#followSession(session);
    await this.#startExecutor();
    void this.#executor
      ?.follow(session.assignments())
      .catch((error: unknown) => this.#log.warn({ err: error }, 'assignments stream ended'));
    await this.#startLogPublisher(session);
  }

  /** Next to the executor: serves `service logs` from this node's containers. */
  async #startLogPublisher(session: AgentSession): Promise<void> {
    await this.#logPublisher?.close();
    this.#logPublisher = undefined;
    if (!this.#executor) return;
    const source = await DockerLogSource.connect({ engineHost: this.#options.engineHost });
    if (this.#session !== session) return;
    this.#logPublisher = LogPublisher.start({
      session,
      credentials: clientCredentials({ ...this.#certs! }),
      channelOptions: MANAGER_CHANNEL_OPTIONS,
      source,
      log: this.#baseLog,
    });
  }

  async #startExecutor(): Promise<void> {
    if (this.#executor || !this.#state) return;
    const runtime = await DockerRuntime.connect({ engineHost: this.#options.engineHost });
    this.#executor = await TaskExecutor.start({
      runtime,
      nodeId: this.#state.nodeId,
      log: this.#baseLog,
      report: (updates) => {
        const session = this.#session;
        if (!session) {
          return Promise.reject(
            new ShoalError('SHOAL_UNAVAILABLE', 'Report task status: no session with a manager'),
          );
        }
        return session.reportTaskStatus(updates);
      },
    });
  }

  /** Keeps the saved manager list fresh and acts on role changes the managers make. */
  async #followSession(session: AgentSession): Promise<void> {
    try {
      for await (const event of session.events()) {
        if (this.#closed || this.#session !== session) return;
        if (event.type === 'managers' && this.#state) {
          const managers = event.list.filter(Boolean);
          if (managers.length && managers.join() !== this.#state.managers.join()) {
            this.#state = { ...this.#state, managers };
            await this.#dir.saveState(this.#state);
          }
        }
        if (event.type === 'node' && this.#state) {
          const role = event.node.role === pb.NodeRole.NODE_ROLE_MANAGER ? 'manager' : 'worker';
          if (role !== this.#state.role) void this.#exclusive(() => this.#changeRole(role));
        }
      }
    } catch (error) {
      this.#log.warn({ err: error }, 'agent session events ended');
    }
  }

  /** Renews the certificate for the new role, then starts or stops the manager. */
  async #changeRole(role: 'worker' | 'manager'): Promise<void> {
    if (!this.#state || this.#state.role === role) return;
    this.#log.info({ from: this.#state.role, to: role }, 'role changed: renewing the certificate');
    await this.#renewCertificate();
    let state: SwarmState = { ...this.#state, role };
    if (role === 'manager') {
      const via = this.#state.managers[0] ?? '';
      state = await this.#joinRaft(state, via);
    } else {
      const manager = this.#manager;
      this.#manager = undefined;
      await manager?.stop({ transferLeadership: true });
      await this.#dir.clearRaft();
      state = { ...state, raftId: 0 };
    }
    this.#state = state;
    await this.#dir.saveState(state);
    // The session reconnects with the new certificate (and, for a manager, its own port).
    await this.#session?.close();
    await this.#startSession();
  }

  async #renewCertificate(): Promise<void> {
    const state = this.#state;
    const current = this.#certs;
    if (!state || !current) return;
    const { keyPem, csrPem } = await createNodeKeyAndCsr();
    // Other managers first: during a demotion this node's own manager has already left Raft.
    const targets = [
      ...new Set([
        ...state.managers.filter((m) => m !== state.advertiseAddr),
        ...(this.#manager ? [state.advertiseAddr] : []),
      ]),
    ];
    let lastError: unknown;
    for (const addr of targets) {
      const ca = new pb.CAClient(addr, clientCredentials({ ...current }), MANAGER_CHANNEL_OPTIONS);
      try {
        const issued = await unaryCall<pb.IssueNodeCertificateResponse>((cb) =>
          ca.issueNodeCertificate(
            {
              csr: Buffer.from(csrPem),
              token: '',
              availabilityHint: '',
              description: undefined,
              role: pb.NodeRole.NODE_ROLE_WORKER,
              requestedNodeId: '',
              advertiseAddr: '',
            },
            new grpc.Metadata(),
            deadline(),
            cb,
          ),
        );
        const status = await unaryCall<pb.NodeCertificateStatusResponse>((cb) =>
          ca.nodeCertificateStatus({ nodeId: issued.nodeId }, new grpc.Metadata(), deadline(), cb),
        );
        if (!status.certificate)
          throw new ShoalError('SHOAL_UNAVAILABLE', `Renew certificate: ${status.err}`);
        const certificates: SwarmCertificates = {
          rootCaPem: current.rootCaPem,
          certPem: Buffer.from(status.certificate.certificate).toString('utf8'),
          keyPem,
        };
        await this.#dir.saveCertificates(certificates);
        this.#certs = certificates;
        this.#manager?.updateCertificate(certificates);
        this.#log.info(
          { role: parseNodeCertificate(certificates.certPem).role },
          'certificate renewed',
        );
        this.#scheduleRenewal();
        return;
      } catch (error) {
        lastError = error;
      } finally {
        ca.close();
      }
    }
    throw new ShoalError(
      'SHOAL_UNAVAILABLE',
      `Renew certificate: no manager answered: ${(lastError as Error | undefined)?.message ?? 'none known'}`,
      {
        cause: lastError,
      },
    );
  }

  #scheduleRenewal(): void {
    if (this.#renewTimer) clearTimeout(this.#renewTimer);
    if (!this.#certs) return;
    const cert = parseNodeCertificate(this.#certs.certPem);
    const delay = renewalDelayMs(cert, {
      now: Date.now(),
      rng: { int: (n: number) => Math.floor(Math.random() * n) },
    });
    // setTimeout holds at most 2^31-1 ms (~24.8 days): re-arm in steps.
    const step = Math.min(delay, 2 ** 31 - 1);
    this.#renewTimer = setTimeout(() => {
      if (step < delay) return this.#scheduleRenewal();
      void this.#exclusive(() => this.#renewCertificate()).catch((error: unknown) => {
        this.#log.warn({ err: error }, 'certificate renewal failed; retrying in 1 min');
        this.#renewTimer = setTimeout(() => this.#scheduleRenewal(), 60_000);
        this.#renewTimer.unref();
      });
    }, step);
    this.#renewTimer.unref();
  }

  async #stopComponents(options: {
    transferLeadership: boolean;
    removeTasks?: boolean;
  }): Promise<void> {
    if (this.#renewTimer) clearTimeout(this.#renewTimer);
    this.#renewTimer = undefined;
    const executor = this.#executor;
    this.#executor = undefined;
    if (executor && options.removeTasks) {
      // Leaving the swarm: its tasks go with it. A daemon that only stops leaves them
      // running, and the next start adopts them. A container the engine would not remove
      // does not keep the node in the swarm; the log names it for the operator.
      await executor.removeAll().catch((error: unknown) => {
        this.#log.error({ err: error }, 'left the swarm with task containers still on the engine');
      });
    }
    await executor?.close();
    const logPublisher = this.#logPublisher;
    this.#logPublisher = undefined;
    await logPublisher?.close();
    const session = this.#session;
    this.#session = undefined;
    await session?.close();
    const manager = this.#manager;
    this.#manager = undefined;
    await manager?.stop(options);
  }
}
