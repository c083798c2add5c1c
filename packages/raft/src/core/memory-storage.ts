import { CompactedError, SnapshotOutOfDateError, UnavailableError } from '../errors.js';
import type { ConfState, Entry, HardState, LogStorage, Snapshot } from './types.js';

const EMPTY_HARD_STATE: HardState = { term: 0, vote: 0, commit: 0 };

/**
 * A {@link LogStorage} held in memory, for the simulator and tests (and a model of what
 * a durable storage must do). `ents[0]` is a dummy entry standing for the snapshot's
 * (index, term), so `term(snapshotIndex)` answers without the compacted entries.
 *
 * @example
 * const storage = MemoryStorage.create({ voters: [1, 2, 3], learners: [] });
 * storage.append(ready.entries);
 */
export class MemoryStorage implements LogStorage {
  #hardState: HardState = EMPTY_HARD_STATE;
  #snapshot: Snapshot;
  #ents: Entry[];

  private constructor(snapshot: Snapshot) {
    this.#snapshot = snapshot;
    this.#ents = [dummy(snapshot.meta.index, snapshot.meta.term)];
  }

  /**
   * A fresh log. With members in `conf` (a new cluster), the log starts with the
   * {@link bootstrapSnapshot}; without (a member about to join), it is empty and the
   * leader will send it a snapshot.
   */
  static create(conf: ConfState = { voters: [], learners: [] }): MemoryStorage {
    return new MemoryStorage(bootstrapSnapshot(conf));
  }

  initialState(): { hardState: HardState; conf: ConfState } {
    return { hardState: this.#hardState, conf: this.#snapshot.meta.conf };
  }

  setHardState(hs: HardState): void {
    this.#hardState = hs;
  }

  hardState(): HardState {
    return this.#hardState;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.#offset();
    if (lo <= offset) throw new CompactedError(lo, offset + 1);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.#ents[i - offset]!;
      bytes += e.data.byteLength;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  term(index: number): number {
    const offset = this.#offset();
    if (index < offset) throw new CompactedError(index, offset + 1);
    if (index > this.lastIndex()) throw new UnavailableError(index, this.lastIndex());
    return this.#ents[index - offset]!.term;
  }

  firstIndex(): number {
    return this.#offset() + 1;
  }

  lastIndex(): number {
    return this.#offset() + this.#ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.#snapshot;
  }

  /**
   * Appends entries, discarding any stored entries at or after the first new index
   * (Ready contract: writing index i truncates the persisted suffix from i).
   */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    const offset = this.#offset();
    if (first.index > this.lastIndex() + 1) {
      throw new RangeError(
        `Append failed: entry ${first.index} leaves a gap: last index is ${this.lastIndex()}`,
      );
    }
    // Entries already covered by the snapshot are dropped.
    const skip = Math.max(0, offset + 1 - first.index);
    const keep = first.index + skip - offset;
    this.#ents = this.#ents.slice(0, keep).concat(entries.slice(skip));
  }

  /** Replaces the whole log by a snapshot (a follower installing the leader's image). */
  applySnapshot(snap: Snapshot): void {
    if (snap.meta.index <= this.#snapshot.meta.index) {
      throw new SnapshotOutOfDateError(snap.meta.index, this.#snapshot.meta.index);
    }
    this.#snapshot = snap;
    this.#ents = [dummy(snap.meta.index, snap.meta.term)];
  }

  /**
   * Records a snapshot of the state machine at `index` (which must be applied, hence in
   * the log) without dropping entries; call {@link compact} to drop them.
   */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.#snapshot.meta.index) {
      throw new SnapshotOutOfDateError(index, this.#snapshot.meta.index);
    }
    if (index > this.lastIndex()) throw new UnavailableError(index, this.lastIndex());
    this.#snapshot = { meta: { index, term: this.term(index), conf }, data };
    return this.#snapshot;
  }

  /**
   * Drops entries up to and including `index`. Only up to the snapshot's index: a
   * follower whose next entry was dropped must be able to get the snapshot instead.
   */
  compact(index: number): void {
    const offset = this.#offset();
    if (index <= offset) return;
    if (index > this.#snapshot.meta.index) {
      throw new RangeError(
        `Compact failed: index ${index} is beyond the snapshot: snapshot index is ${this.#snapshot.meta.index}`,
      );
    }
    const term = this.term(index);
    this.#ents = [dummy(index, term)].concat(this.#ents.slice(index - offset + 1));
  }

  #offset(): number {
    return this.#ents[0]!.index;
  }
}

/** Index of the snapshot that holds a new cluster's initial configuration. */
export const BOOTSTRAP_INDEX = 1;

/**
 * The first snapshot of a member's log. For a new cluster it sits at index 1, term 1 and
 * holds the initial configuration with an empty state machine image. Why not index 0:
 * a member that joins later starts empty and must learn the initial configuration; at
 * index 1 the leader's log starts at 2, so the joiner is sent this snapshot (or a later
 * one) instead of entries that only hold the changes made since (etcd instead writes the
 * initial members as conf-change entries). An empty `conf` gives the empty log at 0.
 *
 * @example
 * bootstrapSnapshot({ voters: [1], learners: [] }).meta.index; // 1
 */
export function bootstrapSnapshot(conf: ConfState): Snapshot {
  const empty = conf.voters.length + conf.learners.length === 0;
  const index = empty ? 0 : BOOTSTRAP_INDEX;
  return { meta: { index, term: index, conf }, data: new Uint8Array() };
}

function dummy(index: number, term: number): Entry {
  return { index, term, type: 'normal', data: new Uint8Array() };
}
