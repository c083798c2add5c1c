import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ManagerRotation, type SessionVerdict, verdictOf } from './manager-rotation.js';

describe('verdictOf', () => {
  const cases: { name: string; code: status; leader?: string; want: SessionVerdict }[] = [
    {
      name: 'a refusal naming the leader',
      code: status.UNAVAILABLE,
      leader: '10.0.0.2:2377',
      want: { action: 'move', leaderAddr: '10.0.0.2:2377' },
    },
    {
      name: 'an unreachable manager',
      code: status.UNAVAILABLE,
      want: { action: 'move', leaderAddr: undefined },
    },
    {
      name: 'a silent host',
      code: status.DEADLINE_EXCEEDED,
      want: { action: 'move', leaderAddr: undefined },
    },
    {
      name: 'a stream the manager ended',
      code: status.OK,
      want: { action: 'move', leaderAddr: undefined },
    },
    { name: 'a stale session', code: status.NOT_FOUND, want: { action: 'retry' } },
    { name: 'a node marked down', code: status.ABORTED, want: { action: 'retry' } },
    { name: 'a removed node', code: status.PERMISSION_DENIED, want: { action: 'fatal' } },
    { name: 'no certificate', code: status.UNAUTHENTICATED, want: { action: 'fatal' } },
  ];
  for (const { name, code, leader, want } of cases) {
    it(`verdictOf: ${want.action} when the session ended with ${name}`, () => {
      expect(verdictOf(code, leader)).toEqual(want);
    });
  }
});

describe('ManagerRotation', () => {
  it('ManagerRotation: goes round the list when no leader is named', () => {
    const rotation = new ManagerRotation(['a:1', 'b:1', 'c:1', 'a:1']);
    expect(rotation.list).toEqual(['a:1', 'b:1', 'c:1']);
    expect([rotation.move(), rotation.move(), rotation.move()]).toEqual(['b:1', 'c:1', 'a:1']);
  });

  it('ManagerRotation: goes to the named leader and learns it when it was unknown', () => {
    const rotation = new ManagerRotation(['a:1', 'b:1']);
    expect(rotation.move('b:1')).toBe('b:1');
    expect(rotation.move('d:1')).toBe('d:1');
    expect(rotation.list).toEqual(['a:1', 'b:1', 'd:1']);
  });

  it('ManagerRotation: skips unreachable managers when no leader is named', () => {
    const rotation = new ManagerRotation(['dead:1', 'b:1', 'c:1']);
    const dead = (addr: string) => addr.startsWith('dead');
    expect(rotation.move(undefined, dead)).toBe('b:1');
    expect(rotation.move(undefined, dead)).toBe('c:1');
    expect(rotation.move(undefined, dead)).toBe('b:1');
    const onlyOne = new ManagerRotation(['dead:1', 'b:1']);
    onlyOne.move(undefined, dead);
    expect(onlyOne.move(undefined, dead)).toBe('b:1');
    expect(onlyOne.move(undefined, () => true)).toBe('dead:1');
  });

  it('ManagerRotation: keeps the manager in use when a session message replaces the list', () => {
    const rotation = new ManagerRotation(['a:1', 'b:1']);
    rotation.move();
    expect(rotation.replace(['c:1', 'd:1'])).toBe(true);
    expect(rotation.current).toBe('b:1');
    expect(rotation.list).toEqual(['b:1', 'c:1', 'd:1']);
    expect(rotation.replace(['b:1', 'c:1', 'd:1'])).toBe(false);
  });

  it('ManagerRotation: throws RangeError when given no manager', () => {
    expect(() => new ManagerRotation([])).toThrow(
      new RangeError('Start agent session: no manager address given: pass at least one'),
    );
  });
});
