// Parsers for the per-node flags of `up` and `add`: `--label node=k=v` and
// `--capacity node=cpus,memory`. Pure; the CLI and the library share them.
import { LabError } from './errors.js';
import { NODE_NAME_PATTERN } from './lab-layout.js';
import type { NodeCapacity } from './lab-state.js';

/** One `--label node=k=v`. */
export interface NodeLabelFlag {
  readonly node: string;
  readonly key: string;
  readonly value: string;
}

/** One `--capacity node=cpus,memory`. */
export interface NodeCapacityFlag {
  readonly node: string;
  readonly capacity: NodeCapacity;
}

function splitNode(flag: string, text: string, want: string): [string, string] {
  const at = text.indexOf('=');
  const node = at < 0 ? '' : text.slice(0, at);
  if (!NODE_NAME_PATTERN.test(node)) {
    throw new LabError('SHOAL_LAB_INVALID_ARGUMENT', `Parse ${flag}: want ${want}: "${text}"`);
  }
  return [node, text.slice(at + 1)];
}

/**
 * Parses `--label node=k=v` (an engine label of that node's dockerd).
 *
 * @example
 * parseLabelFlag('w1=zone=a'); // { node: 'w1', key: 'zone', value: 'a' }
 */
export function parseLabelFlag(text: string): NodeLabelFlag {
  const want = 'node=key=value, e.g. "w1=zone=a"';
  const [node, rest] = splitNode('--label', text, want);
  const at = rest.indexOf('=');
  if (at <= 0) {
    throw new LabError('SHOAL_LAB_INVALID_ARGUMENT', `Parse --label: want ${want}: "${text}"`);
  }
  return { node, key: rest.slice(0, at), value: rest.slice(at + 1) };
}

const MEMORY_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

/**
 * Parses a memory size: bytes, or a number with a binary unit (`k`, `m`, `g`, `t`, with an
 * optional `i`/`b`), as Docker's `--memory` reads it.
 *
 * @example
 * parseMemorySize('512m'); // 536870912
 */
export function parseMemorySize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?$/i.exec(text.trim());
  const unit = match ? MEMORY_UNITS[match[2]!.toLowerCase()] : undefined;
  const bytes = match && unit !== undefined ? Math.floor(Number(match[1]) * unit) : Number.NaN;
  if (!(bytes > 0) || !Number.isSafeInteger(bytes)) {
    throw new LabError(
      'SHOAL_LAB_INVALID_ARGUMENT',
      `Parse memory size: want bytes or a size like "512m" or "2g": "${text}"`,
    );
  }
  return bytes;
}

/**
 * Parses `--capacity node=cpus,memory` (what the node's shoald announces).
 *
 * @example
 * parseCapacityFlag('w1=2,1g'); // { node: 'w1', capacity: { cpus: 2, memoryBytes: 1073741824 } }
 */
export function parseCapacityFlag(text: string): NodeCapacityFlag {
  const want = 'node=cpus,memory, e.g. "w1=2,1g"';
  const [node, rest] = splitNode('--capacity', text, want);
  const [cpusText, memoryText, extra] = rest.split(',');
  const cpus = Number(cpusText);
  if (memoryText === undefined || extra !== undefined || !(cpus > 0)) {
    throw new LabError('SHOAL_LAB_INVALID_ARGUMENT', `Parse --capacity: want ${want}: "${text}"`);
  }
  return { node, capacity: { cpus, memoryBytes: parseMemorySize(memoryText) } };
}
