// A synchronous in-memory cluster for scenario tests (the shape of etcd-io/raft's
// `network` in raft_test.go): every Ready is persisted at once, messages are delivered
// until the cluster is quiet, and tests cut links, drop or hold messages and tick
// members by hand. Deterministic: no clocks, a seeded Rng per member.

import { decodeConfChange } from '../core/conf-change.js';
import { MemoryStorage } from '../core/memory-storage.js';
import type { RawNodeOptions } from '../core/options.js';
import { RawNode } from '../core/raw-node.js';
import { SeededRng } from '../core/rng.js';
import type { ConfState, Message, RaftId, ReadState } from '../core/types.js';

/** The message variant(s) whose `type` admits `T`. */
export type MessageOfType<T extends Message['type']> = Message extends infer M
  ? M extends Message
    ? T extends M['type']
      ? M
      : never
    : never
  : never;

/** What a test decides for one message in flight. */
export type Verdict = 'deliver' | 'drop' | 'hold';

/** A member of a {@link TestNetwork}: its node, storage and what it applied. */
export interface TestMember {
  readonly id: RaftId;
  raw: RawNode;
  storage: MemoryStorage;
  /** Payloads of applied non-empty normal entries, in order (the "state machine"). */
  applied: string[];
  /** Configuration as of the last applied entry. */
  conf: ConfState;
  readStates: ReadState[];
  /** Reasons reported through `onRejected`. */
  rejected: string[];
  up: boolean;
}

/** Options of {@link TestNetwork}. */
export interface TestNetworkOptions {
  readonly voters: readonly RaftId[];
  readonly learners?: readonly RaftId[];
  /** Options for every member (ids, storage and rng are filled in). */
  readonly node?: Partial<RawNodeOptions>;
  /** Per member overrides. */
  readonly perNode?: (id: RaftId) => Partial<RawNodeOptions>;
  readonly seed?: number;
}

const DEC = new TextDecoder();
const ENC = new TextEncoder();
const MAX_ROUNDS = 10_000;

/** What `fn` threw, or undefined: for asserting error class, code and message. */
export function caught(fn: () => void): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

/** Encodes a string proposal. */
export function bytes(s: string): Uint8Array {
  return ENC.encode(s);
}

/**
 * A synchronous cluster for scenario tests.
 *
 * @example
 * const net = new TestNetwork({ voters: [1, 2, 3] });
 * net.elect(1);
 * net.propose(1, 'x'); // every member applies 'x'
 */
export class TestNetwork {
  readonly members = new Map<RaftId, TestMember>();
  /** Decides the fate of each message; default delivers everything not cut. */
  filter: (m: Message) => Verdict = () => 'deliver';
  /** Messages held back by the filter, in order. */
  held: Message[] = [];
  /** Every message sent, for assertions. */
  readonly sent: Message[] = [];
  readonly #queue: Message[] = [];
  readonly #cut = new Set<string>();
  readonly #options: TestNetworkOptions;

  constructor(options: TestNetworkOptions) {
    this.#options = options;
    const conf = { voters: [...options.voters], learners: [...(options.learners ?? [])] };
    for (const id of [...conf.voters, ...conf.learners]) this.add(id, conf);
  }

  /** Adds a member with a fresh log whose initial configuration is `conf`. */
  add(id: RaftId, conf: ConfState = { voters: [], learners: [] }): TestMember {
    const storage = MemoryStorage.create(conf);
    const m: TestMember = {
      id,
      raw: undefined as unknown as RawNode,
      storage,
      applied: [],
      conf,
      readStates: [],
      rejected: [],
      up: true,
    };
    m.raw = this.#createNode(m);
    this.members.set(id, m);
    return m;
  }

  #createNode(m: TestMember, applied = 0): RawNode {
    return RawNode.create({
      electionTick: 10,
      heartbeatTick: 1,
      ...this.#options.node,
      ...this.#options.perNode?.(m.id),
      id: m.id,
      storage: m.storage,
      rng: new SeededRng((this.#options.seed ?? 1) * 1000 + m.id),
      applied,
      onRejected: (reason) => m.rejected.push(reason),
    });
  }

  get(id: RaftId): TestMember {
    const m = this.members.get(id);
    if (m === undefined) throw new RangeError(`Get member failed: no member ${id}`);
    return m;
  }

  node(id: RaftId): RawNode {
    return this.get(id).raw;
  }

  /** Cuts (or heals) the link between a and b in both directions. */
  cut(a: RaftId, b: RaftId): void {
    this.#cut.add(`${a}-${b}`);
    this.#cut.add(`${b}-${a}`);
  }

  /** Cuts every link of `id`. */
  isolate(id: RaftId): void {
    for (const other of this.members.keys()) if (other !== id) this.cut(id, other);
  }

  heal(): void {
    this.#cut.clear();
    this.filter = () => 'deliver';
  }

  /** Crashes a member: it stops receiving and ticking; its storage survives. */
  stop(id: RaftId): void {
    this.get(id).up = false;
  }

  /** Restarts a member from its storage (everything in MemoryStorage counts as durable). */
  restart(id: RaftId): void {
    const m = this.get(id);
    const snap = m.storage.snapshot();
    m.applied = snap.data.byteLength > 0 ? (JSON.parse(DEC.decode(snap.data)) as string[]) : [];
    m.conf = snap.meta.conf;
    m.readStates = [];
    m.raw = this.#createNode(m, snap.meta.index);
    m.up = true;
  }

  /** Injects a message as if it arrived from the network, then stabilizes. */
  send(msg: Message): void {
    this.#queue.push(msg);
    this.stabilize();
  }

  /** Ticks `id` `n` times, stabilizing after each tick. */
  tick(id: RaftId, n = 1): void {
    for (let i = 0; i < n; i++) {
      this.get(id).raw.tick();
      this.stabilize();
    }
  }

  /** Ticks every running member `n` times, stabilizing after each round. */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const m of this.members.values()) if (m.up) m.raw.tick();
      this.stabilize();
    }
  }

  /** Processes Readies and delivers messages until nothing moves. */
  stabilize(): void {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let moved = false;
      for (const m of this.members.values()) {
        if (m.up && m.raw.hasReady()) {
          this.#processReady(m);
          moved = true;
        }
      }
      const batch = this.#queue.splice(0);
      for (const msg of batch) {
        moved = true;
        this.#deliver(msg);
      }
      if (!moved) return;
    }
    throw new Error('Stabilize failed: the cluster did not settle');
  }

  /** Delivers the held messages (optionally only those matching `pick`), then stabilizes. */
  release(pick: (m: Message) => boolean = () => true): void {
    const keep: Message[] = [];
    for (const m of this.held) (pick(m) ? this.#queue : keep).push(m);
    this.held = keep;
    this.stabilize();
  }

  #deliver(msg: Message): void {
    const to = this.members.get(msg.to);
    if (to === undefined || !to.up || this.#cut.has(`${msg.from}-${msg.to}`)) return;
    const verdict = this.filter(msg);
    if (verdict === 'drop') return;
    if (verdict === 'hold') {
      this.held.push(msg);
      return;
    }
    to.raw.step(msg);
  }

  #processReady(m: TestMember): void {
    const rd = m.raw.ready();
    if (rd.snapshot !== undefined) {
      m.storage.applySnapshot(rd.snapshot);
      m.applied =
        rd.snapshot.data.byteLength > 0
          ? (JSON.parse(DEC.decode(rd.snapshot.data)) as string[])
          : [];
      m.conf = rd.snapshot.meta.conf;
    }
    m.storage.append(rd.entries);
    if (rd.hardState !== undefined) m.storage.setHardState(rd.hardState);
    for (const msg of [...rd.messages, ...rd.messagesAfterPersist]) {
      this.sent.push(msg);
      this.#queue.push(msg);
    }
    for (const e of rd.committedEntries) {
      if (e.type === 'confChange') m.conf = m.raw.applyConfChange(decodeConfChange(e.data));
      else if (e.data.byteLength > 0) m.applied.push(DEC.decode(e.data));
    }
    m.readStates.push(...rd.readStates);
    m.raw.advance(rd);
  }

  /** Snapshots `id`'s state machine at its applied index and compacts its log up to it. */
  compact(id: RaftId): number {
    const m = this.get(id);
    const st = m.raw.status();
    const data = ENC.encode(JSON.stringify(m.applied));
    m.storage.createSnapshot(st.applied, m.conf, data);
    m.storage.compact(st.applied);
    return st.applied;
  }

  /** The member that is leader at the highest term, or 0. */
  leader(): RaftId {
    let best = 0;
    let bestTerm = -1;
    for (const m of this.members.values()) {
      const st = m.raw.status();
      if (m.up && st.role === 'leader' && st.term > bestTerm) {
        best = m.id;
        bestTerm = st.term;
      }
    }
    return best;
  }

  /** Campaigns `id` and stabilizes. */
  elect(id: RaftId): void {
    this.get(id).raw.campaign();
    this.stabilize();
  }

  /** Proposes a string on `id` and stabilizes. */
  propose(id: RaftId, data: string): void {
    this.get(id).raw.propose(bytes(data));
    this.stabilize();
  }

  /** Messages of one type sent since `from` (an index into {@link sent}). */
  sentOf<T extends Message['type']>(type: T, from = 0): MessageOfType<T>[] {
    return this.sent.slice(from).filter((m) => m.type === type) as MessageOfType<T>[];
  }
}
