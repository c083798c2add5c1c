import { describe, expect, it } from 'vitest';
import { durationFromMs, durationToMs, formatDuration } from './duration.js';

describe('duration', () => {
  const cases: { name: string; input: number; want: string }[] = [
    { name: 'formatDuration: prints 0s when zero', input: 0, want: '0s' },
    { name: 'formatDuration: prints milliseconds when under a second', input: 500, want: '500ms' },
    {
      name: 'formatDuration: prints minutes and seconds when over a minute',
      input: 90_000,
      want: '1m30s',
    },
    { name: 'formatDuration: prints hours when over an hour', input: 3_661_500, want: '1h1m1.5s' },
    { name: 'formatDuration: keeps the sign when negative', input: -5_000, want: '-5s' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(formatDuration(c.input)).toBe(c.want);
      // Round trip through the protobuf form.
      expect(durationToMs(durationFromMs(c.input))).toBe(c.input);
    });
  }
  it('durationToMs: returns 0 when the duration is absent', () => {
    expect(durationToMs(undefined)).toBe(0);
  });
});
