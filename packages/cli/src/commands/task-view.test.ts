import { pb } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import { humanDuration, matchesTaskFilter, parseTaskFilter, taskName } from './task-view.js';

describe('humanDuration', () => {
  const cases: [number, string][] = [
    [0, 'Less than a second'],
    [1000, '1 second'],
    [59_000, '59 seconds'],
    [60_000, 'About a minute'],
    [119_000, 'About a minute'],
    [300_000, '5 minutes'],
    [3_600_000, 'About an hour'],
    [5_400_000, '2 hours'],
    [3 * 86_400_000, '3 days'],
    [21 * 86_400_000, '3 weeks'],
    [90 * 86_400_000, '3 months'],
    [800 * 86_400_000, '2 years'],
  ];
  for (const [ms, want] of cases) {
    it(`humanDuration: says "${want}" for ${ms} ms`, () => {
      expect(humanDuration(ms)).toBe(want);
    });
  }
});

describe('parseTaskFilter', () => {
  const cases: { name: string; input: string[]; want?: object; error?: string }[] = [
    { name: 'no filter', input: [], want: { desiredStates: [], nodes: [], ids: [], names: [] } },
    {
      name: 'desired states',
      input: ['desired-state=running', 'desired-state=Shutdown', 'desired-state=accepted'],
      want: {
        desiredStates: [
          pb.TaskState.TASK_STATE_RUNNING,
          pb.TaskState.TASK_STATE_SHUTDOWN,
          pb.TaskState.TASK_STATE_ACCEPTED,
        ],
      },
    },
    {
      name: 'node, id and name',
      input: ['node=lab-w1', 'id=t1', 'name=web.1'],
      want: { nodes: ['lab-w1'], ids: ['t1'], names: ['web.1'] },
    },
    {
      name: 'an unknown desired state',
      input: ['desired-state=done'],
      error:
        'Invalid --filter "desired-state=done": desired-state must be running, shutdown, accepted or ready',
    },
    { name: 'no value', input: ['node='], error: 'Invalid --filter "node=": want key=value' },
    {
      name: 'no equals sign',
      input: ['running'],
      error: 'Invalid --filter "running": want key=value',
    },
  ];
  for (const c of cases) {
    it(`parseTaskFilter: ${c.error ? 'refuses' : 'reads'} ${c.name}`, () => {
      if (c.error) {
        expect(() => parseTaskFilter(c.input)).toThrow(new TypeError(c.error));
      } else {
        expect(parseTaskFilter(c.input)).toMatchObject(c.want!);
      }
    });
  }

  it('matchesTaskFilter: matches a node by ID or hostname and a task by ID prefix', () => {
    const task = pb.Task.fromPartial({
      id: 'abc123',
      nodeId: 'n1',
      slot: 2,
      serviceAnnotations: { name: 'web' },
      desiredState: pb.TaskState.TASK_STATE_RUNNING,
    });
    const hostnames = new Map([['n1', 'lab-m1']]);
    const match = (texts: string[]) => matchesTaskFilter(task, parseTaskFilter(texts), hostnames);
    expect([match(['node=n1']), match(['node=lab-m1']), match(['node=lab-w1'])]).toEqual([
      true,
      true,
      false,
    ]);
    expect([
      match(['id=abc']),
      match(['id=xyz']),
      match(['name=web.2']),
      match(['desired-state=shutdown']),
    ]).toEqual([true, false, true, false]);
  });
});

describe('taskName', () => {
  it('taskName: uses the slot for replicated tasks and the node for global ones', () => {
    expect(taskName(pb.Task.fromPartial({ slot: 3, serviceAnnotations: { name: 'web' } }))).toBe(
      'web.3',
    );
    expect(
      taskName(pb.Task.fromPartial({ slot: 0, nodeId: 'n9', serviceAnnotations: { name: 'mon' } })),
    ).toBe('mon.n9');
  });
});
