import { describe, expect, it } from 'vitest';
import { checkLinearizable, type KvOperation } from './linearizability.js';

const INF = Number.POSITIVE_INFINITY;
const put = (client: number, value: string, call: number, ret: number): KvOperation => ({
  client,
  kind: 'put',
  key: 'k',
  value,
  call,
  ret,
});
const get = (client: number, output: string | null, call: number, ret: number): KvOperation => ({
  client,
  kind: 'get',
  key: 'k',
  output,
  call,
  ret,
});
const cas = (
  client: number,
  expected: string | null,
  value: string,
  output: boolean | undefined,
  call: number,
  ret: number,
): KvOperation => ({
  client,
  kind: 'cas',
  key: 'k',
  expected,
  value,
  ...(output === undefined ? {} : { output }),
  call,
  ret,
});

describe('linearizability', () => {
  const cases: { name: string; history: KvOperation[]; ok: boolean }[] = [
    { name: 'a read follows a write', history: [put(1, 'a', 1, 2), get(2, 'a', 3, 4)], ok: true },
    {
      name: 'a read returns a value overwritten before it began',
      history: [put(1, 'a', 1, 2), put(1, 'b', 3, 4), get(2, 'a', 5, 6)],
      ok: false,
    },
    {
      name: 'a read overlaps the write it sees',
      history: [put(1, 'a', 1, 5), get(2, 'a', 2, 3)],
      ok: true,
    },
    {
      name: 'a read sees a value nobody wrote',
      history: [put(1, 'a', 1, 2), get(2, 'z', 3, 4)],
      ok: false,
    },
    {
      name: 'an unknown write shows up later',
      history: [put(1, 'a', 1, INF), get(2, 'a', 5, 6)],
      ok: true,
    },
    {
      name: 'an unknown write never shows up',
      history: [put(1, 'a', 1, INF), get(2, null, 5, 6)],
      ok: true,
    },
    {
      name: 'two reads see the order of writes reversed',
      history: [
        put(1, 'a', 1, 10),
        put(2, 'b', 1, 10),
        get(3, 'a', 11, 12),
        get(3, 'b', 13, 14),
        get(4, 'a', 15, 16),
      ],
      ok: false,
    },
    {
      name: 'a successful cas follows the write it expects',
      history: [put(1, 'a', 1, 2), cas(2, 'a', 'b', true, 3, 4), get(3, 'b', 5, 6)],
      ok: true,
    },
    {
      name: 'a cas succeeds on a value that was replaced',
      history: [put(1, 'a', 1, 2), put(1, 'c', 3, 4), cas(2, 'a', 'b', true, 5, 6)],
      ok: false,
    },
    {
      name: 'a failed cas leaves the value',
      history: [put(1, 'a', 1, 2), cas(2, 'x', 'b', false, 3, 4), get(3, 'a', 5, 6)],
      ok: true,
    },
    {
      name: 'a read never answered is left open',
      history: [put(1, 'a', 1, 2), { client: 2, kind: 'get', key: 'k', call: 3, ret: INF }],
      ok: true,
    },
    {
      name: 'an unknown cas explains a later read',
      history: [put(1, 'a', 1, 2), cas(2, 'a', 'b', undefined, 3, INF), get(3, 'b', 5, 6)],
      ok: true,
    },
  ];
  for (const c of cases) {
    it(`linearizability: a history is ${c.ok ? 'accepted' : 'refused'} when ${c.name}`, () => {
      expect(checkLinearizable(c.history).ok).toBe(c.ok);
    });
  }

  it('linearizability: keys are checked separately when a history mixes keys', () => {
    const h: KvOperation[] = [
      { client: 1, kind: 'put', key: 'x', value: '1', call: 1, ret: 2 },
      { client: 2, kind: 'get', key: 'y', output: null, call: 3, ret: 4 },
      { client: 2, kind: 'get', key: 'x', output: null, call: 5, ret: 6 },
    ];
    expect(checkLinearizable(h)).toEqual({ ok: false, key: 'x', inconclusive: false });
  });
});
