// The driver around the pure core: owns the tick timer, the Ready loop (persist, send,
// apply, advance), the storage and the waiting callers. Everything that arrives while a
// Ready is being persisted (proposals, messages) lands in the next Ready, so under load
// one fdatasync and one message per peer carry many entries (thesis §10.2.2).
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { decodeConfChange } from '../core/conf-change.js';
import type { RawNodeOptions } from '../core/options.js';
import { type RaftStatus, RawNode } from '../core/raw-node.js';
import type {
  ConfChange,
  ConfState,
  Entry,
  Message,
  RaftId,
  Ready,
  Rng,
  Role,
} from '../core/types.js';
import {
  LeaderChangedError,
  NotLeaderError,
  ProposalDroppedError,
  RaftStoppedError,
} from '../errors.js';
import { FileStorage } from '../storage/file-storage.js';
import type { RaftTransport } from '../transport/raft-transport.js';
import { armDeadline, guardedWaiter, type Waiter } from './deadline.js';
import { decodeBatch, encodeBatch } from './proposal-batch.js';
import { ProposalTracker } from './proposal-tracker.js';

/** The replicated state machine a RaftNode drives. `R` is what `apply` returns. */
export interface StateMachine<R> {
  /** Applies one committed entry's data (in log order, exactly once per start). */
  apply(data: Uint8Array, index: number): R;
  /** Serialises the whole state (called after an apply, for log compaction). */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot's image. */
  restore(data: Uint8Array): void;
}

/** Events a node reports; a union on `type` (STYLE 22). */
export type RaftNodeEvent =
  | { readonly type: 'leaderChanged'; readonly term: number; readonly leaderId: RaftId }
  | { readonly type: 'roleChanged'; readonly term: number; readonly role: Role }
  | { readonly type: 'confChanged'; readonly conf: ConfState }
  | { readonly type: 'stopped'; readonly error?: Error };

/** Options of {@link RaftNode.create}. */
export interface RaftNodeOptions<R> {
  /** This member's Raft ID. */
  readonly id: RaftId;
  /**
   * IDs of the founding voters (this one included); used only when `dataDir` is new.
   * Empty for a member joining an existing cluster: it waits for the leader.
   */
  readonly peers: readonly RaftId[];
  /** Directory of the WAL and snapshots. */
  readonly dataDir: string;
  readonly transport: RaftTransport;
  readonly stateMachine: StateMachine<R>;
  /**
   * Length of one Raft tick; heartbeats every tick, elections after 5–10 ticks.
   * @default 100
   */
  readonly tickMs?: number;
  /**
   * Applied entries between snapshots (log compaction).
   * @default 10000
   */
  readonly snapshotEvery?: number;
  /**
   * How long `propose` and `readIndex` wait before giving up (the entry may still commit).
   * @default 10000
   */
  readonly requestTimeoutMs?: number;
  /** Core options besides the ones the driver owns. */
  readonly raft?: Omit<RawNodeOptions, 'id' | 'storage' | 'rng' | 'applied' | 'onRejected'>;
  /** WAL segment size, see FileStorageOptions. */
  readonly segmentBytes?: number;
  /**
   * Entries kept below a snapshot for slightly lagging followers; one further behind
   * gets the snapshot instead (see FileStorageOptions).
   * @default 1000
   */
  readonly retainEntries?: number;
  /** @default randomness from node:crypto */
  readonly rng?: Rng;
  readonly logger?: Logger;
  /**
   * Recovery from lost quorum (`swarm init --force-new-cluster`): keep everything
   * committed here and restart as the only voter. Uncommitted entries are dropped.
   * @default false
   */
  readonly forceNewCluster?: boolean;
}

/** Per-call options of the waiting methods. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

/** Node lifecycle: `running` until `stop()` (or a storage failure), then `stopped`. */
export type RaftNodeState = 'running' | 'stopping' | 'stopped';

interface AppliedWaiter {
  readonly index: number;
  readonly waiter: Waiter<number>;
}

const CRYPTO_RNG: Rng = { int: (n) => randomInt(n) };

/**
 * A Raft member: core, storage, timer and transport wired per the Ready contract.
 *
 * @example
 * const node = await RaftNode.create({ id: 1, peers: [1, 2, 3], dataDir, transport, stateMachine: kv });
 * const result = await node.propose(Buffer.from('put a 1'));
 * await node.stop({ transferLeadership: true });
 */
export class RaftNode<R = unknown> {
  readonly id: RaftId;
  readonly #raw: RawNode;
  readonly #storage: FileStorage;
  readonly #transport: RaftTransport;
  readonly #sm: StateMachine<R>;
  readonly #log: Logger | undefined;
  readonly #snapshotEvery: number;
  readonly #requestTimeoutMs: number;
  readonly #tickMs: number;
  #ticker: NodeJS.Timeout | undefined;
  #state: RaftNodeState = 'running';
  #pumpScheduled = false;
  #pumping: Promise<void> | undefined;
  #conf: ConfState;
  #applied: number;
  #snapshotIndex: number;
  #term = 0;
  #leader: RaftId = 0;
  /** The last leader known (never 0 once one was): where follower proposals went. */
  #lastLeader: RaftId = 0;
  #role: Role = 'follower';
  /**
   * Sequence numbers tag our proposals in the log. They must never repeat across
   * restarts, or a re-applied entry of a previous run would settle a new caller's
   * proposal: start from the wall clock in 1/1024 ms (below 2^53 until the year 2248),
   * which a run cannot outpace at fewer than a million proposals per second.
   */
  #seq = Date.now() * 1024;
  readonly #proposals: ProposalTracker<R>;
  readonly #reads = new Map<string, Waiter<number>>();
  /** Callers waiting for the applied index to reach a value. */
  #appliedWaiters: AppliedWaiter[] = [];
  readonly #listeners = new Set<(e: RaftNodeEvent) => void>();
  readonly #rejectLogged = new Set<string>();
  #whyStopped: Error | undefined;
  readonly #stoppedPromise: Promise<Error | undefined>;
  #resolveStopped!: (e: Error | undefined) => void;

  private constructor(
    o: RaftNodeOptions<R>,
    raw: RawNode,
    storage: FileStorage,
    logger: Logger | undefined,
  ) {
    this.id = o.id;
    this.#raw = raw;
    this.#storage = storage;
    this.#transport = o.transport;
    this.#sm = o.stateMachine;
    this.#log = logger;
    this.#snapshotEvery = o.snapshotEvery ?? 10_000;
    this.#requestTimeoutMs = o.requestTimeoutMs ?? 10_000;
    this.#tickMs = o.tickMs ?? 100;
    this.#proposals = new ProposalTracker(o.id);
    const snap = storage.snapshot();
    this.#conf = snap.meta.conf;
    this.#applied = snap.meta.index;
    this.#snapshotIndex = snap.meta.index;
    this.#stoppedPromise = new Promise((r) => {
      this.#resolveStopped = r;
    });
  }

  /**
   * Opens storage (replaying the WAL), restores the state machine from the latest
   * snapshot, starts the tick timer and takes inbound traffic from `transport`.
   */
  static async create<R>(options: RaftNodeOptions<R>): Promise<RaftNode<R>> {
    const tickMs = options.tickMs ?? 100;
    if (!Number.isFinite(tickMs) || tickMs < 1) {
      throw new RangeError(`Create raft node failed: tickMs must be >= 1: got ${tickMs}`);
    }
    // No peers at all means joining an existing cluster: start with an empty
    // configuration, never campaign, and learn the members from the leader's messages.
    if (options.peers.length > 0 && !options.peers.includes(options.id)) {
      throw new RangeError(
        `Create raft node failed: peers must include this member ${options.id}: got [${options.peers.join(', ')}]`,
      );
    }
    const logger = options.logger?.child({ component: 'raft', raftId: options.id });
    const storage = await FileStorage.open({
      dir: options.dataDir,
      initialConf: { voters: [...options.peers], learners: [] },
      ...(options.segmentBytes !== undefined ? { segmentBytes: options.segmentBytes } : {}),
      ...(options.retainEntries !== undefined ? { retainEntries: options.retainEntries } : {}),
      ...(logger !== undefined ? { logger } : {}),
    });
    if (options.forceNewCluster) await forceSingleMember(storage, options);
    if (
      options.peers.length > 0 &&
      storage.lastIndex() === 0 &&
      storage.snapshot().meta.index === 0
    ) {
      // A new cluster starts from a snapshot at index 1 that holds the founding
      // configuration. Members that join later have an empty log; the leader finds
      // their next index below its first one and sends them this snapshot (or a later
      // one), so they learn every member, founders included, as etcd's bootstrap does.
      await storage.save(
        {
          snapshot: {
            meta: { index: 1, term: 1, conf: { voters: [...options.peers], learners: [] } },
            data: options.stateMachine.snapshot(),
          },
          entries: [],
          hardState: { term: 1, vote: 0, commit: 1 },
        },
        { sync: true },
      );
    }
    const snap = storage.snapshot();
    if (snap.meta.index > 0) options.stateMachine.restore(snap.data);
    // The core reports rejects during create already; the node exists only after it.
    const rejected = { log: (_reason: string, _msg: Message) => {} };
    let raw: RawNode;
    try {
      raw = RawNode.create({
        ...options.raft,
        id: options.id,
        storage,
        rng: options.rng ?? CRYPTO_RNG,
        applied: snap.meta.index,
        onRejected: (reason, msg) => rejected.log(reason, msg),
      });
    } catch (err) {
      await storage.close();
      throw err;
    }
    const node = new RaftNode(options, raw, storage, logger);
    rejected.log = (reason, msg) => node.#logRejected(reason, msg);
    const status = raw.status();
    node.#term = status.term;
    node.#transport.start({
      onMessages: (msgs) => node.#onMessages(msgs),
      onUnreachable: (peer) => {
        if (node.#state !== 'stopped') node.#raw.reportUnreachable(peer);
      },
      onPropose: (data, signal) => node.#onForwardedPropose(data, signal),
      onReadIndex: (signal) => node.#readIndex(signal),
    });
    node.#ticker = setInterval(() => node.#tick(), tickMs);
    node.#ticker.unref();
    logger?.info(
      {
        term: status.term,
        commit: status.commit,
        applied: snap.meta.index,
        lastIndex: status.lastIndex,
      },
      'raft node started',
    );
    node.#schedule();
    return node;
  }

  /** `running`, `stopping` or `stopped`. */
  get state(): RaftNodeState {
    return this.#state;
  }

  /** The leader this member knows of (0 when none). */
  get leaderId(): RaftId {
    return this.#leader;
  }

  get isLeader(): boolean {
    return this.#role === 'leader';
  }

  /** Index of the last entry applied to the state machine. */
  get appliedIndex(): number {
    return this.#applied;
  }

  /** The core's view: term, commit, progress of followers. */
  status(): RaftStatus {
    return this.#raw.status();
  }

  /** Subscribes to events; returns the unsubscribe function. */
  onEvent(listener: (e: RaftNodeEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves when the node stopped, with the error that stopped it if any. */
  closed(): Promise<Error | undefined> {
    return this.#stoppedPromise;
  }

  /**
   * Replicates `data` and resolves with the state machine's result once it is applied
   * here. On a follower the core forwards it to the leader.
   *
   * @throws NotLeaderError when no leader is known; ProposalDroppedError when the leader
   *   refused it or a new leader overwrote it; RaftStoppedError after stop(); the
   *   signal's reason on abort; a timeout after `requestTimeoutMs` (outcome unknown).
   */
  propose(data: Uint8Array, options: CallOptions = {}): Promise<R> {
    const err = this.#checkCall(options.signal);
    if (err !== undefined) return Promise.reject(err);
    const seq = ++this.#seq;
    return new Promise<R>((resolve, reject) => {
      const w = this.#waiter(options.signal, { resolve, reject }, () =>
        this.#proposals.forget(seq),
      );
      if (this.#proposals.add(seq, data, w)) this.#flushProposals();
      this.#schedule();
    });
  }

  /**
   * Hands queued proposals to the core as one entry (several if they are large); on a
   * follower the core forwards the entry to the leader in a `propose` message, on the
   * same stream as the rest of the Raft traffic. (Forwarding through the unary Propose
   * RPC instead, to skip a follower's fsync in flight, measured slower: an extra call
   * per batch costs more CPU than the wait saves on this 2-core machine.)
   */
  #flushProposals(): void {
    for (const batch of this.#proposals.takeBatches()) {
      try {
        this.#raw.propose(encodeBatch(batch));
      } catch (e) {
        this.#proposals.rejectBatch(batch, this.#withLeader(e));
      }
    }
  }

  /**
   * Waits until this member may serve a linearizable read (thesis §6.4): the leader
   * confirmed its leadership and this member applied everything up to that point.
   * Resolves with the read index.
   */
  readIndex(options: CallOptions = {}): Promise<number> {
    const err = this.#checkCall(options.signal);
    if (err !== undefined) return Promise.reject(err);
    return this.#readIndex(options.signal).then((index) =>
      this.#waitApplied(index, options.signal),
    );
  }

  /**
   * Proposes one membership change (add a learner, promote it, remove a member) on the
   * leader and resolves with the configuration once the change is applied here. Only
   * one change may be pending at a time (single-server changes, thesis §4.1).
   *
   * @throws NotLeaderError on a follower; ProposalDroppedError when the core refuses
   *   the change (one is already pending, or it makes no sense for the configuration).
   */
  proposeConfChange(change: ConfChange, options: CallOptions = {}): Promise<ConfState> {
    const err = this.#checkCall(options.signal);
    if (err !== undefined) return Promise.reject(err);
    if (this.#role !== 'leader') return Promise.reject(new NotLeaderError(this.#leader));
    return new Promise<ConfState>((resolve, reject) => {
      const done = armDeadline(options.signal, this.#requestTimeoutMs, (e) => {
        off();
        reject(e);
      });
      // Changes apply one at a time, so the next applied configuration is this one's.
      const off = this.onEvent((e) => {
        if (e.type === 'confChanged') {
          done();
          off();
          resolve(e.conf);
        } else if (e.type === 'stopped') {
          done();
          off();
          reject(new RaftStoppedError('stopped while a membership change was pending'));
        }
      });
      try {
        this.#raw.proposeConfChange(change);
      } catch (e) {
        done();
        off();
        reject(this.#withLeader(e));
        return;
      }
      this.#schedule();
    });
  }

  /**
   * Hands leadership to `target` (default: the most up-to-date voter) and resolves with
   * the new leader once this member learns of it.
   */
  async transferLeadership(target?: RaftId, options: CallOptions = {}): Promise<RaftId> {
    const err = this.#checkCall(options.signal);
    if (err !== undefined) throw err;
    if (this.#role !== 'leader') throw new NotLeaderError(this.#leader);
    const to = target ?? this.#bestTransferee();
    if (to === undefined) throw new ProposalDroppedError('no other voter to hand leadership to');
    this.#raw.transferLeader(to);
    this.#schedule();
    return new Promise<RaftId>((resolve, reject) => {
      // An election takes up to 2 × electionTick; give the transfer that and some, and
      // at least 2 s so a busy machine (stalled event loops) does not fail a handover.
      const done = armDeadline(options.signal, Math.max(this.#tickMs * 25, 2000), (e) => {
        off();
        reject(e);
      });
      const off = this.onEvent((e) => {
        if (e.type === 'leaderChanged' && e.leaderId !== this.id && e.leaderId !== 0) {
          done();
          off();
          resolve(e.leaderId);
        }
      });
    });
  }

  /**
   * Stops the node: with `transferLeadership`, a leader first hands over so the
   * planned stop costs no election. Pending calls fail with RaftStoppedError. The
   * transport is the caller's to close. Safe to call twice.
   */
  async stop(options: { transferLeadership?: boolean } = {}): Promise<void> {
    if (this.#state !== 'running') {
      await this.#stoppedPromise;
      return;
    }
    if (options.transferLeadership && this.#role === 'leader' && this.#conf.voters.length > 1) {
      try {
        await this.transferLeadership();
      } catch (err) {
        this.#log?.warn({ err: (err as Error).message }, 'leadership transfer before stop failed');
      }
    }
    await this.#shutdown(undefined);
  }

  // ---- internals -------------------------------------------------------------------

  #checkCall(signal: AbortSignal | undefined): unknown {
    if (this.#state !== 'running')
      return new RaftStoppedError('stop() was called', { cause: this.#whyStopped });
    if (signal?.aborted) return signal.reason;
    return undefined;
  }

  /** A waiter with this node's request timeout and the caller's signal. */
  #waiter<T>(signal: AbortSignal | undefined, settle: Waiter<T>, forget: () => void): Waiter<T> {
    return guardedWaiter({ signal, ms: this.#requestTimeoutMs }, settle, forget);
  }

  #withLeader(e: unknown): unknown {
    // The core does not know the leader when it throws; add what the driver saw.
    if (
      e instanceof NotLeaderError &&
      e.leaderId === 0 &&
      this.#leader !== 0 &&
      this.#leader !== this.id
    ) {
      return new NotLeaderError(this.#leader, { cause: e });
    }
    return e;
  }

  #bestTransferee(): RaftId | undefined {
    const progress = this.#raw.status().progress;
    let best: RaftId | undefined;
    let bestMatch = -1;
    for (const v of this.#conf.voters) {
      if (v === this.id) continue;
      const m = progress[v]?.match ?? 0;
      if (m > bestMatch) {
        best = v;
        bestMatch = m;
      }
    }
    return best;
  }

  #readIndex(signal: AbortSignal | undefined): Promise<number> {
    const err = this.#checkCall(signal);
    if (err !== undefined) return Promise.reject(err);
    const ctx = Buffer.allocUnsafe(16);
    ctx.writeDoubleLE(this.id, 0);
    ctx.writeDoubleLE(++this.#seq, 8);
    const key = ctx.toString('hex');
    return new Promise<number>((resolve, reject) => {
      const w = this.#waiter(signal, { resolve, reject }, () => this.#reads.delete(key));
      this.#reads.set(key, w);
      try {
        this.#raw.readIndex(ctx);
      } catch (e) {
        this.#reads.delete(key);
        w.reject(this.#withLeader(e));
        return;
      }
      this.#schedule();
    });
  }

  #resendReads(): void {
    if (this.#state === 'stopped' || this.#leader === 0) return;
    for (const key of this.#reads.keys()) {
      try {
        this.#raw.readIndex(Buffer.from(key, 'hex'));
      } catch {
        // No leader again: the read waits for its deadline, as any other.
      }
    }
    this.#schedule();
  }

  #waitApplied(index: number, signal: AbortSignal | undefined): Promise<number> {
    if (this.#applied >= index) return Promise.resolve(index);
    return new Promise<number>((resolve, reject) => {
      const entry: AppliedWaiter = {
        index,
        waiter: this.#waiter(signal, { resolve, reject }, () => {
          this.#appliedWaiters = this.#appliedWaiters.filter((w) => w !== entry);
        }),
      };
      this.#appliedWaiters.push(entry);
    });
  }

  /** A follower's unary forward (GrpcTransport.forwardPropose): append and report the index. */
  async #onForwardedPropose(data: Uint8Array, _signal: AbortSignal): Promise<number> {
    const err = this.#checkCall(undefined);
    if (err !== undefined) throw err;
    if (this.#role !== 'leader') throw new NotLeaderError(this.#leader);
    this.#raw.propose(data);
    this.#schedule();
    // A leader appends a proposal to its log at once: it sits at the last index.
    return this.#raw.status().lastIndex;
  }

  #onMessages(msgs: readonly Message[]): void {
    if (this.#state === 'stopped') return;
    for (const m of msgs) this.#raw.step(m);
    this.#schedule();
  }

  #tick(): void {
    if (this.#state === 'stopped') return;
    this.#raw.tick();
    this.#schedule();
  }

  #logRejected(reason: string, msg: Message): void {
    if (this.#rejectLogged.has(reason)) return;
    if (this.#rejectLogged.size > 1000) this.#rejectLogged.clear();
    this.#rejectLogged.add(reason);
    this.#log?.warn(
      { reason, type: msg.type, from: msg.from, term: msg.term },
      'raft message rejected',
    );
  }

  #emit(e: RaftNodeEvent): void {
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch (err) {
        this.#log?.error(
          { err: (err as Error).message, event: e.type },
          'raft event listener threw',
        );
      }
    }
  }

  /** Runs the Ready loop soon; everything arriving before then joins the same Ready. */
  #schedule(): void {
    // A running pump takes new work before its next Ready; no second loop.
    if (this.#pumpScheduled || this.#pumping !== undefined || this.#state === 'stopped') return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      if (this.#state === 'stopped' || this.#pumping !== undefined) return;
      this.#pumping = this.#pump().finally(() => {
        this.#pumping = undefined;
        if (this.#state !== 'stopped' && (this.#raw.hasReady() || this.#proposals.hasQueued)) {
          this.#schedule();
        }
      });
    });
  }

  async #pump(): Promise<void> {
    // Bounded per run so timers and I/O interleave; #schedule re-arms if work remains.
    for (let i = 0; i < 64 && this.#state === 'running'; i++) {
      // Everything proposed while the previous Ready was being written joins this one.
      this.#flushProposals();
      if (!this.#raw.hasReady()) return;
      const rd = this.#raw.ready();
      try {
        await this.#handleReady(rd);
      } catch (err) {
        this.#log?.error({ err: (err as Error).message }, 'raft ready loop failed: stopping node');
        await this.#shutdown(err as Error);
        return;
      }
      this.#raw.advance(rd);
    }
  }

  async #handleReady(rd: Ready): Promise<void> {
    if (rd.softState !== undefined)
      this.#onSoftState(rd.softState.leader, rd.softState.role, rd.hardState?.term);
    else if (rd.hardState !== undefined) this.#term = rd.hardState.term;
    // Messages not predicated on this Ready's write go out now, in parallel with the
    // fsync (thesis §10.2.1).
    this.#send(rd.messages);
    for (const e of rd.entries) this.#proposals.noteEntry(e);
    // The in-memory log changes at once; the promise settles when the write is durable.
    let saved: Promise<void> | undefined;
    if (rd.entries.length > 0 || rd.hardState !== undefined || rd.snapshot !== undefined) {
      saved = this.#storage.save(rd, { sync: rd.mustSync });
    }
    // Committed entries are durable on a quorum already, and the state machine lives in
    // memory (rebuilt from the log after a crash), so applying them need not wait for
    // this Ready's fsync: answering clients overlaps the disk write.
    this.#applyReady(rd);
    if (saved !== undefined) {
      if (rd.mustSync) {
        await saved;
      } else {
        // Only the commit index changed: nothing sent depends on it being on disk (etcd
        // writes it without fsync too). Storage keeps writes in order, and a failure
        // surfaces on the next save.
        saved.catch((err: Error) =>
          this.#log?.error({ err: err.message }, 'raft WAL write failed'),
        );
      }
    }
    // Votes and acks only once the state they promise is durable.
    this.#send(rd.messagesAfterPersist);
    if (this.#applied - this.#snapshotIndex >= this.#snapshotEvery) {
      const index = this.#applied;
      await this.#storage.createSnapshot(index, this.#conf, this.#sm.snapshot());
      this.#snapshotIndex = index;
      this.#log?.debug({ index }, 'raft snapshot taken');
    }
  }

  /** Step 3 of the Ready contract: snapshot, committed entries, read states. */
  #applyReady(rd: Ready): void {
    if (rd.snapshot !== undefined) {
      this.#sm.restore(rd.snapshot.data);
      this.#conf = rd.snapshot.meta.conf;
      this.#applied = rd.snapshot.meta.index;
      this.#snapshotIndex = rd.snapshot.meta.index;
      this.#emit({ type: 'confChanged', conf: this.#conf });
    }
    for (const e of rd.committedEntries) this.#apply(e);
    for (const rs of rd.readStates) {
      const key = Buffer.from(rs.context).toString('hex');
      const w = this.#reads.get(key);
      if (w !== undefined) {
        this.#reads.delete(key);
        w.resolve(rs.index);
      }
    }
    this.#releaseAppliedWaiters();
  }

  #onSoftState(leader: RaftId, role: Role, term: number | undefined): void {
    if (term !== undefined) this.#term = term;
    if (role !== this.#role) {
      this.#role = role;
      this.#emit({ type: 'roleChanged', term: this.#term, role });
    }
    if (leader !== this.#leader) {
      this.#leader = leader;
      this.#log?.info({ term: this.#term, leader }, 'raft leader changed');
      this.#emit({ type: 'leaderChanged', term: this.#term, leaderId: leader });
    }
    // Proposals forwarded to a leader that another replaced are most likely gone with it:
    // fail them now, so callers retry at once rather than at the request timeout. (A
    // flap to "no leader" and back to the same one under load fails nothing.)
    if (leader !== 0 && leader !== this.#lastLeader) {
      const old = this.#lastLeader;
      this.#lastLeader = leader;
      if (old !== 0 && old !== this.id) {
        this.#proposals.rejectForwarded(new LeaderChangedError(old, leader));
      }
      // Reads have no effect to duplicate: ask the new leader again, after this Ready.
      if (old !== 0 && this.#reads.size > 0) setImmediate(() => this.#resendReads());
    }
  }

  #send(msgs: readonly Message[]): void {
    if (msgs.length === 0) return;
    const out: Message[] = [];
    for (const m of msgs) {
      if (m.to === this.id) {
        // The core answers itself through the driver only in rare paths; loop it back.
        this.#raw.step(m);
        continue;
      }
      out.push(m);
    }
    this.#transport.send(out);
    for (const m of out) {
      // Snapshots travel in one message; once queued, count it as delivered and let a
      // broken stream report the peer unreachable (etcd's ReportSnapshot on send).
      if (m.type === 'snapshot') this.#raw.reportSnapshot(m.to, true);
    }
  }

  #apply(e: Entry): void {
    this.#applied = e.index;
    if (e.type === 'confChange') {
      this.#conf = this.#raw.applyConfChange(decodeConfChange(e.data));
      this.#emit({ type: 'confChanged', conf: this.#conf });
    }
    this.#proposals.applyEntry(e, (data, index) => this.#sm.apply(data, index));
  }

  #releaseAppliedWaiters(): void {
    if (this.#appliedWaiters.length === 0) return;
    const still: AppliedWaiter[] = [];
    for (const w of this.#appliedWaiters) {
      if (w.index <= this.#applied) w.waiter.resolve(w.index);
      else still.push(w);
    }
    this.#appliedWaiters = still;
  }

  async #shutdown(error: Error | undefined): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopping';
    this.#whyStopped = error;
    clearInterval(this.#ticker);
    // Let the Ready in flight finish its write so what was acknowledged stays true.
    if (error === undefined) await this.#pumping?.catch(() => undefined);
    this.#state = 'stopped';
    const reason = new RaftStoppedError(
      error ? `storage failed: ${error.message}` : 'stop() was called',
      {
        cause: error,
      },
    );
    this.#proposals.rejectAll(reason);
    for (const w of this.#reads.values()) w.reject(reason);
    this.#reads.clear();
    for (const w of this.#appliedWaiters) w.waiter.reject(reason);
    this.#appliedWaiters = [];
    await this.#storage.close();
    this.#log?.info({ error: error?.message }, 'raft node stopped');
    this.#emit(error ? { type: 'stopped', error } : { type: 'stopped' });
    this.#resolveStopped(error);
  }
}

/**
 * Rewrites the log for `forceNewCluster`: the state machine is rebuilt up to the commit
 * index, saved as a snapshot whose configuration is this member alone, and the log
 * after it is discarded, as etcd's force-new-cluster does.
 */
async function forceSingleMember<R>(
  storage: FileStorage,
  options: RaftNodeOptions<R>,
): Promise<void> {
  const base = storage.snapshot();
  if (base.meta.index > 0) options.stateMachine.restore(base.data);
  const commit = Math.max(storage.hardState.commit, base.meta.index);
  for (let index = base.meta.index + 1; index <= commit; index++) {
    const [entry] = storage.entries(index, index + 1, Number.POSITIVE_INFINITY);
    if (entry?.type !== 'normal') continue;
    for (const it of decodeBatch(entry.data) ?? [])
      options.stateMachine.apply(it.data, entry.index);
  }
  const term = commit === 0 ? 1 : storage.term(commit);
  await storage.save(
    {
      snapshot: {
        meta: { index: Math.max(commit, 1), term, conf: { voters: [options.id], learners: [] } },
        data: options.stateMachine.snapshot(),
      },
      entries: [],
      hardState: {
        term: Math.max(storage.hardState.term, term),
        vote: 0,
        commit: Math.max(commit, 1),
      },
    },
    { sync: true },
  );
}
