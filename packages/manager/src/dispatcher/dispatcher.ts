// The leader's dispatcher: agents' sessions, heartbeats, task status reports and
// assignments (the `shoal.v1.Dispatcher` service). It serves only while started, which
// the manager does on becoming Raft leader, as Swarm does; a stopped dispatcher refuses
// every call with UNAVAILABLE naming the leader, so agents move on at once. See the
// "Dispatcher" section of packages/manager/README.md for the timings and why.
import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { pb, ShoalError } from '@shoal/api';
import type { Logger } from 'pino';
import { LogBroker } from '../logs/log-broker.js';
import { serveLogSubscriptions, servePublishLogs } from '../logs/log-streams.js';
import type { StoreEvent } from '../store/store-watch.js';
import { AssignmentsStream } from './assignments-stream.js';
import type { TimerHandle } from './dispatcher-clock.js';
import {
  endStream,
  NotLeaderDispatchError,
  permissionDenied,
  staleSession,
  toDispatchStatus,
} from './dispatcher-errors.js';
import {
  type CallerIdentity,
  type CompiledDispatcherOptions,
  checkPeriod,
  compileDispatcherOptions,
  type DispatcherCall,
  type DispatcherOptions,
} from './dispatcher-options.js';
import { HeartbeatTracker } from './heartbeat-tracker.js';
import { hostOfPeer } from './peer-address.js';
import { SessionStream } from './session-stream.js';
import { TaskNodeRouter } from './task-node-router.js';
import { TaskStatusBatcher } from './task-status-batcher.js';
import { updateWithRetry } from './update-with-retry.js';

/**
 * `stopped`: not the leader; every call is refused with UNAVAILABLE.
 * `starting`: became leader, waiting for the store to catch up (Raft barrier).
 * `leading`: serving sessions, tracking heartbeats, marking nodes down.
 */
export type DispatcherState = 'stopped' | 'starting' | 'leading';

/** Status message of a node marked down by the dispatcher. */
export const HEARTBEAT_FAILURE = 'heartbeat failure';

/**
 * The dispatcher: serves agents' sessions on the Raft leader.
 *
 * @example
 * const dispatcher = await Dispatcher.create({ store, identify: callerIdentity, managers, log });
 * server.addService(pb.DispatcherService, dispatcher.service());
 * raft.on('leader', () => dispatcher.start()); raft.on('follower', () => dispatcher.stop());
 */
export class Dispatcher {
  readonly #o: CompiledDispatcherOptions;
  readonly #log: Logger;
  readonly #tracker: HeartbeatTracker;
  /** Current session by node ID; a new session of a node replaces the old one. */
  readonly #sessions = new Map<string, SessionStream>();
  readonly #taskRouter = new TaskNodeRouter();
  #state: DispatcherState = 'stopped';
  /** Grows at every start and stop, so async work of an older leadership stops. */
  #term = 0;
  #batcher: TaskStatusBatcher | undefined;
  #sweepTimer: TimerHandle | undefined;
  #nodeWatch: AsyncIterableIterator<StoreEvent> | undefined;
  #managers: pb.WeightedPeer[] = [];
  #managersKey = '';
  /** Nodes found expired, waiting to be written down in one store update. */
  readonly #downPending = new Set<string>();
  #downFlushing = false;
  /**
   * The log broker (see packages/manager/README.md "Logs"): nodes' LogSubscriptions and
   * PublishLogs streams meet Control.ServiceLogs subscribers here.
   */
  readonly logs: LogBroker;

  private constructor(o: CompiledDispatcherOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'dispatcher' });
    this.logs = new LogBroker({ log: o.log });
    this.#tracker = new HeartbeatTracker({
      periodMs: o.heartbeatPeriodMs,
      downTimeoutFactor: o.downTimeoutFactor,
      rng: o.rng,
    });
  }

  /** Validates `options`; the dispatcher starts stopped. */
  static async create(options: DispatcherOptions): Promise<Dispatcher> {
    return new Dispatcher(compileDispatcherOptions(options));
  }

  get state(): DispatcherState {
    return this.#state;
  }

  /** Nodes with an open session. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** The session ID of `nodeId`, if it has one open here. */
  sessionOf(nodeId: string): string | undefined {
    return this.#sessions.get(nodeId)?.id;
  }

  /** The base heartbeat period handed to agents (before jitter). */
  get heartbeatPeriodMs(): number {
    return this.#tracker.periodMs;
  }

  /** How long without a heartbeat before a node is marked down. */
  get downTimeoutMs(): number {
    return this.#tracker.downTimeoutMs;
  }

  /** What a new leader gives every node to reconnect before marking it down. */
  get graceMs(): number {
    return this.#o.graceMs ?? 2 * this.#tracker.downTimeoutMs;
  }

  /**
   * Changes the heartbeat period (the cluster's `spec.dispatcher.heartbeatPeriod`
   * changed); agents get it with their next heartbeat.
   */
  setHeartbeatPeriod(periodMs: number): void {
    checkPeriod('heartbeatPeriodMs', periodMs);
    if (periodMs === this.#tracker.periodMs) return;
    this.#log.info({ from: this.#tracker.periodMs, to: periodMs }, 'heartbeat period changed');
    this.#tracker.setPeriod(periodMs);
  }

  /** The implementation to pass to `server.addService(pb.DispatcherService, …)`. */
  service(): pb.DispatcherServer {
    return {
      session: (call) => {
        this.#openSession(call).catch((error: unknown) => {
          this.#log.debug({ err: error, peer: call.getPeer() }, 'session refused');
          endStream(call, error);
        });
      },
      heartbeat: (call, callback) => {
        try {
          callback(null, this.#heartbeat(call));
        } catch (error) {
          callback(toDispatchStatus(error));
        }
      },
      heartbeats: (call) => this.#heartbeats(call),
      updateTaskStatus: (call, callback) => {
        this.#updateTaskStatus(call).then(
          () => callback(null, {}),
          (error: unknown) => callback(toDispatchStatus(error)),
        );
      },
      assignments: (call) => {
        try {
          this.#openAssignments(call);
        } catch (error) {
          endStream(call, error);
        }
      },
      logSubscriptions: (call) => {
        try {
          this.#openLogSubscriptions(call);
        } catch (error) {
          endStream(call, error);
        }
      },
      publishLogs: (call, callback) => {
        try {
          const action = 'Publish logs';
          const caller = this.#caller(call, action);
          servePublishLogs(call, callback, {
            broker: this.logs,
            nodeId: caller.nodeId,
            checkSession: (sessionId) => this.#session(caller, sessionId, action),
            toStatus: toDispatchStatus,
            log: this.#log,
          });
        } catch (error) {
          callback(toDispatchStatus(error));
        }
      },
    };
  }

  /**
   * Takes up the leader's duties: waits for the store to hold everything committed,
   * gives every node not already down `graceMs` to open a session, then serves.
   * Does nothing unless stopped; rejects (and stays stopped) when the barrier fails.
   */
  async start(): Promise<void> {
    if (!this.#transition(['stopped'], 'starting')) return;
    const term = ++this.#term;
    try {
      await this.#o.store.barrier();
    } catch (error) {
      // Leadership lost during the barrier, or the store failed: serve nothing.
      if (term === this.#term) this.#transition(['starting'], 'stopped');
      throw error;
    }
    if (term !== this.#term) return;
    this.#transition(['starting'], 'leading');
    this.#batcher = new TaskStatusBatcher({
      store: this.#o.store,
      clock: this.#o.clock,
      log: this.#log,
      flushMs: this.#o.statusFlushMs,
      batchSize: this.#o.statusBatchSize,
      concurrency: this.#o.statusFlushConcurrency,
      capacity: this.#o.statusQueueCapacity,
      storeAttempts: this.#o.storeAttempts,
    });
    // The old leader's session state is gone with it: nodes get time to find us before
    // their silence counts (Swarm gives period × 6; see README for ours).
    const deadline = this.#o.clock.now() + this.graceMs;
    let expected = 0;
    for (const node of this.#o.store.state.list('nodes')) {
      if (node.status?.state === pb.NodeStatus_State.STATE_DOWN) continue;
      this.#tracker.expect(node.id, deadline);
      expected++;
    }
    this.#refreshManagers();
    this.#watchNodes(term);
    this.#armSweep();
    this.#log.info({ expected, graceMs: this.graceMs }, 'dispatcher started');
  }

  /**
   * Drops the leader's duties: ends every session with UNAVAILABLE naming the leader,
   * fails queued status reports (agents resend them), forgets deadlines. Safe twice.
   */
  stop(): void {
    if (!this.#transition(['starting', 'leading'], 'stopped')) return;
    this.#term++;
    if (this.#sweepTimer !== undefined) this.#o.clock.clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
    void this.#nodeWatch?.return?.();
    this.#nodeWatch = undefined;
    this.#batcher?.close();
    this.#batcher = undefined;
    this.#tracker.clear();
    this.#downPending.clear();
    this.logs.close();
    const error = new NotLeaderDispatchError('Keep session', this.#o.leaderAddr());
    for (const session of this.#sessions.values()) session.close(error);
    this.#sessions.clear();
    this.#log.info('dispatcher stopped');
  }

  /**
   * Reads `managers()` again and tells every agent if the list changed. The watch of
   * manager nodes calls it; the manager wiring calls it on Raft membership changes.
   */
  refreshManagers(): void {
    if (this.#state === 'leading') this.#refreshManagers();
  }

  #transition(from: readonly DispatcherState[], to: DispatcherState): boolean {
    if (!from.includes(this.#state)) return false;
    this.#log.debug(`${this.#state} -> ${to}`);
    this.#state = to;
    return true;
  }

  /** The caller's identity, if it may call a leader's dispatcher now. */
  #caller(call: DispatcherCall, action: string): CallerIdentity {
    const caller = this.#o.identify(call);
    if (!caller) throw permissionDenied(action, 'the caller presented no node certificate');
    if (this.#state !== 'leading') throw new NotLeaderDispatchError(action, this.#o.leaderAddr());
    return caller;
  }

  /** The caller's session named `sessionId`, or NOT_FOUND so the agent opens a new one. */
  #session(caller: CallerIdentity, sessionId: string, action: string): SessionStream {
    const session = this.#sessions.get(caller.nodeId);
    if (!session || session.id !== sessionId) {
      throw staleSession(action, sessionId, caller.nodeId);
    }
    return session;
  }

  async #openSession(
    call: grpc.ServerWritableStream<pb.SessionRequest, pb.SessionMessage>,
  ): Promise<void> {
    const action = 'Open session';
    const { nodeId } = this.#caller(call, action);
    const term = this.#term;
    if (!this.#isMember(nodeId)) throw notMember(action, nodeId);
    const session = new SessionStream({ id: randomUUID(), nodeId, call });
    const old = this.#sessions.get(nodeId);
    this.#sessions.set(nodeId, session);
    // One session per node: the old stream ends, its agent (if alive) reconnects.
    old?.close();
    call.on('cancelled', () => this.#dropSession(session));
    call.on('error', () => this.#dropSession(session));
    // Opening a session counts as a heartbeat: the node's deadline starts now.
    this.#tracker.beat(nodeId, this.#o.clock.now());
    this.#downPending.delete(nodeId);
    try {
      await this.#writeReady(nodeId, call.request.description, hostOfPeer(call.getPeer()));
    } catch (error) {
      this.#dropSession(session);
      throw error;
    }
    if (term !== this.#term || this.#sessions.get(nodeId) !== session || !session.isOpen) return;
    const node = this.#o.store.state.get('nodes', nodeId);
    if (!node) throw notMember(action, nodeId);
    session.nodeVersion = Math.max(1, node.meta?.version ?? 0);
    session.send({ sessionId: session.id, node, managers: this.#managers });
    this.#log.debug({ nodeId, sessionId: session.id }, 'session opened');
  }

  /** In the store and not on the cluster's removed list (its certificate is refused too). */
  #isMember(nodeId: string): boolean {
    const state = this.#o.store.state;
    if (!state.get('nodes', nodeId)) return false;
    return !state.list('clusters').some((cluster) => cluster.removedNodes.includes(nodeId));
  }

  #dropSession(session: SessionStream): void {
    session.close();
    if (this.#sessions.get(session.nodeId) === session) this.#sessions.delete(session.nodeId);
  }

  /**
   * Records the node's description and READY status with the address its session came
   * from. Skipped when nothing changed (agents reconnecting to a new leader), so a
   * failover costs no store writes for healthy nodes.
   */
  async #writeReady(
    nodeId: string,
    description: pb.NodeDescription | undefined,
    addr: string,
  ): Promise<void> {
    await updateWithRetry(
      this.#o.store,
      (tx) => {
        const node = tx.get('nodes', nodeId);
        if (!node) throw notMember('Open session', nodeId);
        const next: pb.Node = {
          ...node,
          description: description ?? node.description,
          status: { state: pb.NodeStatus_State.STATE_READY, message: '', addr },
        };
        if (sameNode(node, next)) return;
        tx.update('nodes', this.#stamped(next));
      },
      { attempts: this.#o.storeAttempts },
    );
  }

  #heartbeat(call: grpc.ServerUnaryCall<pb.HeartbeatRequest, pb.HeartbeatResponse>) {
    const caller = this.#caller(call, 'Heartbeat');
    this.#session(caller, call.request.sessionId, 'Heartbeat');
    const periodMs = this.#tracker.beat(caller.nodeId, this.#o.clock.now());
    this.#downPending.delete(caller.nodeId);
    return { period: durationOf(periodMs) };
  }

  /**
   * Heartbeats on one stream (see dispatcher.proto): each request is checked and
   * answered as a unary Heartbeat would be; the stream ends with its session, so a
   * stopped dispatcher or a replaced session ends it with the session's status.
   */
  #heartbeats(call: grpc.ServerDuplexStream<pb.HeartbeatRequest, pb.HeartbeatResponse>): void {
    let caller: CallerIdentity;
    try {
      caller = this.#caller(call, 'Heartbeat');
    } catch (error) {
      endStream(call, error);
      return;
    }
    let tied: SessionStream | undefined;
    const child = { close: (error?: unknown) => endStream(call, error) };
    const untie = () => tied?.detach(child);
    call.on('data', (request: pb.HeartbeatRequest) => {
      try {
        const session = this.#session(caller, request.sessionId, 'Heartbeat');
        if (tied !== session) {
          untie();
          tied = session;
          session.attach(child);
        }
        const periodMs = this.#tracker.beat(caller.nodeId, this.#o.clock.now());
        this.#downPending.delete(caller.nodeId);
        // One answer per request, and the agent waits for it: at most one in flight.
        call.write({ period: durationOf(periodMs) });
      } catch (error) {
        untie();
        endStream(call, error);
      }
    });
    call.on('end', () => {
      untie();
      endStream(call);
    });
    call.on('cancelled', untie);
    call.on('error', untie);
  }

  async #updateTaskStatus(
    call: grpc.ServerUnaryCall<pb.UpdateTaskStatusRequest, pb.UpdateTaskStatusResponse>,
  ): Promise<void> {
    const action = 'Update task status';
    const caller = this.#caller(call, action);
    this.#session(caller, call.request.sessionId, action);
    const accepted: { taskId: string; status: pb.TaskStatus }[] = [];
    // All or nothing: one update naming another node's task refuses the whole request.
    for (const { taskId, status } of call.request.updates) {
      if (!status) {
        throw new ShoalError(
          'SHOAL_INVALID_ARGUMENT',
          `${action}: the update of task "${taskId}" carries no status`,
        );
      }
      const task = this.#o.store.state.get('tasks', taskId);
      // A task deleted since the agent saw it: nothing to record, and not an error.
      if (!task) continue;
      if (task.nodeId !== caller.nodeId) {
        throw permissionDenied(
          action,
          `task "${taskId}" is not assigned to node "${caller.nodeId}"`,
        );
      }
      accepted.push({ taskId, status });
    }
    const batcher = this.#batcher;
    if (!batcher) throw new NotLeaderDispatchError(action, this.#o.leaderAddr());
    await batcher.submit(caller.nodeId, accepted);
  }

  #openLogSubscriptions(
    call: grpc.ServerWritableStream<pb.LogSubscriptionsRequest, pb.LogSubscription>,
  ): void {
    const action = 'Watch log subscriptions';
    const caller = this.#caller(call, action);
    const session = this.#session(caller, call.request.sessionId, action);
    const child = serveLogSubscriptions(call, {
      broker: this.logs,
      nodeId: caller.nodeId,
      end: (error) => endStream(call, error),
      onClose: () => session.detach(child),
    });
    session.attach(child);
  }

  #openAssignments(
    call: grpc.ServerWritableStream<pb.AssignmentsRequest, pb.AssignmentsMessage>,
  ): void {
    const caller = this.#caller(call, 'Watch assignments');
    const session = this.#session(caller, call.request.sessionId, 'Watch assignments');
    const stream: AssignmentsStream = new AssignmentsStream({
      call,
      nodeId: caller.nodeId,
      store: this.#o.store,
      router: this.#taskRouter,
      clock: this.#o.clock,
      log: this.#log,
      batchMs: this.#o.assignmentsBatchMs,
      batchSize: this.#o.assignmentsBatchSize,
      onClose: () => session.detach(stream),
    });
    session.attach(stream);
    stream.start();
  }

  #refreshManagers(): void {
    const managers = this.#o.managers();
    const key = JSON.stringify(managers.map((m) => [m.nodeId, m.addr, Number(m.weight)]).sort());
    if (key === this.#managersKey) return;
    const first = this.#managersKey === '';
    this.#managers = managers;
    this.#managersKey = key;
    if (first) return;
    this.#log.info({ managers: managers.map((m) => m.addr) }, 'managers changed');
    for (const session of this.#sessions.values()) this.#pushState(session);
  }

  /** Sends the node's current object and the managers to its agent. */
  #pushState(session: SessionStream): void {
    if (session.nodeVersion === 0) return;
    const node = this.#o.store.state.get('nodes', session.nodeId);
    if (!node) return;
    session.nodeVersion = Math.max(1, node.meta?.version ?? 0);
    session.send({ sessionId: session.id, node, managers: this.#managers });
  }

  /**
   * Follows the nodes and clusters tables: node changes go to their agents; nodes
   * deleted or listed as removed are cut off.
   */
  #watchNodes(term: number): void {
    const watch = this.#o.store.watch({
      fromVersion: this.#o.store.state.version,
      filter: (event) =>
        event.type === 'reset' || event.table === 'nodes' || event.table === 'clusters',
    });
    this.#nodeWatch = watch;
    void (async () => {
      try {
        for await (const event of watch) this.#onNodeEvent(event);
      } catch (error) {
        if (term !== this.#term) return;
        // Fell behind or compacted: resume from now and resend everyone's state.
        this.#log.warn({ err: error }, 'node watch ended: watching again');
        this.#watchNodes(term);
        for (const session of this.#sessions.values()) this.#pushState(session);
        this.#refreshManagers();
      }
    })();
  }

  #onNodeEvent(event: StoreEvent): void {
    if (event.type === 'reset') {
      for (const session of this.#sessions.values()) this.#pushState(session);
      this.#refreshManagers();
      return;
    }
    if (event.table === 'clusters') {
      for (const session of [...this.#sessions.values()]) {
        if (this.#isMember(session.nodeId)) continue;
        this.#tracker.forget(session.nodeId);
        this.#sessions.delete(session.nodeId);
        session.close(notMember('Keep session', session.nodeId));
      }
      return;
    }
    if (event.table !== 'nodes') return;
    const node = event.object;
    const session = this.#sessions.get(node.id);
    if (event.type === 'delete') {
      this.#tracker.forget(node.id);
      this.#downPending.delete(node.id);
      if (session) {
        this.#sessions.delete(node.id);
        session.close(notMember('Keep session', node.id));
      }
    } else if (session && session.nodeVersion > 0 && event.version > session.nodeVersion) {
      // nodeVersion 0: the first message is not sent yet and will carry the node anyway.
      session.nodeVersion = event.version;
      session.send({ sessionId: session.id, node, managers: this.#managers });
    }
    if (node.role === pb.NodeRole.NODE_ROLE_MANAGER || node.managerStatus) {
      this.#refreshManagers();
    }
  }

  #armSweep(): void {
    const interval =
      this.#o.sweepIntervalMs ?? Math.max(10, Math.floor(this.#tracker.periodMs / 5));
    this.#sweepTimer = this.#o.clock.setTimeout(() => {
      this.#sweepTimer = undefined;
      if (this.#state !== 'leading') return;
      for (const nodeId of this.#tracker.expired(this.#o.clock.now())) {
        this.#downPending.add(nodeId);
      }
      void this.#flushDown();
      this.#armSweep();
    }, interval);
  }

  /**
   * Marks the nodes found expired DOWN, many per store update. Each attempt reads the
   * nodes afresh and skips any that came back (a session or heartbeat since) or that
   * are down already; a conflict is retried, a failure waits for the next sweep.
   */
  async #flushDown(): Promise<void> {
    if (this.#downFlushing) return;
    this.#downFlushing = true;
    const term = this.#term;
    try {
      while (this.#downPending.size > 0 && term === this.#term) {
        const batch = [...this.#downPending].slice(0, this.#o.downBatchSize);
        for (const nodeId of batch) this.#downPending.delete(nodeId);
        let marked: string[] = [];
        try {
          await updateWithRetry(
            this.#o.store,
            (tx) => {
              marked = [];
              for (const nodeId of batch) {
                if (this.#tracker.has(nodeId)) continue;
                const node = tx.get('nodes', nodeId);
                if (!node || node.status?.state === pb.NodeStatus_State.STATE_DOWN) continue;
                tx.update(
                  'nodes',
                  this.#stamped({
                    ...node,
                    status: {
                      state: pb.NodeStatus_State.STATE_DOWN,
                      message: HEARTBEAT_FAILURE,
                      addr: node.status?.addr ?? '',
                    },
                  }),
                );
                marked.push(nodeId);
              }
            },
            { attempts: this.#o.storeAttempts },
          );
        } catch (error) {
          if (term !== this.#term) return;
          this.#log.warn({ err: error, nodes: batch.length }, 'mark nodes down failed: retrying');
          // Back in the queue for the next sweep, unless they came back meanwhile.
          for (const nodeId of batch) if (!this.#tracker.has(nodeId)) this.#downPending.add(nodeId);
          return;
        }
        if (marked.length > 0) this.#log.info({ nodes: marked }, 'nodes marked down');
        for (const nodeId of marked) {
          // A session that outlived its heartbeats is stale: end it so the agent re-registers.
          const session = this.#sessions.get(nodeId);
          if (session && !this.#tracker.has(nodeId)) {
            this.#sessions.delete(nodeId);
            session.close(
              new ShoalError(
                'SHOAL_ABORTED',
                `Keep session: node "${nodeId}" missed its heartbeats and is marked down: open a new session`,
              ),
            );
          }
        }
      }
    } finally {
      this.#downFlushing = false;
    }
  }

  #stamped(node: pb.Node): pb.Node {
    const meta = node.meta ?? { version: 0, createdAt: undefined, updatedAt: undefined };
    return { ...node, meta: { ...meta, updatedAt: new Date(Date.now()) } };
  }
}

function notMember(action: string, nodeId: string): ShoalError {
  return permissionDenied(
    action,
    `node "${nodeId}" is not a member of the cluster (removed or never joined): join it again`,
  );
}

function sameNode(a: pb.Node, b: pb.Node): boolean {
  return Buffer.from(pb.Node.encode(a).finish()).equals(pb.Node.encode(b).finish());
}

function durationOf(ms: number): pb.Duration {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}
