// A deterministic simulated cluster: members driven by the Ready contract over a
// simulated disk (writes lost on crash until synced) and network (drop, duplicate, delay,
// reorder, partitions), a replicated KV state machine with snapshots and compaction,
// clients that record a history for the linearizability checker, and a SafetyOracle
// checked as the run goes. Time is a step counter; each step ticks every member once.

import { decodeConfChange } from '../core/conf-change.js';
import type { MemoryStorage } from '../core/memory-storage.js';
import type { RawNodeOptions } from '../core/options.js';
import { RawNode } from '../core/raw-node.js';
import { SeededRng } from '../core/rng.js';
import type { ConfChange, ConfState, Entry, Message, RaftId, Ready } from '../core/types.js';
import { NotLeaderError, ProposalDroppedError } from '../errors.js';
import { mix } from './hash.js';
import { decodeCommand, encodeCommand, KvStateMachine } from './kv-state-machine.js';
import type { KvOperation } from './linearizability.js';
import { SafetyOracle } from './safety-oracle.js';
import { SimDisk } from './sim-disk.js';
import { SimNetwork } from './sim-network.js';

/** Options of {@link SimCluster}. */
export interface SimClusterOptions {
  readonly seed: number;
  /** Initial voters. @default [1, 2, 3, 4, 5] */
  readonly voters?: readonly RaftId[];
  /** @default 5 */
  readonly electionTick?: number;
  /** Take a state-machine snapshot every this many applied entries. @default 30 */
  readonly snapshotEvery?: number;
  /** Entries kept behind a snapshot when compacting. @default 5 */
  readonly keepEntries?: number;
  /** Steps a client waits before giving an operation up as unknown. @default 40 */
  readonly opTimeout?: number;
  /** Receives a line per delivered message, crash, restart and role change (debugging). */
  readonly trace?: (line: string) => void;
  /** Extra node options (flow-control limits and the like) for every member. */
  readonly node?: Partial<
    Omit<RawNodeOptions, 'id' | 'storage' | 'rng' | 'applied' | 'onRejected'>
  >;
}

/** A member of the simulation. */
export class SimMember {
  readonly id: RaftId;
  readonly disk: SimDisk;
  storage!: MemoryStorage;
  raw!: RawNode;
  kv = new KvStateMachine();
  conf: ConfState;
  up = false;
  incarnation = 0;
  /** The Ready being written; its after-persist messages wait for the sync. */
  outstanding: Ready | undefined;
  /** A stalled disk does not sync before this step (writes pile up, unsynced). */
  diskStalledUntil = 0;
  /** A slow clock ticks once every `clockDivisor` steps until `clockSlowUntil`. */
  clockSlowUntil = 0;
  clockDivisor = 1;
  appliedIndex = 0;
  /** Prefix hash of the stored log by index (Log Matching). */
  prefix = new Map<number, number>();
  commitChecked = 0;
  lastCommit = 0;
  lastTerm = 0;
  leaderTerm = -1;
  /** Read contexts waiting at this member → the op and its read index once known. */
  readonly reads = new Map<string, { op: PendingOp; index: number | undefined }>();
  rejected = new Set<string>();

  constructor(id: RaftId, conf: ConfState) {
    this.id = id;
    this.conf = conf;
    this.disk = new SimDisk(conf);
  }
}

interface PendingOp {
  readonly op: KvOperation;
  readonly client: number;
  readonly seq: number;
  readonly node: RaftId;
  readonly incarnation: number;
  readonly deadline: number;
}

const MAX_DRAIN_ROUNDS = 400;

/**
 * A simulated cluster driven step by step.
 *
 * @example
 * const sim = new SimCluster({ seed: 1 });
 * while (sim.leader() === 0) sim.step();
 * sim.invoke(1, sim.leader(), { kind: 'put', key: 'a', value: 'x' });
 */
export class SimCluster {
  readonly members = new Map<RaftId, SimMember>();
  readonly net: SimNetwork;
  readonly oracle = new SafetyOracle();
  readonly rng: SeededRng;
  /** Every client operation invoked, completed or not (failed ones are removed). */
  readonly history: KvOperation[] = [];
  now = 0;
  /** Monotonic event clock for invoke/complete times. */
  #clock = 0;
  readonly #pending = new Map<number, PendingOp>();
  readonly #trace: ((line: string) => void) | undefined;
  readonly #nodeOptions: NonNullable<SimClusterOptions['node']>;
  readonly #seqs = new Map<number, number>();
  readonly #opts: Required<Omit<SimClusterOptions, 'voters' | 'trace' | 'node'>> & {
    voters: readonly RaftId[];
  };
  /** Called when a member applies a conf change (the membership driver listens). */
  onConfApplied: (id: RaftId, cc: ConfChange) => void = () => {};

  constructor(options: SimClusterOptions) {
    this.#opts = {
      voters: options.voters ?? [1, 2, 3, 4, 5],
      electionTick: options.electionTick ?? 5,
      snapshotEvery: options.snapshotEvery ?? 30,
      keepEntries: options.keepEntries ?? 5,
      opTimeout: options.opTimeout ?? 40,
      seed: options.seed,
    };
    this.#trace = options.trace;
    this.#nodeOptions = options.node ?? {};
    this.rng = new SeededRng(options.seed);
    this.net = new SimNetwork(new SeededRng(mix(options.seed, 7)));
    const conf = { voters: [...this.#opts.voters], learners: [] };
    for (const id of this.#opts.voters) this.addMember(id, conf);
  }

  /** Creates and starts a member with a fresh disk whose initial configuration is `conf`. */
  addMember(id: RaftId, conf: ConfState = { voters: [], learners: [] }): SimMember {
    const m = new SimMember(id, conf);
    this.members.set(id, m);
    this.restart(id);
    return m;
  }

  get(id: RaftId): SimMember {
    const m = this.members.get(id);
    if (m === undefined) throw new RangeError(`Get member failed: no member ${id}`);
    return m;
  }

  // ---- faults -----------------------------------------------------------------------

  /** Power cut: unsynced writes are lost, pending client operations become unknown. */
  crash(id: RaftId): void {
    const m = this.get(id);
    if (!m.up) return;
    m.up = false;
    this.#trace?.(`${this.now} crash ${id}`);
    m.outstanding = undefined;
    m.disk.crash();
    for (const [client, p] of this.#pending) {
      if (p.node === id) this.#giveUp(client, p);
    }
    m.reads.clear();
  }

  /** Stalls `id`'s disk for `steps` steps: its writes stay unsynced (and its acks unsent). */
  stallDisk(id: RaftId, steps: number): void {
    this.get(id).diskStalledUntil = this.now + steps;
  }

  /** Slows `id`'s clock: it ticks once every `divisor` steps for `steps` steps (clock skew). */
  slowClock(id: RaftId, divisor: number, steps: number): void {
    const m = this.get(id);
    m.clockDivisor = divisor;
    m.clockSlowUntil = this.now + steps;
  }

  /** Starts `id` again from its durable state. */
  restart(id: RaftId): void {
    const m = this.get(id);
    if (m.up) return;
    m.storage = m.disk.load();
    const snap = m.storage.snapshot();
    m.kv = KvStateMachine.restore(snap.data);
    m.conf = snap.meta.conf;
    m.appliedIndex = snap.meta.index;
    m.incarnation++;
    m.raw = RawNode.create({
      ...this.#nodeOptions,
      id,
      storage: m.storage,
      rng: new SeededRng(mix(this.#opts.seed, id, m.incarnation)),
      electionTick: this.#opts.electionTick,
      heartbeatTick: 1,
      applied: snap.meta.index,
      onRejected: (reason) => m.rejected.add(reason),
    });
    m.prefix = new Map();
    const base = this.oracle.prefixOf(snap.meta.index, snap.meta.term);
    m.prefix.set(snap.meta.index, base);
    const first = m.storage.firstIndex();
    const ents =
      m.storage.lastIndex() >= first
        ? m.storage.entries(first, m.storage.lastIndex() + 1, Number.MAX_SAFE_INTEGER)
        : [];
    this.#recordWrite(m, ents);
    m.lastTerm = m.raw.summary().term;
    m.leaderTerm = -1;
    m.diskStalledUntil = 0;
    m.up = true;
    this.#trace?.(`${this.now} restart ${id} ${JSON.stringify(m.raw.status())}`);
  }

  // ---- clients ----------------------------------------------------------------------

  isIdle(client: number): boolean {
    return !this.#pending.has(client);
  }

  #leaderCache = { at: -1, id: 0 };

  /** The leader with the highest term among running members, or 0 (cached per step). */
  leader(): RaftId {
    if (this.#leaderCache.at === this.now) return this.#leaderCache.id;
    const id = this.findLeader();
    this.#leaderCache = { at: this.now, id };
    return id;
  }

  /** Like {@link leader}, but looks now. */
  findLeader(): RaftId {
    let best = 0;
    let bestTerm = -1;
    for (const m of this.members.values()) {
      if (!m.up) continue;
      const st = m.raw.summary();
      if (st.role === 'leader' && st.term > bestTerm) {
        best = m.id;
        bestTerm = st.term;
      }
    }
    return best;
  }

  #nextSeq(client: number): number {
    const s = (this.#seqs.get(client) ?? 0) + 1;
    this.#seqs.set(client, s);
    return s;
  }

  /**
   * Invokes put/cas (through the log) or get (through ReadIndex) from `client` at member
   * `node`. Returns false when the member refused at once (the op is not recorded).
   */
  invoke(
    client: number,
    node: RaftId,
    req:
      | { kind: 'put'; key: string; value: string }
      | { kind: 'cas'; key: string; expected: string | null; value: string }
      | { kind: 'get'; key: string },
  ): boolean {
    const m = this.get(node);
    if (!m.up || this.#pending.has(client)) return false;
    const seq = this.#nextSeq(client);
    const op: KvOperation = { client, ...req, call: ++this.#clock, ret: Number.POSITIVE_INFINITY };
    const pending: PendingOp = {
      op,
      client,
      seq,
      node,
      incarnation: m.incarnation,
      deadline: this.now + this.#opts.opTimeout,
    };
    try {
      if (req.kind === 'get') {
        const ctx = `${client}:${seq}`;
        m.raw.readIndex(new TextEncoder().encode(ctx));
        m.reads.set(ctx, { op: pending, index: undefined });
      } else {
        const cmd =
          req.kind === 'put'
            ? ({ c: client, s: seq, o: 'put', k: req.key, v: req.value } as const)
            : ({ c: client, s: seq, o: 'cas', k: req.key, e: req.expected, v: req.value } as const);
        m.raw.propose(encodeCommand(cmd));
      }
    } catch (err) {
      if (err instanceof NotLeaderError || err instanceof ProposalDroppedError) return false;
      throw err;
    }
    this.history.push(op);
    this.#pending.set(client, pending);
    return true;
  }

  #complete(p: PendingOp, output: string | null | boolean): void {
    p.op.output = output;
    p.op.ret = ++this.#clock;
    this.#pending.delete(p.client);
  }

  /** Outcome unknown: writes stay in the history open-ended, reads are dropped. */
  #giveUp(client: number, p: PendingOp): void {
    this.#pending.delete(client);
    if (p.op.kind === 'get') {
      const i = this.history.lastIndexOf(p.op);
      if (i >= 0) this.history.splice(i, 1);
    }
  }

  /** Proposes a membership change at member `node`; false when refused. */
  proposeConfChange(node: RaftId, cc: ConfChange): boolean {
    const m = this.get(node);
    if (!m.up) return false;
    try {
      m.raw.proposeConfChange(cc);
      return true;
    } catch (err) {
      if (err instanceof NotLeaderError || err instanceof ProposalDroppedError) return false;
      throw err;
    }
  }

  // ---- stepping ---------------------------------------------------------------------

  /** One step: tick every running member, then deliver and process until quiet, then check. */
  step(options: { skipTick?: number } = {}): void {
    this.now++;
    this.oracle.now = this.now;
    for (const m of this.members.values()) {
      if (!m.up || this.rng.chance(options.skipTick ?? 0)) continue;
      if (m.clockSlowUntil > this.now && this.now % m.clockDivisor !== 0) continue;
      m.raw.tick();
    }
    this.drain();
    for (const [client, p] of this.#pending) {
      if (this.now > p.deadline) {
        this.#giveUp(client, p);
        this.get(p.node).reads.delete(`${client}:${p.seq}`);
      }
    }
    this.check();
  }

  /** Delivers due messages and processes Readies until nothing moves (bounded). */
  drain(): void {
    for (let round = 0; round < MAX_DRAIN_ROUNDS; round++) {
      let moved = false;
      for (const msg of this.net.takeDue(this.now)) {
        moved = true;
        this.#deliver(msg);
      }
      for (const m of this.members.values()) {
        if (!m.up) continue;
        if (m.outstanding !== undefined && m.diskStalledUntil <= this.now) {
          this.#sync(m);
          moved = true;
        }
        if (m.outstanding === undefined && m.raw.hasReady()) {
          this.#takeReady(m);
          moved = true;
        }
      }
      if (!moved) return;
    }
  }

  #send(from: SimMember, msg: Message): void {
    if (msg.type === 'voteResponse' && !msg.reject) {
      this.oracle.vote(msg.from, msg.term, msg.to);
      // Durability: a vote leaves only once the vote (or a later term) is on disk (§2.1 rule 1).
      const hs = from.disk.durableHardState();
      if (hs.term < msg.term || (hs.term === msg.term && hs.vote !== msg.to)) {
        this.oracle.fail(
          `Durability: ${from.id} granted ${msg.to} in term ${msg.term} before persisting it`,
        );
      }
    }
    if (msg.type === 'appendResponse' && !msg.reject && msg.index > 0) {
      // Durability: an ack vouches for entries the disk already holds (§2.1 rule 2), unless
      // the member durably moved to a later term since (then it is as if the ack was sent
      // before a newer leader truncated the entry, which the network may always reorder).
      const t = from.disk.durableTerm(msg.index);
      const snapIndex = from.storage.snapshot().meta.index;
      const movedOn = from.disk.durableHardState().term > msg.term;
      if (t === undefined && msg.index > snapIndex && !movedOn) {
        this.oracle.fail(`Durability: ${from.id} acked index ${msg.index} before persisting it`);
      }
    }
    const sent = this.net.send(msg, this.now);
    if (msg.type === 'snapshot' && !sent) {
      from.raw.reportSnapshot(msg.to, false);
      from.raw.reportUnreachable(msg.to);
    }
  }

  #deliver(msg: Message): void {
    const to = this.members.get(msg.to);
    const ok = to?.up === true && this.net.canDeliver(msg);
    if (ok) {
      this.net.delivered++;
      this.#trace?.(`${this.now} deliver ${describe(msg)}`);
      to.raw.step(msg);
    }
    if (msg.type === 'snapshot') {
      const from = this.members.get(msg.from);
      if (from?.up) from.raw.reportSnapshot(msg.to, ok);
    }
  }

  #takeReady(m: SimMember): void {
    const rd = m.raw.ready();
    const st = m.raw.summary();
    if (st.role === 'leader') {
      // Leader Append-Only: a leader never rewrites an entry of its own term.
      for (const e of rd.entries) {
        if (e.index > m.storage.lastIndex()) break;
        if (e.index >= m.storage.firstIndex() && m.storage.term(e.index) === st.term) {
          this.oracle.fail(
            `Leader Append-Only: leader ${m.id} rewrote index ${e.index} in term ${st.term}`,
          );
        }
      }
    }
    if (rd.snapshot !== undefined) {
      m.storage.applySnapshot(rd.snapshot);
      m.disk.applySnapshot(rd.snapshot);
      m.prefix = new Map([
        [
          rd.snapshot.meta.index,
          this.oracle.prefixOf(rd.snapshot.meta.index, rd.snapshot.meta.term),
        ],
      ]);
    }
    m.storage.append(rd.entries);
    m.disk.append(rd.entries);
    this.#recordWrite(m, rd.entries);
    if (rd.hardState !== undefined) {
      m.storage.setHardState(rd.hardState);
      m.disk.setHardState(rd.hardState);
    }
    for (const msg of rd.messages) this.#send(m, msg);
    for (const rs of rd.readStates) {
      const ctx = new TextDecoder().decode(rs.context);
      const r = m.reads.get(ctx);
      if (r !== undefined) r.index = rs.index;
    }
    m.outstanding = rd;
  }

  #recordWrite(m: SimMember, entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    const base =
      m.prefix.get(first.index - 1) ??
      this.oracle.prefixOf(first.index - 1, m.storage.term(first.index - 1));
    const hashes = this.oracle.written(m.id, base, entries);
    for (const k of m.prefix.keys()) if (k >= first.index) m.prefix.delete(k);
    for (const [i, e] of entries.entries()) m.prefix.set(e.index, hashes[i]!);
  }

  #sync(m: SimMember): void {
    m.disk.sync();
    const rd = m.outstanding!;
    m.outstanding = undefined;
    for (const msg of rd.messagesAfterPersist) this.#send(m, msg);
    if (rd.snapshot !== undefined) {
      m.kv = KvStateMachine.restore(rd.snapshot.data);
      m.conf = rd.snapshot.meta.conf;
      m.appliedIndex = rd.snapshot.meta.index;
      this.oracle.restored(m.id, m.appliedIndex, m.kv.hash());
    }
    for (const e of rd.committedEntries) this.#apply(m, e);
    m.raw.advance(rd);
    this.#serveReads(m);
    this.#maybeSnapshot(m);
  }

  #apply(m: SimMember, e: Entry): void {
    if (e.index !== m.appliedIndex + 1) {
      this.oracle.fail(`Apply order: member ${m.id} applied ${e.index} after ${m.appliedIndex}`);
    }
    if (e.type === 'confChange') {
      const cc = decodeConfChange(e.data);
      this.#trace?.(`${this.now} apply ${m.id} ${e.index} ${JSON.stringify(cc)}`);
      m.conf = m.raw.applyConfChange(cc);
      this.onConfApplied(m.id, cc);
    } else if (e.data.byteLength > 0) {
      const cmd = decodeCommand(e.data);
      const result = m.kv.apply(cmd);
      const p = this.#pending.get(cmd.c);
      if (
        p !== undefined &&
        p.seq === cmd.s &&
        p.node === m.id &&
        p.incarnation === m.incarnation &&
        result !== undefined
      ) {
        this.#complete(p, result);
      }
    }
    m.appliedIndex = e.index;
    this.oracle.applied(m.id, e, m.kv.hash());
  }

  #serveReads(m: SimMember): void {
    for (const [ctx, r] of m.reads) {
      if (r.index === undefined || r.index > m.appliedIndex) continue;
      m.reads.delete(ctx);
      const p = this.#pending.get(r.op.client);
      if (p === r.op) this.#complete(p, m.kv.get(p.op.key));
    }
  }

  #maybeSnapshot(m: SimMember): void {
    const snapIndex = m.storage.snapshot().meta.index;
    if (m.appliedIndex - snapIndex < this.#opts.snapshotEvery) return;
    const data = m.kv.snapshot();
    const compactTo = Math.max(snapIndex, m.appliedIndex - this.#opts.keepEntries);
    m.storage.createSnapshot(m.appliedIndex, m.conf, data);
    m.storage.compact(compactTo);
    m.disk.snapshotAndCompact(m.appliedIndex, m.conf, data, compactTo);
  }

  // ---- checks -----------------------------------------------------------------------

  /** Per-step invariants over every running member. */
  check(): void {
    for (const m of this.members.values()) {
      if (!m.up) continue;
      const st = m.raw.summary();
      if (st.term < m.lastTerm)
        this.oracle.fail(`Term went back on ${m.id}: ${m.lastTerm} -> ${st.term}`);
      m.lastTerm = st.term;
      if (st.applied > st.commit || st.commit > st.lastIndex) {
        this.oracle.fail(
          `Cursor order on ${m.id}: applied ${st.applied} commit ${st.commit} last ${st.lastIndex}`,
        );
      }
      if (st.role === 'leader' && m.leaderTerm === st.term && st.commit > m.lastCommit) {
        // Raft §5.4.2: a leader commits by counting replicas only entries of its own term.
        if (m.raw.logTerm(st.commit) !== st.term) {
          this.oracle.fail(
            `Commit rule: leader ${m.id} of term ${st.term} committed index ${st.commit} of an older term`,
          );
        }
      }
      m.lastCommit = st.commit;
      if (st.role === 'leader') {
        const self = m.raw.status().progress[m.id];
        if (self !== undefined && self.match > m.storage.lastIndex()) {
          this.oracle.fail(
            `Durability: leader ${m.id} counts itself at ${self.match} beyond its written log`,
          );
        }
        if (m.leaderTerm !== st.term) this.#trace?.(`${this.now} leader ${m.id} term ${st.term}`);
        this.oracle.leader(st.term, m.id);
        if (m.leaderTerm !== st.term) {
          m.leaderTerm = st.term;
          this.oracle.newLeader(m.id, st.term, st.firstIndex, (lo, hi) => m.raw.logEntries(lo, hi));
        }
      }
      const lo = Math.max(m.commitChecked + 1, st.firstIndex);
      if (st.commit >= lo)
        this.oracle.committed(m.id, st.term, m.raw.logEntries(lo, st.commit + 1));
      m.commitChecked = Math.max(m.commitChecked, st.commit);
    }
  }

  /** Ends every pending client operation as unknown (the run is over). */
  abandonPending(): void {
    for (const [client, p] of this.#pending) this.#giveUp(client, p);
    for (const m of this.members.values()) m.reads.clear();
  }

  get pendingOps(): number {
    return this.#pending.size;
  }
}

/** One line describing a message, for traces. */
export function describe(m: Message): string {
  const head = `${m.type} ${m.from}->${m.to} t${m.term}`;
  switch (m.type) {
    case 'append':
      return `${head} i${m.index} lt${m.logTerm} n${m.entries.length}${m.entries.length ? `[${m.entries[0]!.index}..${m.entries[m.entries.length - 1]!.index}]` : ''} c${m.commit}`;
    case 'appendResponse':
      return `${head} i${m.index}${m.reject ? ` reject hint ${m.rejectHint}/${m.hintTerm}` : ''}`;
    case 'heartbeat':
      return `${head} c${m.commit}`;
    case 'vote':
    case 'preVote':
      return `${head} i${m.index} lt${m.logTerm}${m.force ? ' force' : ''}`;
    case 'voteResponse':
    case 'preVoteResponse':
      return `${head}${m.reject ? ' reject' : ' grant'}`;
    case 'snapshot':
      return `${head} snap i${m.snapshot.meta.index} t${m.snapshot.meta.term} conf ${JSON.stringify(m.snapshot.meta.conf)}`;
    default:
      return head;
  }
}
