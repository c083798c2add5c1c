import { describe, expect, it } from 'vitest';
import {
  applyConfChangeTo,
  checkConfChange,
  decodeConfChange,
  encodeConfChange,
} from './conf-change.js';
import type { ConfChange } from './types.js';

describe('conf change', () => {
  const roundTrips: { name: string; cc: ConfChange }[] = [
    { name: 'add learner', cc: { type: 'addLearner', id: 4 } },
    {
      name: 'add learner with context',
      cc: { type: 'addLearner', id: 7, context: new Uint8Array([1, 2, 3]) },
    },
    { name: 'promote', cc: { type: 'promote', id: 2 ** 40 } },
    { name: 'remove', cc: { type: 'remove', id: 1 } },
  ];
  for (const c of roundTrips) {
    it(`conf change: decode inverts encode when the change is ${c.name}`, () => {
      expect(decodeConfChange(encodeConfChange(c.cc))).toEqual(c.cc);
    });
  }

  const bad = [
    { name: 'too short', input: new Uint8Array([1, 0, 0]), error: /need at least 9 bytes: got 3/ },
    {
      name: 'unknown type',
      input: Uint8Array.of(9, ...encodeConfChange({ type: 'remove', id: 3 }).slice(1)),
      error: /unknown type code: got 9/,
    },
    {
      name: 'zero id',
      input: Uint8Array.of(3, 0, 0, 0, 0, 0, 0, 0, 0),
      error: /id must be a positive integer: got 0/,
    },
  ];
  for (const c of bad) {
    it(`conf change: decode throws RangeError when the input is ${c.name}`, () => {
      expect(() => decodeConfChange(c.input)).toThrow(RangeError);
      expect(() => decodeConfChange(c.input)).toThrow(c.error);
    });
  }

  const base = { voters: [1, 2, 3], learners: [4] };
  const checks: { name: string; cc: ConfChange; want: string | undefined }[] = [
    { name: 'adding a new learner', cc: { type: 'addLearner', id: 5 }, want: undefined },
    {
      name: 'adding an existing voter',
      cc: { type: 'addLearner', id: 2 },
      want: 'member 2 already exists',
    },
    { name: 'promoting a learner', cc: { type: 'promote', id: 4 }, want: undefined },
    {
      name: 'promoting a voter',
      cc: { type: 'promote', id: 1 },
      want: 'member 1 is not a learner',
    },
    { name: 'removing a voter', cc: { type: 'remove', id: 3 }, want: undefined },
    { name: 'removing a stranger', cc: { type: 'remove', id: 9 }, want: 'member 9 does not exist' },
  ];
  for (const c of checks) {
    it(`conf change: check answers ${c.want ?? 'ok'} when ${c.name}`, () => {
      expect(checkConfChange(base, c.cc)).toBe(c.want);
    });
  }

  it('conf change: the last voter cannot be removed when it is alone', () => {
    expect(checkConfChange({ voters: [1], learners: [2] }, { type: 'remove', id: 1 })).toBe(
      'member 1 is the last voter',
    );
  });

  it('conf change: apply moves members between voters and learners when changes apply', () => {
    let c = applyConfChangeTo(base, { type: 'addLearner', id: 5 });
    expect(c).toEqual({ voters: [1, 2, 3], learners: [4, 5] });
    c = applyConfChangeTo(c, { type: 'promote', id: 4 });
    expect(c).toEqual({ voters: [1, 2, 3, 4], learners: [5] });
    c = applyConfChangeTo(c, { type: 'remove', id: 1 });
    expect(c).toEqual({ voters: [2, 3, 4], learners: [5] });
    expect(applyConfChangeTo(c, { type: 'promote', id: 9 })).toBe(c);
  });
});
