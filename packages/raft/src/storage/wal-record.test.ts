import { describe, expect, it } from 'vitest';
import { encodeRecords, RECORD_HEADER_BYTES, scanRecord, type WalRecord } from './wal-record.js';

const cases: Array<{ name: string; input: WalRecord }> = [
  {
    name: 'entries of both types',
    input: {
      type: 'entries',
      first: 7,
      entries: [
        { index: 7, term: 2, type: 'normal', data: Uint8Array.from([1, 2, 3]) },
        { index: 8, term: 3, type: 'confChange', data: new Uint8Array(0) },
      ],
    },
  },
  { name: 'empty entries', input: { type: 'entries', first: 1, entries: [] } },
  {
    name: 'hard state',
    input: { type: 'hardState', hardState: { term: 9, vote: 3, commit: 2 ** 40 } },
  },
  {
    name: 'snapshot marker',
    input: {
      type: 'snapshot',
      meta: { index: 100, term: 4, conf: { voters: [1, 2], learners: [5] } },
      discardLog: true,
    },
  },
];

describe('wal-record', () => {
  for (const c of cases) {
    it(`wal-record: round-trips ${c.name}`, () => {
      const buf = encodeRecords([c.input]);
      const scan = scanRecord(buf, 0);
      expect(scan).toEqual({ kind: 'ok', record: c.input, next: buf.length });
      expect(scanRecord(buf, buf.length)).toEqual({ kind: 'end' });
    });
  }

  it('wal-record: decodes several records framed in one write in order', () => {
    const buf = encodeRecords(cases.map((c) => c.input));
    const out: WalRecord[] = [];
    let offset = 0;
    for (let i = 0; i < 10; i++) {
      const scan = scanRecord(buf, offset);
      if (scan.kind !== 'ok') break;
      out.push(scan.record);
      offset = scan.next;
    }
    expect(out).toEqual(cases.map((c) => c.input));
  });

  const failures: Array<{
    name: string;
    mutate: (b: Buffer) => Buffer;
    want: RegExp;
    kind: string;
  }> = [
    { name: 'a torn header', mutate: (b) => b.subarray(0, 5), want: /torn header/, kind: 'short' },
    {
      name: 'a torn body',
      mutate: (b) => b.subarray(0, b.length - 1),
      want: /past end/,
      kind: 'short',
    },
    {
      name: 'a zero length',
      mutate: (b) => Buffer.concat([Buffer.alloc(RECORD_HEADER_BYTES), b]),
      want: /implausible record length 0/,
      kind: 'short',
    },
    {
      name: 'a flipped payload bit',
      mutate: (b) => {
        const c = Buffer.from(b);
        c[c.length - 1] = c[c.length - 1]! ^ 1;
        return c;
      },
      want: /checksum mismatch/,
      kind: 'bad',
    },
  ];
  for (const f of failures) {
    it(`wal-record: classifies ${f.name}`, () => {
      const buf = f.mutate(encodeRecords([cases[2]!.input]));
      const scan = scanRecord(buf, 0);
      expect(scan.kind).toBe(f.kind);
      expect(scan.kind === 'short' || scan.kind === 'bad' ? scan.reason : '').toMatch(f.want);
    });
  }
});
