import { durationFromMs, pb } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import { testTask } from '../scheduler/testing.js';
import {
  countRestarts,
  heldUntilMs,
  isRestart,
  restartDelayMs,
  shouldRestart,
} from './restart-policy.js';

const S = pb.TaskState;
const { CONDITION_ANY, CONDITION_NONE, CONDITION_ON_FAILURE } = pb.RestartPolicy_Condition;

function policy(p: {
  condition?: pb.RestartPolicy_Condition;
  maxAttempts?: number;
  windowMs?: number;
  delayMs?: number;
}): pb.RestartPolicy {
  return {
    condition: p.condition ?? CONDITION_ANY,
    delay: p.delayMs === undefined ? undefined : durationFromMs(p.delayMs),
    maxAttempts: p.maxAttempts ?? 0,
    window: durationFromMs(p.windowMs ?? 0),
  };
}

// A slot's history: the first task, then one restart per failure; times in ms.
function history(createdMs: number[], state = S.TASK_STATE_FAILED, specVersion = 1): pb.Task[] {
  return createdMs.map((ms, i) =>
    testTask({
      id: `t${i}`,
      slot: 1,
      createdMs: ms,
      state,
      desired: S.TASK_STATE_SHUTDOWN,
      specVersion,
    }),
  );
}

describe('restart policy', () => {
  const cases: {
    name: string;
    input: {
      policy: pb.RestartPolicy;
      tasks: pb.Task[];
      ended?: pb.Task;
      nowMs: number;
      specVersion?: number;
    };
    want: { restarts: number; restart: boolean };
  }[] = [
    {
      name: 'shouldRestart: restarts without limit when max attempts is 0',
      input: { policy: policy({}), tasks: history([0, 1, 2, 3, 4, 5]), nowMs: 10 },
      want: { restarts: 5, restart: true },
    },
    {
      name: 'shouldRestart: refuses when the condition is none',
      input: { policy: policy({ condition: CONDITION_NONE }), tasks: history([0]), nowMs: 10 },
      want: { restarts: 0, restart: false },
    },
    {
      name: 'shouldRestart: refuses a completed task when the condition is on-failure',
      input: {
        policy: policy({ condition: CONDITION_ON_FAILURE }),
        tasks: history([0], S.TASK_STATE_COMPLETE),
        nowMs: 10,
      },
      want: { restarts: 0, restart: false },
    },
    {
      name: 'shouldRestart: restarts a completed task when the condition is any',
      input: { policy: policy({}), tasks: history([0], S.TASK_STATE_COMPLETE), nowMs: 10 },
      want: { restarts: 0, restart: true },
    },
    {
      name: 'shouldRestart: allows the last attempt when restarts are one under max attempts',
      input: { policy: policy({ maxAttempts: 3 }), tasks: history([0, 1, 2]), nowMs: 10 },
      want: { restarts: 2, restart: true },
    },
    {
      name: 'shouldRestart: refuses when restarts reach max attempts',
      input: { policy: policy({ maxAttempts: 3 }), tasks: history([0, 1, 2, 3]), nowMs: 10 },
      want: { restarts: 3, restart: false },
    },
    {
      name: 'countRestarts: counts only restarts inside the window when one is set',
      input: {
        policy: policy({ maxAttempts: 2, windowMs: 1000 }),
        tasks: history([0, 100, 900, 1500]),
        nowMs: 2000,
      },
      want: { restarts: 1, restart: true },
    },
    {
      name: 'countRestarts: counts restarts at the window edge as outside when exactly window old',
      input: {
        policy: policy({ maxAttempts: 1, windowMs: 1000 }),
        tasks: history([0, 1000]),
        nowMs: 2000,
      },
      want: { restarts: 0, restart: true },
    },
    {
      name: 'countRestarts: ignores tasks of another spec version when the spec changed',
      input: {
        policy: policy({ maxAttempts: 1 }),
        tasks: history([0, 1, 2]),
        nowMs: 10,
        specVersion: 2,
      },
      want: { restarts: 0, restart: true },
    },
    {
      name: 'countRestarts: does not count a task whose predecessor was shut down by us',
      input: {
        policy: policy({ maxAttempts: 1 }),
        tasks: history([0, 1], S.TASK_STATE_SHUTDOWN),
        nowMs: 10,
      },
      want: { restarts: 0, restart: true },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { policy: p, tasks, nowMs } = c.input;
      const options = { specVersion: c.input.specVersion ?? 1, now: new Date(nowMs) };
      const ended = c.input.ended ?? tasks[tasks.length - 1]!;
      expect(countRestarts(p, tasks, options)).toBe(c.want.restarts);
      expect(shouldRestart(p, ended, tasks, options)).toBe(c.want.restart);
    });
  }

  it('isRestart: says no for the first task of a slot', () => {
    const tasks = history([0, 5]);
    expect(isRestart(tasks[0]!, tasks)).toBe(false);
    expect(isRestart(tasks[1]!, tasks)).toBe(true);
  });

  it('restartDelayMs: uses the policy delay, or 5 s when the policy sets none', () => {
    expect(restartDelayMs(policy({ delayMs: 0 }))).toBe(0);
    expect(restartDelayMs(policy({ delayMs: 1500 }))).toBe(1500);
    expect(restartDelayMs(policy({}))).toBe(5000);
    expect(restartDelayMs(undefined)).toBe(5000);
  });

  it('heldUntilMs: adds the delay only when the held task is a restart', () => {
    const tasks = history([0, 100]);
    expect(heldUntilMs(tasks[1]!, tasks, policy({ delayMs: 2000 }))).toBe(2100);
    expect(heldUntilMs(tasks[0]!, tasks, policy({ delayMs: 2000 }))).toBe(0);
  });
});
