import { describe, expect, it } from 'vitest';
import { LatestValue } from './latest-value.js';

describe('LatestValue', () => {
  it('LatestValue: gives a slow reader only the newest value when several were set', async () => {
    const latest = new LatestValue<number>();
    const reader = latest.subscribe();
    latest.set(1);
    latest.set(2);
    expect(await reader.next()).toEqual({ value: 2, done: false });
    const waiting = reader.next();
    latest.set(3);
    expect(await waiting).toEqual({ value: 3, done: false });
  });

  it('LatestValue: ends readers after their last value when closed', async () => {
    const latest = new LatestValue<string>();
    latest.set('a');
    const reader = latest.subscribe();
    latest.close();
    expect(await reader.next()).toEqual({ value: 'a', done: false });
    expect(await reader.next()).toEqual({ value: undefined, done: true });
  });

  it('LatestValue: stops a waiting reader when it returns', async () => {
    const latest = new LatestValue<string>();
    const reader = latest.subscribe();
    const waiting = reader.next();
    await reader.return?.();
    expect(await waiting).toEqual({ value: undefined, done: true });
  });
});
