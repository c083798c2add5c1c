// A replicated key-value register map for the simulator: put and compare-and-set through
// the log, get through ReadIndex. Commands carry (client, seq) and the machine keeps the
// last result per client, so a duplicated proposal applies once (thesis §6.3).

import { hashString, mix } from './hash.js';

/** A write through the log: put, or compare-and-set, tagged with (client, seq). */
export type KvCommand =
  | {
      readonly c: number;
      readonly s: number;
      readonly o: 'put';
      readonly k: string;
      readonly v: string;
    }
  | {
      readonly c: number;
      readonly s: number;
      readonly o: 'cas';
      readonly k: string;
      readonly e: string | null;
      readonly v: string;
    };

/** `ok` for put, the comparison outcome for cas. */
export type KvResult = boolean;

const ENC = new TextEncoder();
const DEC = new TextDecoder();

/** Encodes a command as a log entry payload (JSON). */
export function encodeCommand(cmd: KvCommand): Uint8Array {
  return ENC.encode(JSON.stringify(cmd));
}

/** Decodes {@link encodeCommand}'s payload. */
export function decodeCommand(data: Uint8Array): KvCommand {
  return JSON.parse(DEC.decode(data)) as KvCommand;
}

/**
 * The simulator's replicated state machine: registers by key, client sessions, snapshots.
 *
 * @example
 * const kv = new KvStateMachine();
 * kv.apply({ c: 1, s: 1, o: 'put', k: 'a', v: 'x' }); // true
 */
export class KvStateMachine {
  readonly #data = new Map<string, string>();
  readonly #sessions = new Map<number, { s: number; r: KvResult }>();

  /** Applies a command; a repeat of an already applied (client, seq) returns its first result. */
  apply(cmd: KvCommand): KvResult | undefined {
    const last = this.#sessions.get(cmd.c);
    if (last !== undefined && cmd.s <= last.s) return cmd.s === last.s ? last.r : undefined;
    let r: KvResult = true;
    if (cmd.o === 'put') {
      this.#data.set(cmd.k, cmd.v);
    } else {
      r = (this.#data.get(cmd.k) ?? null) === cmd.e;
      if (r) this.#data.set(cmd.k, cmd.v);
    }
    this.#sessions.set(cmd.c, { s: cmd.s, r });
    return r;
  }

  get(key: string): string | null {
    return this.#data.get(key) ?? null;
  }

  snapshot(): Uint8Array {
    return ENC.encode(JSON.stringify({ d: [...this.#data], s: [...this.#sessions] }));
  }

  static restore(data: Uint8Array): KvStateMachine {
    const kv = new KvStateMachine();
    if (data.byteLength === 0) return kv;
    const parsed = JSON.parse(DEC.decode(data)) as {
      d: [string, string][];
      s: [number, { s: number; r: KvResult }][];
    };
    for (const [k, v] of parsed.d) kv.#data.set(k, v);
    for (const [c, v] of parsed.s) kv.#sessions.set(c, v);
    return kv;
  }

  /** Order-independent hash of the data, to compare replicas at the same applied index. */
  hash(): number {
    let h = 0;
    for (const [k, v] of this.#data) h = (h + mix(hashString(k), hashString(v))) >>> 0;
    return h;
  }
}
