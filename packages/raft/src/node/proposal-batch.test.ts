import { describe, expect, it } from 'vitest';
import { type BatchItem, decodeBatch, encodeBatch } from './proposal-batch.js';

const table: Array<{ name: string; input: BatchItem[] }> = [
  { name: 'one proposal', input: [{ proposer: 1, seq: 1, data: Buffer.from('put a 1') }] },
  {
    name: 'proposals of several members, one empty',
    input: [
      { proposer: 2, seq: 7, data: Buffer.from('x') },
      { proposer: 3, seq: 2 ** 40, data: Buffer.alloc(0) },
      { proposer: 2, seq: 8, data: Buffer.alloc(300, 9) },
    ],
  },
  { name: 'no proposals', input: [] },
];

describe('proposal-batch', () => {
  for (const t of table) {
    it(`proposal-batch: round-trips ${t.name}`, () => {
      const got = decodeBatch(encodeBatch(t.input));
      expect(got?.map((i) => ({ ...i, data: Buffer.from(i.data) }))).toEqual(
        t.input.map((i) => ({ ...i, data: Buffer.from(i.data) })),
      );
    });
  }

  const bad: Array<{ name: string; input: Uint8Array }> = [
    { name: 'the empty entry of a new leader', input: new Uint8Array(0) },
    { name: 'another version', input: Buffer.from([1, 0, 0, 0, 0]) },
    { name: 'a count beyond the data', input: Buffer.from([2, 1, 0, 0, 0]) },
    { name: 'trailing bytes', input: Buffer.concat([encodeBatch([]), Buffer.from([0])]) },
    {
      name: 'an item length beyond the data',
      input: encodeBatch([{ proposer: 1, seq: 1, data: Buffer.from('abc') }]).subarray(0, 26),
    },
  ];
  for (const b of bad) {
    it(`proposal-batch: is not a batch when given ${b.name}`, () => {
      expect(decodeBatch(b.input)).toBeUndefined();
    });
  }
});
