// The uncompacted log held in memory: what FileStorage serves to the core synchronously,
// and what WAL replay rebuilds. Pure: no I/O, so replay and runtime share one set of rules.
import type { Entry } from '../core/types.js';
import { CompactedError, UnavailableError } from '../errors.js';

/**
 * Entries (offsetIndex, lastIndex] plus the term at `offsetIndex` (the compaction point,
 * etcd's dummy entry).
 */
export class MemoryLog {
  #offsetIndex = 0;
  /** Term at offsetIndex; NaN only transiently during replay after a skipped gap. */
  #offsetTerm = 0;
  #entries: Entry[] = [];
  /** Bytes of entry data held, for diagnostics. */
  #bytes = 0;

  get offsetIndex(): number {
    return this.#offsetIndex;
  }

  get offsetTermKnown(): boolean {
    return !Number.isNaN(this.#offsetTerm);
  }

  firstIndex(): number {
    return this.#offsetIndex + 1;
  }

  lastIndex(): number {
    return this.#offsetIndex + this.#entries.length;
  }

  get byteSize(): number {
    return this.#bytes;
  }

  term(index: number): number {
    if (index < this.#offsetIndex) throw new CompactedError(index, this.firstIndex());
    if (index === this.#offsetIndex) return this.#offsetTerm;
    const e = this.#entries[index - this.#offsetIndex - 1];
    if (e === undefined) throw new UnavailableError(index, this.lastIndex());
    return e.term;
  }

  /** Entries in [lo, hi) up to `maxBytes` of data, but always at least one. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo <= this.#offsetIndex) throw new CompactedError(lo, this.firstIndex());
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex());
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.#entries[i - this.#offsetIndex - 1]!;
      size += e.data.length;
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /**
   * Appends `entries`, first discarding every entry at or above the first new index
   * (Raft §5.3: a conflicting suffix is overwritten). Entries at or below the
   * compaction point are ignored. A gap is refused unless `allowGap` (WAL replay after
   * compaction deleted old segments), in which case the log restarts after the gap with
   * an unknown compaction term that a later snapshot marker must settle.
   */
  append(entries: readonly Entry[], allowGap = false): void {
    let from = 0;
    while (from < entries.length && entries[from]!.index <= this.#offsetIndex) from++;
    if (from === entries.length) return;
    const first = entries[from]!.index;
    if (first > this.lastIndex() + 1) {
      if (!allowGap) {
        throw new RangeError(
          `Append entries: index ${first} leaves a gap: last index is ${this.lastIndex()}`,
        );
      }
      this.#reset(first - 1, Number.NaN);
    } else {
      this.#truncateFrom(first);
    }
    for (let i = from; i < entries.length; i++) {
      const e = entries[i]!;
      this.#entries.push(e);
      this.#bytes += e.data.length;
    }
  }

  /**
   * A snapshot at (index, term) became durable. With `discardLog` (installed from the
   * leader) the whole log is replaced, as etcd's MemoryStorage.ApplySnapshot does;
   * otherwise (local compaction) entries after it stay.
   */
  applySnapshot(index: number, term: number, discardLog: boolean): void {
    if (discardLog) {
      this.#reset(index, term);
      return;
    }
    if (index < this.#offsetIndex) return;
    if (index === this.#offsetIndex) {
      this.#offsetTerm = term;
      return;
    }
    if (index > this.lastIndex() || this.term(index) !== term) {
      this.#reset(index, term);
      return;
    }
    this.compact(index);
  }

  /** Forgets entries at or below `index` (they live in a snapshot now). */
  compact(index: number): void {
    if (index <= this.#offsetIndex) return;
    if (index > this.lastIndex()) {
      throw new RangeError(`Compact log: index ${index} is beyond last index ${this.lastIndex()}`);
    }
    const n = index - this.#offsetIndex;
    const term = this.#entries[n - 1]!.term;
    for (let i = 0; i < n; i++) this.#bytes -= this.#entries[i]!.data.length;
    this.#entries = this.#entries.slice(n);
    this.#offsetIndex = index;
    this.#offsetTerm = term;
  }

  #truncateFrom(index: number): void {
    const keep = index - this.#offsetIndex - 1;
    if (keep >= this.#entries.length) return;
    for (let i = keep; i < this.#entries.length; i++) this.#bytes -= this.#entries[i]!.data.length;
    this.#entries.length = keep;
  }

  #reset(index: number, term: number): void {
    this.#offsetIndex = index;
    this.#offsetTerm = term;
    this.#entries = [];
    this.#bytes = 0;
  }
}
