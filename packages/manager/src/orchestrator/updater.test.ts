import { pb } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import { type TestNode, type TestTask, testNode, testTask } from '../scheduler/testing.js';
import { describeActions, sequentialIds, type TestService, testService } from './testing.js';
import { planUpdate, rollbackService } from './updater.js';

const S = pb.TaskState;
const U = pb.UpdateStatus_State;
const { FAILURE_ACTION_CONTINUE, FAILURE_ACTION_ROLLBACK } = pb.UpdateConfig_FailureAction;
const { ORDER_START_FIRST } = pb.UpdateConfig_Order;

// A task running image v1 (old) or v2 (new); the service's images decide which is current.
type T = Omit<TestTask, 'spec'> & { image: 'v1' | 'v2' };
const old = (id: string, slot: number, more: Partial<T> = {}): T => ({
  id,
  slot,
  nodeId: 'a',
  image: 'v1',
  state: S.TASK_STATE_RUNNING,
  ...more,
});
const fresh = (id: string, slot: number, more: Partial<T> = {}): T => ({
  ...old(id, slot),
  image: 'v2',
  ...more,
});
const stopped = { desired: S.TASK_STATE_SHUTDOWN, state: S.TASK_STATE_SHUTDOWN };
// Failed, and already shut down by the orchestrator, which restarts the slot.
const replaced = { desired: S.TASK_STATE_SHUTDOWN, state: S.TASK_STATE_FAILED };

interface Case {
  name: string;
  service: TestService;
  status?: { state: pb.UpdateStatus_State; startedMs: number };
  tasks: T[];
  nodes?: TestNode[];
  nowMs: number;
  want: string[];
  /** `STATE: message` of the written service, or undefined when it is not written. */
  wantStatus?: string;
  wantImage?: string;
  wakeAtMs?: number;
}

const updating = { state: U.STATE_UPDATING, startedMs: 1000 };
const three = [old('t1', 1), old('t2', 2), old('t3', 3)];
const startFirstContinue = { order: ORDER_START_FIRST, failureAction: FAILURE_ACTION_CONTINUE };

const cases: Case[] = [
  {
    name: 'planUpdate: does nothing when every task runs the current spec and no update is on',
    service: { replicas: 2 },
    tasks: [fresh('n1', 1), fresh('n2', 2)],
    nowMs: 5000,
    want: [],
  },
  {
    name: 'planUpdate: starts the update with one slot stop-first when parallelism is 1',
    service: { replicas: 3 },
    tasks: three,
    nowMs: 1000,
    want: ['t1 SHUTDOWN (updating)', 'create 1 READY'],
    wantStatus: 'STATE_UPDATING: update in progress',
  },
  {
    name: 'planUpdate: replaces two slots at once when parallelism is 2',
    service: { replicas: 3, update: { parallelism: 2 } },
    tasks: three,
    nowMs: 1000,
    want: ['t1 SHUTDOWN (updating)', 'create 1 READY', 't2 SHUTDOWN (updating)', 'create 2 READY'],
    wantStatus: 'STATE_UPDATING: update in progress',
  },
  {
    name: 'planUpdate: replaces every slot when parallelism is 0',
    service: { replicas: 3, update: { parallelism: 0 } },
    tasks: three,
    nowMs: 1000,
    want: [
      't1 SHUTDOWN (updating)',
      'create 1 READY',
      't2 SHUTDOWN (updating)',
      'create 2 READY',
      't3 SHUTDOWN (updating)',
      'create 3 READY',
    ],
    wantStatus: 'STATE_UPDATING: update in progress',
  },
  {
    name: 'planUpdate: starts the new task before stopping the old when the order is start-first',
    service: { replicas: 3, update: { order: ORDER_START_FIRST } },
    tasks: three,
    nowMs: 1000,
    want: ['create 1 RUNNING'],
    wantStatus: 'STATE_UPDATING: update in progress',
  },
  {
    name: 'planUpdate: waits for the new task when start-first and it is not running yet',
    service: { replicas: 3, update: { order: ORDER_START_FIRST } },
    status: updating,
    tasks: [...three, fresh('n1', 1, { state: S.TASK_STATE_STARTING, createdMs: 1000 })],
    nowMs: 2000,
    want: [],
  },
  {
    name: 'planUpdate: stops the old task and moves on when start-first and the new task runs',
    service: { replicas: 3, update: { order: ORDER_START_FIRST } },
    status: updating,
    tasks: [...three, fresh('n1', 1, { createdMs: 1000, statusMs: 1500 })],
    nowMs: 2000,
    want: ['t1 SHUTDOWN (updated)', 'create 2 RUNNING'],
  },
  {
    name: 'planUpdate: waits while a stop-first slot is in flight when parallelism is used up',
    service: { replicas: 3 },
    status: updating,
    tasks: [
      old('t1', 1, stopped),
      fresh('n1', 1, { state: S.TASK_STATE_READY, desired: S.TASK_STATE_READY, createdMs: 1000 }),
      old('t2', 2),
      old('t3', 3),
    ],
    nowMs: 2000,
    want: [],
  },
  {
    name: 'planUpdate: moves to the next slot when the last new task runs and there is no delay',
    service: { replicas: 3 },
    status: updating,
    tasks: [
      old('t1', 1, stopped),
      fresh('n1', 1, { createdMs: 1000, statusMs: 1500 }),
      old('t2', 2),
      old('t3', 3),
    ],
    nowMs: 2000,
    want: ['t2 SHUTDOWN (updating)', 'create 2 READY'],
  },
  {
    name: 'planUpdate: waits for the update delay when the last slot finished recently',
    service: { replicas: 3, update: { delayMs: 30_000 } },
    status: updating,
    tasks: [
      old('t1', 1, stopped),
      fresh('n1', 1, { createdMs: 1000, statusMs: 10_000 }),
      old('t2', 2),
      old('t3', 3),
    ],
    nowMs: 20_000,
    want: [],
    wakeAtMs: 40_000,
  },
  {
    name: 'planUpdate: starts the next slot when the update delay has passed',
    service: { replicas: 3, update: { delayMs: 30_000 } },
    status: updating,
    tasks: [
      old('t1', 1, stopped),
      fresh('n1', 1, { createdMs: 1000, statusMs: 10_000 }),
      old('t2', 2),
      old('t3', 3),
    ],
    nowMs: 40_000,
    want: ['t2 SHUTDOWN (updating)', 'create 2 READY'],
  },
  {
    name: 'planUpdate: keeps monitoring when every slot is updated but a new task runs for less than monitor',
    service: { replicas: 2, update: { monitorMs: 5000 } },
    status: updating,
    tasks: [
      fresh('n1', 1, { createdMs: 1000, statusMs: 8000 }),
      fresh('n2', 2, { createdMs: 1000, statusMs: 10_000 }),
    ],
    nowMs: 12_000,
    want: [],
    wakeAtMs: 13_000,
  },
  {
    name: 'planUpdate: completes the update when every new task has run for the monitor period',
    service: { replicas: 2, update: { monitorMs: 5000 } },
    status: updating,
    tasks: [
      fresh('n1', 1, { createdMs: 1000, statusMs: 8000 }),
      fresh('n2', 2, { createdMs: 1000, statusMs: 10_000 }),
    ],
    nowMs: 15_000,
    want: [],
    wantStatus: 'STATE_COMPLETED: update completed',
  },
  {
    name: 'planUpdate: pauses when a new task fails within the monitor period',
    service: { replicas: 3 },
    status: updating,
    tasks: [
      old('t1', 1, stopped),
      fresh('n1', 1, { state: S.TASK_STATE_FAILED, createdMs: 1000, statusMs: 3000 }),
      old('t2', 2),
      old('t3', 3),
    ],
    nowMs: 4000,
    want: [],
    wantStatus: 'STATE_PAUSED: update paused due to failure or early termination of task n1',
  },
  {
    name: 'planUpdate: still stops a start-first old task but starts nothing when it pauses',
    service: { replicas: 3, update: { order: ORDER_START_FIRST, parallelism: 2 } },
    status: updating,
    tasks: [
      old('t1', 1),
      fresh('n1', 1, { createdMs: 1000, statusMs: 1500 }),
      old('t2', 2),
      fresh('n2', 2, { state: S.TASK_STATE_FAILED, createdMs: 1000, statusMs: 1600 }),
      old('t3', 3),
    ],
    nowMs: 2000,
    want: ['t1 SHUTDOWN (updated)'],
    wantStatus: 'STATE_PAUSED: update paused due to failure or early termination of task n2',
  },
  {
    name: 'planUpdate: moves to the next slot when the last new task failed and the failure action is continue',
    service: { replicas: 3, update: { failureAction: FAILURE_ACTION_CONTINUE } },
    status: updating,
    tasks: [
      old('t1', 1, stopped),
      fresh('n1', 1, { ...replaced, createdMs: 1000, statusMs: 2000 }),
      // The restart, held for its restart delay: it fails again like the first.
      fresh('n1b', 1, {
        state: S.TASK_STATE_NEW,
        desired: S.TASK_STATE_READY,
        createdMs: 2000,
        statusMs: 2000,
      }),
      old('t2', 2),
      old('t3', 3),
    ],
    nowMs: 2500,
    want: ['t2 SHUTDOWN (updating)', 'create 2 READY'],
  },
  {
    name: 'planUpdate: completes when every slot got a new task although they all failed and the failure action is continue',
    service: { replicas: 2, update: { failureAction: FAILURE_ACTION_CONTINUE } },
    status: updating,
    tasks: [
      old('t1', 1, stopped),
      fresh('n1', 1, { ...replaced, createdMs: 1000, statusMs: 2000 }),
      fresh('n1b', 1, { state: S.TASK_STATE_PREPARING, createdMs: 2000, statusMs: 2100 }),
      old('t2', 2, stopped),
      fresh('n2', 2, { state: S.TASK_STATE_FAILED, createdMs: 2000, statusMs: 3000 }),
    ],
    nowMs: 3500,
    want: [],
    wantStatus: 'STATE_COMPLETED: update completed',
  },
  // Start-first slots whose new task failed: the updater moves on and the old task stays;
  // retrying the slot is the orchestrator's restart, with its delay.
  {
    name: 'planUpdate: moves to the next slot and keeps the old task when a start-first new task failed and the failure action is continue',
    service: { replicas: 2, update: startFirstContinue },
    status: updating,
    tasks: [old('t1', 1), fresh('n1', 1, { ...replaced, createdMs: 1000 }), old('t2', 2)],
    nowMs: 2000,
    want: ['create 2 RUNNING'],
  },
  {
    name: 'planUpdate: does not wait on a start-first slot whose new task failed while its restart is held',
    service: { replicas: 3, update: startFirstContinue },
    status: updating,
    tasks: [
      old('t1', 1),
      fresh('n1', 1, { ...replaced, createdMs: 1000, statusMs: 2000 }),
      fresh('n1b', 1, { state: S.TASK_STATE_NEW, desired: S.TASK_STATE_READY, createdMs: 2000 }),
      old('t2', 2),
      old('t3', 3),
    ],
    nowMs: 2500,
    want: ['create 2 RUNNING'],
  },
  {
    name: 'planUpdate: completes with the old tasks running when every start-first new task failed and the failure action is continue',
    service: { replicas: 2, update: startFirstContinue },
    status: updating,
    tasks: [
      old('t1', 1),
      fresh('n1', 1, { ...replaced, createdMs: 1000, statusMs: 2000 }),
      old('t2', 2),
      fresh('n2', 2, { ...replaced, createdMs: 2000, statusMs: 3000 }),
    ],
    nowMs: 3500,
    want: [],
    wantStatus: 'STATE_COMPLETED: update completed',
  },
  {
    name: 'planUpdate: starts no new update for a start-first slot whose new task failed in the completed one',
    service: { replicas: 2, update: { order: ORDER_START_FIRST } },
    status: { state: U.STATE_COMPLETED, startedMs: 1000 },
    tasks: [
      old('t1', 1),
      fresh('n1', 1, { ...replaced, createdMs: 1000, statusMs: 2000 }),
      old('t2', 2, stopped),
      fresh('n2', 2, { createdMs: 2000, statusMs: 2500 }),
    ],
    nowMs: 9000,
    want: [],
  },
  {
    name: 'planUpdate: starts no new update for a start-first slot while the restart of its failed new task is held',
    service: { replicas: 1, update: { order: ORDER_START_FIRST } },
    status: { state: U.STATE_COMPLETED, startedMs: 1000 },
    tasks: [
      old('t1', 1),
      fresh('n1', 1, { ...replaced, createdMs: 1000, statusMs: 2000 }),
      fresh('n1b', 1, { state: S.TASK_STATE_READY, desired: S.TASK_STATE_READY, createdMs: 2000 }),
    ],
    nowMs: 3000,
    want: [],
  },
  {
    name: 'planUpdate: moves to the next slot and keeps the old task when a start-first new task failed within the max failure ratio',
    service: { replicas: 3, update: { order: ORDER_START_FIRST, maxFailureRatio: 0.4 } },
    status: updating,
    tasks: [
      old('t1', 1),
      fresh('n1', 1, { ...replaced, createdMs: 1000, statusMs: 2000 }),
      old('t2', 2),
      old('t3', 3),
    ],
    nowMs: 2500,
    want: ['create 2 RUNNING'],
  },
  {
    name: 'planUpdate: does not wait for a slot that a scale-down emptied during the update',
    service: { replicas: 1 },
    status: updating,
    tasks: [
      old('t1', 1),
      old('t2', 2, stopped),
      fresh('n2', 2, {
        state: S.TASK_STATE_PENDING,
        desired: S.TASK_STATE_SHUTDOWN,
        createdMs: 1000,
        statusMs: 1000,
      }),
    ],
    nowMs: 2000,
    want: ['t1 SHUTDOWN (updating)', 'create 1 READY'],
  },
  {
    name: 'planUpdate: does not count a new task that failed after the monitor period',
    service: { replicas: 3 },
    status: updating,
    tasks: [
      old('t1', 1, stopped),
      fresh('n1', 1, { ...replaced, createdMs: 1000, statusMs: 60_000 }),
      fresh('n1b', 1, { createdMs: 60_000, statusMs: 61_000 }),
      old('t2', 2),
      old('t3', 3),
    ],
    nowMs: 62_000,
    want: ['t2 SHUTDOWN (updating)', 'create 2 READY'],
  },
  {
    name: 'planUpdate: counts a restarted new task from the end of its restart delay',
    service: { replicas: 3, restart: { delayMs: 5000 } },
    status: updating,
    tasks: [
      old('t1', 1, stopped),
      fresh('n1', 1, { ...replaced, createdMs: 1000, statusMs: 60_000 }),
      fresh('n1b', 1, { state: S.TASK_STATE_FAILED, createdMs: 60_000, statusMs: 66_000 }),
      old('t2', 2),
      old('t3', 3),
    ],
    nowMs: 66_500,
    want: [],
    wantStatus: 'STATE_PAUSED: update paused due to failure or early termination of task n1b',
  },
  {
    name: 'planUpdate: counts a rejected new task whenever it was rejected',
    service: { replicas: 3 },
    status: updating,
    tasks: [
      old('t1', 1, stopped),
      fresh('n1', 1, { state: S.TASK_STATE_REJECTED, createdMs: 1000, statusMs: 60_000 }),
      old('t2', 2),
      old('t3', 3),
    ],
    nowMs: 62_000,
    want: [],
    wantStatus: 'STATE_PAUSED: update paused due to failure or early termination of task n1',
  },
  {
    name: 'planUpdate: goes on when a new task fails and the failure action is continue',
    service: { replicas: 3, update: { failureAction: FAILURE_ACTION_CONTINUE } },
    status: updating,
    tasks: [
      old('t1', 1, stopped),
      fresh('n1', 1, { ...replaced, createdMs: 1000, statusMs: 2000 }),
      fresh('n1b', 1, { createdMs: 2000, statusMs: 2500 }),
      old('t2', 2),
      old('t3', 3),
    ],
    nowMs: 3000,
    want: ['t2 SHUTDOWN (updating)', 'create 2 READY'],
  },
  {
    name: 'planUpdate: goes on when failures stay within the max failure ratio',
    service: { replicas: 4, update: { maxFailureRatio: 0.25 } },
    status: updating,
    tasks: [
      old('t1', 1, stopped),
      fresh('n1', 1, { ...replaced, createdMs: 1000, statusMs: 2000 }),
      fresh('n1b', 1, { createdMs: 2000, statusMs: 2500 }),
      old('t2', 2),
      old('t3', 3),
      old('t4', 4),
    ],
    nowMs: 3000,
    want: ['t2 SHUTDOWN (updating)', 'create 2 READY'],
  },
  {
    name: 'planUpdate: pauses when failures go above the max failure ratio',
    service: { replicas: 4, update: { maxFailureRatio: 0.25, parallelism: 2 } },
    status: updating,
    tasks: [
      old('t1', 1, stopped),
      fresh('n1', 1, { state: S.TASK_STATE_FAILED, createdMs: 1000, statusMs: 2000 }),
      old('t2', 2, stopped),
      fresh('n2', 2, { state: S.TASK_STATE_FAILED, createdMs: 1100, statusMs: 2000 }),
      old('t3', 3),
      old('t4', 4),
    ],
    nowMs: 3000,
    want: [],
    wantStatus: 'STATE_PAUSED: update paused due to failure or early termination of task n1',
  },
  {
    name: 'planUpdate: rolls back to the previous spec when the failure action is rollback',
    service: {
      replicas: 2,
      previousImage: 'app:v1',
      image: 'app:v2',
      update: { failureAction: FAILURE_ACTION_ROLLBACK },
    },
    status: updating,
    tasks: [
      old('t1', 1, stopped),
      fresh('n1', 1, { state: S.TASK_STATE_FAILED, createdMs: 1000, statusMs: 2000 }),
      old('t2', 2),
    ],
    nowMs: 3000,
    want: [],
    wantStatus:
      'STATE_ROLLBACK_STARTED: update rolled back due to failure or early termination of task n1',
    wantImage: 'app:v1',
  },
  {
    name: 'planUpdate: pauses instead when rollback is asked but there is no previous spec',
    service: { replicas: 2, previousImage: '', update: { failureAction: FAILURE_ACTION_ROLLBACK } },
    status: updating,
    tasks: [
      old('t1', 1, stopped),
      fresh('n1', 1, { state: S.TASK_STATE_FAILED, createdMs: 1000, statusMs: 2000 }),
      old('t2', 2),
    ],
    nowMs: 3000,
    want: [],
    wantStatus:
      'STATE_PAUSED: update paused due to failure or early termination of task n1: no previous spec to roll back to',
  },
  {
    name: 'planUpdate: does nothing while the update is paused',
    service: { replicas: 3 },
    status: { state: U.STATE_PAUSED, startedMs: 1000 },
    tasks: three,
    nowMs: 9000,
    want: [],
  },
  {
    name: 'planUpdate: rolls tasks back with the rollback config when a rollback has started',
    // After rollbackService: the spec is v1 again and tasks on v2 are the stale ones.
    service: {
      replicas: 3,
      image: 'app:v1',
      previousImage: 'app:v2',
      rollback: { parallelism: 2 },
    },
    status: { state: U.STATE_ROLLBACK_STARTED, startedMs: 5000 },
    tasks: [old('n1', 1, { image: 'v2' }), old('n2', 2, { image: 'v2' }), old('t3', 3)],
    nowMs: 5000,
    want: ['n1 SHUTDOWN (updating)', 'create 1 READY', 'n2 SHUTDOWN (updating)', 'create 2 READY'],
  },
  {
    name: 'planUpdate: pauses the rollback when a rolled-back task fails',
    service: { replicas: 2, image: 'app:v1', previousImage: 'app:v2' },
    status: { state: U.STATE_ROLLBACK_STARTED, startedMs: 5000 },
    tasks: [
      old('n1', 1, { image: 'v2', ...stopped }),
      old('r1', 1, { state: S.TASK_STATE_FAILED, createdMs: 5000, statusMs: 6000 }),
    ],
    nowMs: 7000,
    want: [],
    wantStatus:
      'STATE_ROLLBACK_PAUSED: rollback paused due to failure or early termination of task r1',
  },
  {
    name: 'planUpdate: completes the rollback when every rolled-back task has run for monitor',
    service: { replicas: 1, image: 'app:v1', previousImage: 'app:v2' },
    status: { state: U.STATE_ROLLBACK_STARTED, startedMs: 5000 },
    tasks: [
      old('n1', 1, { image: 'v2', ...stopped }),
      old('r1', 1, { createdMs: 5000, statusMs: 6000 }),
    ],
    nowMs: 11_000,
    want: [],
    wantStatus: 'STATE_ROLLBACK_COMPLETED: rollback completed',
  },
  {
    name: 'planUpdate: replaces global tasks node by node when the service is global',
    service: { global: true },
    tasks: [old('ga', 0, { nodeId: 'a' }), old('gb', 0, { nodeId: 'b' })],
    nowMs: 1000,
    want: ['ga SHUTDOWN (updating)', 'create @a READY'],
    wantStatus: 'STATE_UPDATING: update in progress',
  },
  {
    name: 'planUpdate: leaves a slot on a drained node to the orchestrator when nodes are given',
    service: { global: true },
    tasks: [old('ga', 0, { nodeId: 'a' }), old('gb', 0, { nodeId: 'b' })],
    nodes: [{ id: 'a', availability: pb.NodeAvailability.NODE_AVAILABILITY_DRAIN }, { id: 'b' }],
    nowMs: 1000,
    want: ['gb SHUTDOWN (updating)', 'create @b READY'],
    wantStatus: 'STATE_UPDATING: update in progress',
  },
  {
    name: 'planUpdate: skips a global slot on a paused node and completes without it',
    service: { global: true },
    status: updating,
    tasks: [
      old('ga', 0, { nodeId: 'a' }),
      fresh('nb', 0, { nodeId: 'b', createdMs: 1000, statusMs: 1000 }),
    ],
    nodes: [{ id: 'a', availability: pb.NodeAvailability.NODE_AVAILABILITY_PAUSE }, { id: 'b' }],
    nowMs: 10_000,
    want: [],
    wantStatus: 'STATE_COMPLETED: update completed',
  },
  {
    name: 'planUpdate: updates a global slot left behind when its node is active again',
    service: { global: true },
    status: { state: U.STATE_COMPLETED, startedMs: 1000 },
    tasks: [
      old('ga', 0, { nodeId: 'a' }),
      fresh('nb', 0, { nodeId: 'b', createdMs: 1000, statusMs: 1000 }),
    ],
    nodes: [{ id: 'a' }, { id: 'b' }],
    nowMs: 20_000,
    want: ['ga SHUTDOWN (updating)', 'create @a READY'],
    wantStatus: 'STATE_UPDATING: update in progress',
  },
  // Outside an update, tasks the orchestrator created in the same pass (at `now`, not
  // running yet) are no update's slots: they must not start one.
  ...[
    {
      what: 'a new service',
      service: { replicas: 2 },
      tasks: [
        fresh('n1', 1, { state: S.TASK_STATE_NEW, createdMs: 1000, statusMs: 1000 }),
        fresh('n2', 2, { state: S.TASK_STATE_NEW, createdMs: 1000, statusMs: 1000 }),
      ],
    },
    {
      what: 'a service scaled up',
      service: { replicas: 3 },
      tasks: [
        fresh('n1', 1, { createdMs: 100, statusMs: 200 }),
        fresh('n2', 2, { createdMs: 100, statusMs: 200 }),
        fresh('n3', 3, { state: S.TASK_STATE_NEW, createdMs: 1000, statusMs: 1000 }),
      ],
    },
    {
      what: 'a global service on a new node while a paused node keeps its old task',
      service: { global: true },
      status: { state: U.STATE_COMPLETED, startedMs: 100 },
      tasks: [
        old('ga', 0, { nodeId: 'a' }),
        fresh('nb', 0, { nodeId: 'b', createdMs: 100, statusMs: 200 }),
        fresh('nc', 0, { nodeId: 'c', state: S.TASK_STATE_NEW, createdMs: 1000, statusMs: 1000 }),
      ],
      nodes: [
        { id: 'a', availability: pb.NodeAvailability.NODE_AVAILABILITY_PAUSE },
        { id: 'b' },
        { id: 'c' },
      ],
    },
  ].map(
    ({ what, ...c }): Case => ({
      name: `planUpdate: starts no update when the orchestrator just created the tasks of ${what}`,
      ...c,
      nowMs: 1000,
      want: [],
    }),
  ),
];

describe('planUpdate', () => {
  for (const c of cases) {
    it(c.name, () => {
      const service = testService({
        previousImage: 'app:v1',
        image: 'app:v2',
        ...c.service,
        updateStatus: c.status && {
          state: c.status.state,
          startedAt: new Date(c.status.startedMs),
          message: '',
        },
      });
      const specOf = (image: 'v1' | 'v2') =>
        service.spec?.task?.container?.image === `app:${image}`
          ? service.spec.task
          : service.previousSpec?.task;
      const tasks = c.tasks.map(({ image, ...t }) => testTask({ ...t, spec: specOf(image) }));
      const plan = planUpdate(
        { service, tasks, now: new Date(c.nowMs), nodes: c.nodes?.map(testNode) },
        { newTaskId: sequentialIds() },
      );
      expect(describeActions(plan.actions)).toEqual(c.want);
      const status = plan.service?.updateStatus;
      expect(status && `${pb.UpdateStatus_State[status.state]}: ${status.message}`).toBe(
        c.wantStatus,
      );
      if (c.wantImage) expect(plan.service?.spec?.task?.container?.image).toBe(c.wantImage);
      expect(plan.wakeAt?.getTime()).toBe(c.wakeAtMs);
    });
  }

  it('rollbackService: swaps the specs and starts a rollback when asked by the user', () => {
    const service = testService({ image: 'app:v2', previousImage: 'app:v1' });
    const got = rollbackService(service, new Date(7));
    expect(got.spec).toEqual(service.previousSpec);
    expect(got.previousSpec).toEqual(service.spec);
    expect(got.updateStatus).toEqual({
      state: U.STATE_ROLLBACK_STARTED,
      startedAt: new Date(7),
      message: 'manually requested rollback',
    });
  });

  it('planUpdate: records start and completion times when the update completes', () => {
    const service = testService({
      image: 'app:v2',
      updateStatus: { state: U.STATE_UPDATING, startedAt: new Date(1), message: '' },
    });
    const tasks = [
      testTask({ id: 'n1', slot: 1, spec: service.spec?.task, createdMs: 1, statusMs: 2 }),
    ];
    const plan = planUpdate(
      { service, tasks, now: new Date(10_000) },
      { newTaskId: sequentialIds() },
    );
    expect(plan.service?.updateStatus).toEqual({
      state: U.STATE_COMPLETED,
      startedAt: new Date(1),
      completedAt: new Date(10_000),
      message: 'update completed',
    });
  });
});
