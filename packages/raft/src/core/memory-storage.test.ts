import { describe, expect, it } from 'vitest';
import { CompactedError, SnapshotOutOfDateError, UnavailableError } from '../errors.js';
import { bootstrapSnapshot, MemoryStorage } from './memory-storage.js';
import type { Entry } from './types.js';

const conf = { voters: [1, 2, 3], learners: [] };
const ent = (index: number, term: number, size = 1): Entry => ({
  index,
  term,
  type: 'normal',
  data: new Uint8Array(size),
});

describe('memory storage', () => {
  it('memory storage: a new cluster log starts after the bootstrap snapshot when members are given', () => {
    const s = MemoryStorage.create(conf);
    expect([s.firstIndex(), s.lastIndex(), s.term(1)]).toEqual([2, 1, 1]);
    expect(s.initialState().conf).toEqual(conf);
    expect(bootstrapSnapshot({ voters: [], learners: [] }).meta.index).toBe(0);
  });

  it('memory storage: append truncates the stored suffix when entries overwrite it', () => {
    const s = MemoryStorage.create(conf);
    s.append([ent(2, 1), ent(3, 1), ent(4, 1)]);
    s.append([ent(3, 2)]);
    expect(s.lastIndex()).toBe(3);
    expect(s.term(3)).toBe(2);
    expect(() => s.append([ent(9, 2)])).toThrow(RangeError);
  });

  it('memory storage: entries honours maxBytes but returns one entry when the first is larger', () => {
    const s = MemoryStorage.create(conf);
    s.append([ent(2, 1, 10), ent(3, 1, 10), ent(4, 1, 10)]);
    expect(s.entries(2, 5, 5)).toHaveLength(1);
    expect(s.entries(2, 5, 25)).toHaveLength(2);
    expect(() => s.entries(1, 3, 100)).toThrow(CompactedError);
    expect(() => s.entries(2, 9, 100)).toThrow(UnavailableError);
  });

  it('memory storage: compact drops entries up to the snapshot when a snapshot was taken', () => {
    const s = MemoryStorage.create(conf);
    s.append([ent(2, 1), ent(3, 2), ent(4, 2)]);
    expect(() => s.compact(3)).toThrow(RangeError);
    s.createSnapshot(3, conf, new Uint8Array([7]));
    s.compact(3);
    expect([s.firstIndex(), s.term(3), s.lastIndex()]).toEqual([4, 2, 4]);
    expect(() => s.term(2)).toThrow(CompactedError);
    expect(() => s.createSnapshot(2, conf, new Uint8Array())).toThrow(SnapshotOutOfDateError);
  });

  it('memory storage: applySnapshot replaces the log when a newer snapshot arrives', () => {
    const s = MemoryStorage.create(conf);
    s.append([ent(2, 1)]);
    s.applySnapshot({ meta: { index: 10, term: 3, conf }, data: new Uint8Array() });
    expect([s.firstIndex(), s.lastIndex(), s.term(10)]).toEqual([11, 10, 3]);
    expect(() =>
      s.applySnapshot({ meta: { index: 5, term: 3, conf }, data: new Uint8Array() }),
    ).toThrow(SnapshotOutOfDateError);
  });
});
