// The agent's session with the managers: one Session stream on the leader, heartbeats at
// the period it hands out, and a quick move to another manager when the stream ends,
// a heartbeat fails or a manager answers that it is not the leader. A new leader
// answers within about 2 s of the old one's death (Raft elections take 0.5–1 s), so the
// first move is immediate and later ones wait at most `maxRetryDelayMs`, not Swarm's
// growing backoff up to 8 s.
import * as grpc from '@grpc/grpc-js';
import { ERROR_CODE_TRAILER, fromServiceError, pb, ShoalError } from '@shoal/api';
import type { Logger } from 'pino';
import { AssignmentSet } from './assignment-set.js';
import { LatestValue } from './latest-value.js';
import { LEADER_ADDR_TRAILER, ManagerRotation, verdictOf } from './manager-rotation.js';
import { type AgentSessionEvent, EventFanout } from './session-events.js';

/** Timers of the session loop; tests may pass fakes. */
export interface AgentTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

const SYSTEM_TIMERS: AgentTimers = {
  // Unref'ed: a session alone must not keep a stopping daemon alive.
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/** Options of {@link AgentSession.start}. */
export interface AgentSessionOptions {
  /** Managers' addresses (`host:port`) to start from; session messages update them. */
  readonly managers: readonly string[];
  /** mTLS with the node's certificate in production; insecure in tests. */
  readonly credentials: grpc.ChannelCredentials;
  /** What this node offers, recorded by the manager at each session start. */
  readonly description: pb.NodeDescription;
  readonly log: Logger;
  /** @default real timers, unref'ed */
  readonly timers?: AgentTimers;
  /** A float in [0, 1) for retry jitter. @default Math.random */
  readonly random?: () => number;
  /** Moves on when a manager sends no first session message this soon. @default 3000 */
  readonly openTimeoutMs?: number;
  /**
   * Longest pause between attempts when several fail in a row. It bounds both how soon
   * an agent finds a new leader and how hard N agents knock on the managers while an
   * election runs (about N per this many ms). @default 1000
   */
  readonly maxRetryDelayMs?: number;
  /** Deadline of a task status report. @default 5000 */
  readonly callTimeoutMs?: number;
  /** Events a slow reader may lag before the oldest are dropped. @default 256 */
  readonly eventCapacity?: number;
  /** Extra grpc-js channel options (merged over the fast-reconnect defaults). */
  readonly channelOptions?: grpc.ChannelOptions;
}

/** {@link AgentSessionOptions} with defaults filled in. */
export type CompiledAgentSessionOptions = Required<Omit<AgentSessionOptions, 'channelOptions'>> & {
  readonly channelOptions: grpc.ChannelOptions;
};

/**
 * Validates `options` once and fills in defaults (STYLE 24).
 *
 * @example
 * const o = compileAgentSessionOptions({ managers: ['10.0.0.1:2377'], credentials, description, log });
 * o.openTimeoutMs; // 3000
 */
export function compileAgentSessionOptions(
  options: AgentSessionOptions,
): CompiledAgentSessionOptions {
  const o: CompiledAgentSessionOptions = {
    timers: SYSTEM_TIMERS,
    random: Math.random,
    openTimeoutMs: 3000,
    maxRetryDelayMs: 1000,
    callTimeoutMs: 5000,
    eventCapacity: 256,
    ...options,
    channelOptions: options.channelOptions ?? {},
  };
  for (const name of [
    'openTimeoutMs',
    'maxRetryDelayMs',
    'callTimeoutMs',
    'eventCapacity',
  ] as const) {
    if (!Number.isInteger(o[name]) || o[name] < 1) {
      throw new RangeError(
        `Start agent session: ${name} must be a whole number of at least 1: got ${o[name]}`,
      );
    }
  }
  return o;
}

/**
 * `connecting`: looking for the leader (no session); `connected`: a session is open and
 * heartbeats run; `closed`: stopped by `close()` or refused for good (see `closed()`).
 */
export type AgentSessionState = 'connecting' | 'connected' | 'closed';

/** How one session attempt ended. */
interface SessionEnd {
  readonly code: grpc.status;
  readonly reason: string;
  readonly leaderAddr: string | undefined;
  /** Whether the session got as far as its first message. */
  readonly opened: boolean;
  /** Whether a heartbeat was answered: the session worked, not just opened. */
  readonly healthy: boolean;
  readonly error: ShoalError | undefined;
  /**
   * Whether the manager itself answered (its refusal carries Shoal's error trailer), as
   * opposed to a connection that failed or a call that got no answer in time.
   */
  readonly answered: boolean;
}

/** What the manager assigned to this node, by ID. */
export interface Assignments {
  readonly tasks: ReadonlyMap<string, pb.Task>;
  /** The networks the tasks are attached to (VNI, subnets), for the overlay. */
  readonly networks: ReadonlyMap<string, pb.Network>;
  /** The store version the set is at (`results_in` of the last message). */
  readonly version: string;
}

/** An unanswered heartbeat fails the session after this many periods. */
const HEARTBEAT_TIMEOUT_PERIODS = 2.5;

/**
 * A manager that did not answer (connection failed, or no answer in time) is passed
 * over for this long when another one may serve: a host that died silently makes every
 * call to it hang until a timeout.
 */
const SUSPECT_MS = 5000;

/** Heartbeat period used until a manager hands one out. */
const FIRST_PERIOD_MS = 1000;

/**
 * The node's session with the managers.
 *
 * @example
 * const session = await AgentSession.start({ managers: ['10.0.0.1:2377'], credentials, description, log });
 * for await (const event of session.events()) if (event.type === 'connected') log.info(event);
 * await session.close();
 */
export class AgentSession {
  readonly #o: CompiledAgentSessionOptions;
  readonly #log: Logger;
  readonly #rotation: ManagerRotation;
  readonly #clients = new Map<string, pb.DispatcherClient>();
  /** Managers that did not answer lately → until when they are passed over. */
  readonly #suspects = new Map<string, number>();
  readonly #events: EventFanout<AgentSessionEvent>;
  /** The tasks assigned to this node, kept across sessions until a new COMPLETE set. */
  readonly #assignmentSet = new AssignmentSet();
  readonly #assignments = new LatestValue<Assignments>();
  #state: AgentSessionState = 'connecting';
  #sessionId: string | undefined;
  #manager: string | undefined;
  #periodMs = FIRST_PERIOD_MS;
  /** Ends the session attempt in progress (set while one runs). */
  #endAttempt: (() => void) | undefined;
  /** Cuts short the pause between attempts. */
  #wake: (() => void) | undefined;
  /** Where and why the session closed, for post-mortems (STYLE 36). */
  #whyClosed: Error | undefined;
  readonly #closedPromise: Promise<Error | undefined>;
  #resolveClosed!: (reason: Error | undefined) => void;
  #loop: Promise<void> | undefined;

  private constructor(options: AgentSessionOptions) {
    this.#o = compileAgentSessionOptions(options);
    this.#log = options.log.child({ component: 'agent-session' });
    this.#rotation = new ManagerRotation(options.managers);
    this.#events = new EventFanout(this.#o.eventCapacity);
    this.#closedPromise = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /**
   * Opens channels to the managers and starts looking for the leader; resolves at once
   * (watch `events()` for `connected`). Throws RangeError without managers.
   */
  static async start(options: AgentSessionOptions): Promise<AgentSession> {
    const session = new AgentSession(options);
    session.#syncChannels();
    session.#loop = session.#run();
    return session;
  }

  get state(): AgentSessionState {
    return this.#state;
  }

  /** The open session's ID, undefined while connecting. */
  get sessionId(): string | undefined {
    return this.#sessionId;
  }

  /** The manager the open session is on. */
  get manager(): string | undefined {
    return this.#manager;
  }

  /** The managers known now. */
  get managers(): readonly string[] {
    return this.#rotation.list;
  }

  /** The heartbeat period the manager handed out last. */
  get heartbeatPeriodMs(): number {
    return this.#periodMs;
  }

  /** Events from now on, until the session closes. */
  events(): AsyncIterableIterator<AgentSessionEvent> {
    return this.#events.subscribe();
  }

  /**
   * The tasks assigned to this node and their networks: the current set at once if one
   * was received, then each new one. A slow reader skips to the newest set, which is what a
   * reconciler wants. The set survives a lost session (tasks keep running while the
   * agent looks for the leader) and is replaced by the next session's COMPLETE set.
   */
  assignments(): AsyncIterableIterator<Assignments> {
    return this.#assignments.subscribe();
  }

  /**
   * Reports task states on the open session; resolves once the leader has written
   * them. Rejects (SHOAL_UNAVAILABLE) while no session is open: the caller keeps the
   * reports and sends them again after `connected`.
   */
  async reportTaskStatus(
    updates: pb.UpdateTaskStatusRequest_TaskStatusUpdate[],
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const sessionId = this.#sessionId;
    const manager = this.#manager;
    if (!sessionId || !manager) {
      throw new ShoalError('SHOAL_UNAVAILABLE', 'Report task status: no session is open: retry');
    }
    options.signal?.throwIfAborted();
    const client = this.#client(manager);
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => call.cancel();
      const call = client.updateTaskStatus(
        { sessionId, updates },
        new grpc.Metadata(),
        { deadline: Date.now() + this.#o.callTimeoutMs },
        (error) => {
          options.signal?.removeEventListener('abort', onAbort);
          if (!error) return resolve();
          if (options.signal?.aborted) return reject(options.signal.reason);
          reject(fromServiceError(error));
        },
      );
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Ends the session and closes the channels. Safe twice. */
  async close(): Promise<void> {
    this.#shutdown(undefined);
    await this.#loop;
  }

  /** Why the session closed (with the stack of the closing call), once closed. */
  get whyClosed(): Error | undefined {
    return this.#whyClosed;
  }

  /** Resolves when closed: undefined after `close()`, the error when refused for good. */
  closed(): Promise<Error | undefined> {
    return this.#closedPromise;
  }

  /** Moves to `to` from one of `from`, tracing the move; ignores any other move. */
  #transition(from: readonly AgentSessionState[], to: AgentSessionState): void {
    if (!from.includes(this.#state)) return;
    this.#log.debug(`${this.#state} -> ${to}`);
    this.#state = to;
  }

  /** Read after an await, where TypeScript's narrowing of `#state` no longer holds. */
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #shutdown(reason: Error | undefined): void {
    if (this.#state === 'closed') return;
    this.#whyClosed = reason ?? new Error('AgentSession closed by close()');
    this.#transition(['connecting', 'connected'], 'closed');
    this.#endAttempt?.();
    this.#wake?.();
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
    this.#events.close();
    this.#assignments.close();
    this.#sessionId = undefined;
    this.#manager = undefined;
    this.#log.info({ reason: reason?.message }, 'agent session closed');
    this.#resolveClosed(reason);
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (this.#state !== 'closed') {
      const manager = this.#rotation.current;
      const end = await this.#attempt(manager);
      if (this.#isClosed()) return;
      // Only a session that carried a heartbeat resets the pause: one that opens and
      // ends at once (two agents with one identity replacing each other) backs off.
      failures = end.healthy ? 1 : failures + 1;
      if (end.opened) {
        this.#events.publish({ type: 'disconnected', manager, reason: end.reason });
      }
      // A lost session is news; a refused attempt while looking for the leader is not
      // (there are a few a second during an election).
      this.#log[end.opened ? 'info' : 'debug'](
        { manager, code: grpc.status[end.code], reason: end.reason, leader: end.leaderAddr },
        end.opened ? 'session ended' : 'session attempt failed',
      );
      if (end.answered || end.opened) this.#suspects.delete(manager);
      else this.#suspects.set(manager, performance.now() + SUSPECT_MS);
      const verdict = verdictOf(end.code, end.leaderAddr);
      if (verdict.action === 'fatal') {
        this.#shutdown(end.error ?? new Error(end.reason));
        return;
      }
      if (verdict.action === 'move') {
        this.#rotation.move(verdict.leaderAddr, (addr) => this.#isUnreachable(addr));
      }
      await this.#pause(this.#retryDelay(failures));
    }
  }

  /** No wait for the first failure in a row; then 50 ms doubling to the cap, jittered. */
  #retryDelay(failures: number): number {
    if (failures <= 1) return 0;
    const base = Math.min(this.#o.maxRetryDelayMs, 50 * 2 ** (failures - 2));
    return Math.round(base * (0.5 + this.#o.random() / 2));
  }

  #pause(ms: number): Promise<void> {
    if (ms <= 0 || this.#state === 'closed') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.#o.timers.setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        this.#o.timers.clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  /** One session on `manager`, from opening to whatever ends it. Never rejects. */
  #attempt(manager: string): Promise<SessionEnd> {
    const timers = this.#o.timers;
    const client = this.#client(manager);
    return new Promise<SessionEnd>((resolve) => {
      let opened = false;
      let healthy = false;
      let finished = false;
      /** Sends the next heartbeat, or (while one is unanswered) fails the session. */
      let heartbeatTimer: unknown;
      let heartbeats:
        | grpc.ClientDuplexStream<pb.HeartbeatRequest, pb.HeartbeatResponse>
        | undefined;
      let assignments: grpc.ClientReadableStream<pb.AssignmentsMessage> | undefined;
      let assignmentsTimer: unknown;
      const call = client.session({ description: this.#o.description, sessionId: '' });
      const openTimer = timers.setTimeout(
        () =>
          finish({
            code: grpc.status.DEADLINE_EXCEEDED,
            details: `no session message within ${this.#o.openTimeoutMs} ms`,
          }),
        this.#o.openTimeoutMs,
      );
      const finish = (status: { code: grpc.status; details: string; metadata?: grpc.Metadata }) => {
        if (finished) return;
        finished = true;
        this.#endAttempt = undefined;
        timers.clearTimeout(openTimer);
        if (heartbeatTimer !== undefined) timers.clearTimeout(heartbeatTimer);
        heartbeats?.cancel();
        if (assignmentsTimer !== undefined) timers.clearTimeout(assignmentsTimer);
        assignments?.cancel();
        call.cancel();
        this.#sessionId = undefined;
        this.#manager = undefined;
        this.#transition(['connected'], 'connecting');
        const leader = status.metadata?.get(LEADER_ADDR_TRAILER)[0];
        const answered = (status.metadata?.get(ERROR_CODE_TRAILER).length ?? 0) > 0;
        const error =
          status.code === grpc.status.OK
            ? undefined
            : fromServiceError(
                Object.assign(new Error(status.details), status) as grpc.ServiceError,
              );
        resolve({
          code: status.code,
          reason: status.details,
          leaderAddr: typeof leader === 'string' ? leader : undefined,
          opened,
          healthy,
          answered: answered || status.code === grpc.status.OK,
          error,
        });
      };
      this.#endAttempt = () =>
        finish({ code: grpc.status.CANCELLED, details: 'agent session closed' });

      // Heartbeats go on one stream (a third of a unary call's cost to the leader); the
      // next one is sent a period after each answer, and an answer that does not come
      // within 1.5 periods fails the session like a failed call would.
      const beat = (sessionId: string) => {
        heartbeats?.write({ sessionId });
        // As long as the manager's own down timeout (2.5 periods by default): a slow but
        // live leader keeps its agents instead of seeing them all reconnect at once.
        const timeoutMs = Math.max(500, Math.round(this.#periodMs * HEARTBEAT_TIMEOUT_PERIODS));
        heartbeatTimer = timers.setTimeout(
          () =>
            finish({
              code: grpc.status.DEADLINE_EXCEEDED,
              details: `heartbeat failed: no answer within ${timeoutMs} ms`,
            }),
          timeoutMs,
        );
      };
      const startHeartbeats = (sessionId: string) => {
        const stream = client.heartbeats();
        heartbeats = stream;
        stream.on('data', (response: pb.HeartbeatResponse) => {
          if (finished) return;
          if (heartbeatTimer !== undefined) timers.clearTimeout(heartbeatTimer);
          this.#periodMs = durationMs(response.period) || this.#periodMs;
          healthy = true;
          heartbeatTimer = timers.setTimeout(() => beat(sessionId), this.#periodMs);
        });
        stream.on('status', (status: grpc.StatusObject) =>
          finish({
            code: status.code,
            details: `heartbeat failed: ${status.code === grpc.status.OK ? 'the manager ended the heartbeat stream' : status.details}`,
            metadata: status.metadata,
          }),
        );
        stream.on('error', () => {});
        beat(sessionId);
      };

      // The assignments stream lives as long as the session. A gap in its versions, or
      // its end while the session lives, reopens it for a new COMPLETE set.
      const openAssignments = (sessionId: string) => {
        assignmentsTimer = undefined;
        const stream = client.assignments({ sessionId });
        assignments = stream;
        stream.on('data', (message: pb.AssignmentsMessage) => {
          if (finished || assignments !== stream) return;
          if (this.#assignmentSet.apply(message) === 'gap') {
            this.#log.info({ manager }, 'assignments out of sequence: reopening the stream');
            stream.cancel();
            openAssignments(sessionId);
            return;
          }
          this.#assignments.set({
            tasks: new Map(this.#assignmentSet.tasks),
            networks: new Map(this.#assignmentSet.networks),
            version: this.#assignmentSet.version,
          });
        });
        stream.on('status', (status: grpc.StatusObject) => {
          if (finished || assignments !== stream) return;
          this.#log.info({ manager, code: grpc.status[status.code] }, 'assignments stream ended');
          assignmentsTimer = timers.setTimeout(() => openAssignments(sessionId), 100);
        });
        stream.on('error', () => {});
      };

      call.on('data', (message: pb.SessionMessage) => {
        if (finished) return;
        if (!opened) {
          opened = true;
          timers.clearTimeout(openTimer);
          this.#sessionId = message.sessionId;
          this.#manager = manager;
          this.#transition(['connecting'], 'connected');
          this.#log.info({ manager, sessionId: message.sessionId }, 'session open');
          this.#events.publish({ type: 'connected', manager, sessionId: message.sessionId });
          // The first heartbeat goes at once, as Swarm's agent does: it confirms the
          // session both ways and fetches the period.
          startHeartbeats(message.sessionId);
          openAssignments(message.sessionId);
        }
        this.#onMessage(message);
      });
      // Every end of the call, OK or not, arrives as one 'status'; 'error' repeats it.
      call.on('status', (status: grpc.StatusObject) =>
        finish({
          code: status.code,
          details:
            status.code === grpc.status.OK ? 'the manager ended the session' : status.details,
          metadata: status.metadata,
        }),
      );
      call.on('error', () => {});
    });
  }

  #onMessage(message: pb.SessionMessage): void {
    const addrs = message.managers.map((m) => m.addr).filter((addr) => addr !== '');
    if (addrs.length > 0 && this.#rotation.replace(addrs)) {
      this.#syncChannels();
      this.#events.publish({ type: 'managers', list: [...this.#rotation.list] });
    }
    if (message.node) this.#events.publish({ type: 'node', node: message.node });
  }

  /**
   * Whether `addr` failed to answer lately (a dead manager's host refuses or hangs; a
   * live follower answers with a refusal, and may be about to lead).
   */
  #isUnreachable(addr: string): boolean {
    const until = this.#suspects.get(addr);
    if (until === undefined) return false;
    if (until > performance.now()) return true;
    this.#suspects.delete(addr);
    return false;
  }

  /** A channel to every known manager, connecting ahead so a move finds it ready. */
  #syncChannels(): void {
    const known = new Set(this.#rotation.list);
    for (const [addr, client] of this.#clients) {
      if (known.has(addr) || addr === this.#manager) continue;
      client.close();
      this.#clients.delete(addr);
    }
    for (const addr of known) this.#client(addr).getChannel().getConnectivityState(true);
  }

  #client(addr: string): pb.DispatcherClient {
    let client = this.#clients.get(addr);
    if (!client) {
      client = new pb.DispatcherClient(addr, this.#o.credentials, {
        // A restarted manager should be found in well under the failover budget.
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
        ...this.#o.channelOptions,
      });
      this.#clients.set(addr, client);
    }
    return client;
  }
}

function durationMs(duration: pb.Duration | undefined): number {
  if (!duration) return 0;
  return Number(duration.seconds) * 1000 + Math.round(duration.nanos / 1e6);
}
