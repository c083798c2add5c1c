// A tiny replicated key-value map: the state machine of the crash tests and the
// benchmark. A command is `u16 key length | key | value`; applying returns the index.
import type { StateMachine } from '../node/raft-node.js';

/** Encodes a Put command. */
export function encodePut(key: Uint8Array, value: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(2 + key.length + value.length);
  buf.writeUInt16LE(key.length, 0);
  buf.set(key, 2);
  buf.set(value, 2 + key.length);
  return buf;
}

/** In-memory map of hex(key) -> value, with snapshot as JSON. */
export class KvStore implements StateMachine<number> {
  #map = new Map<string, Buffer>();
  #lastIndex = 0;

  apply(data: Uint8Array, index: number): number {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const klen = buf.readUInt16LE(0);
    const key = buf.subarray(2, 2 + klen).toString('hex');
    this.#map.set(key, Buffer.from(buf.subarray(2 + klen)));
    this.#lastIndex = index;
    return index;
  }

  get(key: Uint8Array): Buffer | undefined {
    return this.#map.get(Buffer.from(key).toString('hex'));
  }

  get size(): number {
    return this.#map.size;
  }

  /** Index of the last applied command (0 before any). */
  get lastIndex(): number {
    return this.#lastIndex;
  }

  snapshot(): Uint8Array {
    const obj: Record<string, string> = {};
    for (const [k, v] of this.#map) obj[k] = v.toString('base64');
    return Buffer.from(JSON.stringify({ lastIndex: this.#lastIndex, map: obj }));
  }

  restore(data: Uint8Array): void {
    const parsed = JSON.parse(Buffer.from(data).toString('utf8')) as {
      lastIndex: number;
      map: Record<string, string>;
    };
    this.#map = new Map(Object.entries(parsed.map).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
    this.#lastIndex = parsed.lastIndex;
  }
}
