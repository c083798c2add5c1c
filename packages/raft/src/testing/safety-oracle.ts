// The simulator's global observer: checks the five Raft safety properties (Raft paper
// Fig. 3) and a few extra invariants incrementally, as members write, commit and apply.
// Every violation is recorded as one line naming the property.

import type { Entry, RaftId } from '../core/types.js';
import { hashBytes, mix } from './hash.js';

interface Fingerprint {
  readonly term: number;
  readonly hash: number;
}

function fingerprint(e: Entry): Fingerprint {
  return { term: e.term, hash: mix(hashBytes(e.data), e.type === 'confChange' ? 1 : 0) };
}

/**
 * Observes every member of a simulation and records each violated safety property.
 *
 * @example
 * const oracle = new SafetyOracle();
 * oracle.leader(3, 1); oracle.leader(3, 2); // oracle.violations now names Election Safety
 */
export class SafetyOracle {
  readonly violations: string[] = [];
  /** term → the member that led it. */
  readonly #leaders = new Map<number, RaftId>();
  /** index → the entry first seen committed there, and the observer's term then. */
  readonly #committed = new Map<number, Fingerprint & { seenIn: number }>();
  /** index → the entry first applied there, and the state machine hash after it. */
  readonly #applied = new Map<number, Fingerprint & { state: number }>();
  /** `index:term` → hash of the whole log prefix ending there (Log Matching). */
  readonly #prefix = new Map<string, number>();
  /** `voter:term` → the candidate it granted (votes must survive restarts). */
  readonly #votes = new Map<string, RaftId>();
  now = 0;

  #fail(what: string): void {
    if (this.violations.length < 20) this.violations.push(`step ${this.now}: ${what}`);
  }

  /** Election Safety: at most one leader per term. */
  leader(term: number, id: RaftId): void {
    const known = this.#leaders.get(term);
    if (known === undefined) this.#leaders.set(term, id);
    else if (known !== id) this.#fail(`Election Safety: ${known} and ${id} both led term ${term}`);
  }

  get leaderTerms(): number {
    return this.#leaders.size;
  }

  /** A granted vote released to the network. */
  vote(voter: RaftId, term: number, candidate: RaftId): void {
    const key = `${voter}:${term}`;
    const known = this.#votes.get(key);
    if (known === undefined) this.#votes.set(key, candidate);
    else if (known !== candidate) {
      this.#fail(`Vote safety: ${voter} granted ${known} and ${candidate} in term ${term}`);
    }
  }

  /**
   * Log Matching: records the prefix hash of entries written by a member, chained from
   * `base` (the prefix hash before the first entry); returns the new hashes.
   */
  written(id: RaftId, base: number, entries: readonly Entry[]): number[] {
    const out: number[] = [];
    let h = base;
    for (const e of entries) {
      const f = fingerprint(e);
      h = mix(h, e.index, f.term, f.hash);
      const key = `${e.index}:${e.term}`;
      const known = this.#prefix.get(key);
      if (known === undefined) this.#prefix.set(key, h);
      else if (known !== h) {
        this.#fail(
          `Log Matching: member ${id} holds a different log up to index ${e.index} term ${e.term}`,
        );
      }
      out.push(h);
    }
    return out;
  }

  /** Prefix hash registered for (index, term), e.g. the base of an installed snapshot. */
  prefixOf(index: number, term: number): number {
    return this.#prefix.get(`${index}:${term}`) ?? mix(0, index, term);
  }

  /** Member `id`, at `term`, commits `entries`: they must never change (Leader Completeness oracle). */
  committed(id: RaftId, term: number, entries: readonly Entry[]): void {
    for (const e of entries) {
      const f = fingerprint(e);
      const known = this.#committed.get(e.index);
      if (known === undefined) this.#committed.set(e.index, { ...f, seenIn: term });
      else if (known.term !== f.term || known.hash !== f.hash) {
        this.#fail(`Commit safety: member ${id} committed a different entry at index ${e.index}`);
      }
    }
  }

  /**
   * Leader Completeness: a new leader of `term` holds every entry above `firstIndex` that
   * was committed in an earlier term. Observations are made once per step, so an entry
   * first seen committed by a member already at `term` or later may have been committed
   * after this leader was elected, and is not required of it.
   */
  newLeader(
    id: RaftId,
    term: number,
    firstIndex: number,
    entries: (lo: number, hi: number) => Entry[],
  ): void {
    let hi = 0;
    for (const idx of this.#committed.keys()) if (idx > hi) hi = idx;
    if (hi < firstIndex) return;
    const got = entries(firstIndex, hi + 1);
    const byIndex = new Map(got.map((e) => [e.index, e]));
    for (const [idx, f] of this.#committed) {
      if (idx < firstIndex || f.seenIn >= term) continue;
      const e = byIndex.get(idx);
      if (e === undefined || e.term !== f.term || fingerprint(e).hash !== f.hash) {
        this.#fail(
          `Leader Completeness: leader ${id} of term ${term} lacks committed entry ${idx}`,
        );
        return;
      }
    }
  }

  /** State Machine Safety: every member applies the same entry, reaching the same state, at an index. */
  applied(id: RaftId, e: Entry, state: number): void {
    const f = fingerprint(e);
    const known = this.#applied.get(e.index);
    if (known === undefined) this.#applied.set(e.index, { ...f, state });
    else if (known.term !== f.term || known.hash !== f.hash) {
      this.#fail(
        `State Machine Safety: member ${id} applied a different entry at index ${e.index}`,
      );
    } else if (known.state !== state) {
      this.#fail(
        `State Machine Safety: member ${id} reached a different state at index ${e.index}`,
      );
    }
  }

  /** A snapshot restored at `index` must match the state others reached there. */
  restored(id: RaftId, index: number, state: number): void {
    const known = this.#applied.get(index);
    if (known !== undefined && known.state !== state) {
      this.#fail(`State Machine Safety: member ${id} restored a different state at index ${index}`);
    }
  }

  fail(what: string): void {
    this.#fail(what);
  }
}
