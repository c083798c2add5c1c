// Small non-cryptographic hashes for the simulator's checkers (FNV-1a, 32 bits).

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a of bytes. */
export function hashBytes(data: Uint8Array): number {
  let h = FNV_OFFSET;
  for (const b of data) h = Math.imul(h ^ b, FNV_PRIME);
  return h >>> 0;
}

/** Mixes numbers into a running hash (order matters). */
export function mix(h: number, ...values: number[]): number {
  for (const v of values) {
    h = Math.imul(h ^ (v & 0xffffffff), FNV_PRIME);
    h = Math.imul(h ^ Math.floor(v / 0x100000000), FNV_PRIME);
  }
  return h >>> 0;
}

/** FNV-1a of a string's UTF-16 code units. */
export function hashString(s: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}
