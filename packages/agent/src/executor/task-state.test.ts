import { pb } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import type { ContainerInfo, RuntimeEvent } from './container-runtime.js';
import { isStateEvent, isTerminal, missingImage, observeContainer } from './task-state.js';

const S = pb.TaskState;

function info(partial: Partial<ContainerInfo>): ContainerInfo {
  return {
    id: 'c1',
    name: 'web.1.t1',
    labels: {},
    status: 'running',
    exitCode: 0,
    oomKilled: false,
    error: '',
    pid: 42,
    startedAt: '2026-01-01T00:00:00Z',
    finishedAt: '0001-01-01T00:00:00Z',
    health: undefined,
    stopSignal: '',
    stopGraceMs: 10_000,
    ...partial,
  };
}

describe('observeContainer', () => {
  const cases: {
    name: string;
    input: Partial<ContainerInfo>;
    stopping?: boolean;
    want: { state: pb.TaskState; err: string };
  }[] = [
    {
      name: 'READY when created',
      input: { status: 'created', pid: 0 },
      want: { state: S.TASK_STATE_READY, err: '' },
    },
    {
      name: 'RUNNING when running without health check',
      input: {},
      want: { state: S.TASK_STATE_RUNNING, err: '' },
    },
    {
      name: 'STARTING while the health check has not passed',
      input: { health: 'starting' },
      want: { state: S.TASK_STATE_STARTING, err: '' },
    },
    {
      name: 'RUNNING once healthy',
      input: { health: 'healthy' },
      want: { state: S.TASK_STATE_RUNNING, err: '' },
    },
    {
      name: 'FAILED when unhealthy',
      input: { health: 'unhealthy' },
      want: { state: S.TASK_STATE_FAILED, err: 'unhealthy container' },
    },
    {
      name: 'COMPLETE on exit 0',
      input: { status: 'exited', pid: 0 },
      want: { state: S.TASK_STATE_COMPLETE, err: '' },
    },
    {
      name: 'FAILED with the exit code on a non-zero exit',
      input: { status: 'exited', exitCode: 3 },
      want: { state: S.TASK_STATE_FAILED, err: 'task: non-zero exit (3)' },
    },
    {
      name: 'FAILED naming the OOM kill',
      input: { status: 'exited', exitCode: 137, oomKilled: true },
      want: { state: S.TASK_STATE_FAILED, err: 'task: non-zero exit (137): OOM killed' },
    },
    {
      name: "FAILED with the engine's error when the entrypoint could not run",
      input: {
        status: 'exited',
        exitCode: 127,
        error: 'exec: "nope": executable file not found in $PATH',
      },
      want: {
        state: S.TASK_STATE_FAILED,
        err: 'task: non-zero exit (127): exec: "nope": executable file not found in $PATH',
      },
    },
    {
      name: 'FAILED unhealthy when it exited after failing its health check',
      input: { status: 'exited', exitCode: 143, health: 'unhealthy' },
      want: { state: S.TASK_STATE_FAILED, err: 'unhealthy container' },
    },
    {
      name: 'SHUTDOWN on any exit when the executor stopped it',
      input: { status: 'exited', exitCode: 143 },
      stopping: true,
      want: { state: S.TASK_STATE_SHUTDOWN, err: '' },
    },
    {
      name: 'FAILED when dead',
      input: { status: 'dead', exitCode: 1 },
      want: { state: S.TASK_STATE_FAILED, err: 'task: non-zero exit (1)' },
    },
  ];
  for (const { name, input, stopping, want } of cases) {
    it(`observeContainer: ${name}`, () => {
      const got = observeContainer(info(input), { stopping: stopping ?? false });
      expect({ state: got.state, err: got.err }).toEqual(want);
      expect(got.container?.containerId).toBe('c1');
    });
  }
});

describe('task state helpers', () => {
  it('missingImage: rejects in Docker words when the image is missing', () => {
    expect(missingImage('nginx:1')).toEqual({
      state: S.TASK_STATE_REJECTED,
      message: 'preparing',
      err: 'No such image: nginx:1',
    });
  });

  it('isTerminal: holds from COMPLETE on, not before', () => {
    expect(isTerminal(S.TASK_STATE_RUNNING)).toBe(false);
    for (const state of [
      S.TASK_STATE_COMPLETE,
      S.TASK_STATE_SHUTDOWN,
      S.TASK_STATE_FAILED,
      S.TASK_STATE_REJECTED,
    ]) {
      expect(isTerminal(state)).toBe(true);
    }
  });

  it('isStateEvent: asks for an inspect on die, oom and health but not start or destroy', () => {
    const event = (type: RuntimeEvent['type']): RuntimeEvent => ({
      type,
      containerId: 'c1',
      labels: {},
    });
    expect(
      ['start', 'die', 'oom', 'health', 'destroy'].map((t) =>
        isStateEvent(event(t as RuntimeEvent['type'])),
      ),
    ).toEqual([false, true, true, true, false]);
  });
});
