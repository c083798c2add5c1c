// A simulated disk: writes land in a volatile cache and become durable only at sync().
// A crash throws the cache away, like a power cut before fsync (reference §2.1 rule 9).
// The durable image is itself a MemoryStorage; restart clones it.

import { MemoryStorage } from '../core/memory-storage.js';
import type { ConfState, Entry, HardState, Snapshot } from '../core/types.js';

/** One member's disk: durable image plus writes cached until sync. */
export class SimDisk {
  readonly #durable: MemoryStorage;
  #pending: ((s: MemoryStorage) => void)[] = [];

  constructor(conf: ConfState) {
    this.#durable = MemoryStorage.create(conf);
  }

  get hasPending(): boolean {
    return this.#pending.length > 0;
  }

  append(entries: readonly Entry[]): void {
    if (entries.length > 0) this.#pending.push((s) => s.append(entries));
  }

  setHardState(hs: HardState): void {
    this.#pending.push((s) => s.setHardState(hs));
  }

  applySnapshot(snap: Snapshot): void {
    this.#pending.push((s) => s.applySnapshot(snap));
  }

  /** Makes every cached write durable, in order. */
  sync(): void {
    const ops = this.#pending;
    this.#pending = [];
    for (const op of ops) op(this.#durable);
  }

  /** Loses every write not yet synced. */
  crash(): void {
    this.#pending = [];
  }

  /**
   * Records a state-machine snapshot and compacts, durably at once (a snapshot file is
   * written aside, fsynced and renamed in one step). Call right after sync().
   */
  snapshotAndCompact(index: number, conf: ConfState, data: Uint8Array, compactTo: number): void {
    this.#durable.createSnapshot(index, conf, data);
    this.#durable.compact(compactTo);
  }

  /** A fresh MemoryStorage holding exactly the durable image. */
  load(): MemoryStorage {
    const d = this.#durable;
    const snap = d.snapshot();
    const s = MemoryStorage.create();
    if (snap.meta.index > 0) s.applySnapshot(snap);
    const first = d.firstIndex();
    const last = d.lastIndex();
    if (last >= first) s.append(d.entries(first, last + 1, Number.MAX_SAFE_INTEGER));
    s.setHardState(d.hardState());
    return s;
  }

  /** Term of the durable entry at `index` (undefined when not durable or compacted). */
  durableTerm(index: number): number | undefined {
    const d = this.#durable;
    if (index < d.firstIndex() - 1 || index > d.lastIndex()) return undefined;
    return d.term(index);
  }

  durableHardState(): HardState {
    return this.#durable.hardState();
  }
}
