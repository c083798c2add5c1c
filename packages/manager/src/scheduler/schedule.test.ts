import { pb } from '@shoal/api';
import { SeededRng } from '@shoal/raft';
import { describe, expect, it } from 'vitest';
import { type ScheduleResult, schedule } from './schedule.js';
import { type TestNode, testNode, testTask } from './testing.js';

const { TASK_STATE_PENDING: PENDING, TASK_STATE_RUNNING: RUNNING } = pb.TaskState;

function spec(p: {
  constraints?: string[];
  prefs?: string[];
  maxReplicas?: number;
  cpu?: number;
  memory?: number;
}): pb.TaskSpec {
  return {
    networks: [],
    forceUpdate: 0,
    placement: {
      constraints: p.constraints ?? [],
      preferences: (p.prefs ?? []).map((spreadDescriptor) => ({ spreadDescriptor })),
      maxReplicas: p.maxReplicas ?? 0,
    },
    resources: { reservations: { nanoCpus: p.cpu ?? 0, memoryBytes: p.memory ?? 0 } },
  };
}

function pending(ids: string[], s: pb.TaskSpec = spec({}), serviceId = 'svc'): pb.Task[] {
  return ids.map((id, i) => testTask({ id, serviceId, slot: i + 1, state: PENDING, spec: s }));
}

function running(nodeId: string, count: number, serviceId = 'svc', s?: pb.TaskSpec): pb.Task[] {
  return Array.from({ length: count }, (_, i) =>
    testTask({ id: `${nodeId}-${serviceId}-${i}`, serviceId, nodeId, state: RUNNING, spec: s }),
  );
}

const now = new Date(1_000_000);

function hostPortTask(id: string, nodeId: string): pb.Task {
  return {
    ...testTask({ id, nodeId, state: PENDING, spec: spec({ maxReplicas: 1 }) }),
    endpoint: {
      ports: [
        {
          name: '',
          protocol: 0,
          targetPort: 80,
          publishedPort: 8080,
          publishMode: pb.PortConfig_PublishMode.PUBLISH_MODE_HOST,
        },
      ],
      virtualIps: [],
    },
  };
}
const nodes = (...n: TestNode[]) => n.map(testNode);

describe('schedule', () => {
  const cases: {
    name: string;
    input: { tasks: pb.Task[]; nodes: pb.Node[]; allTasks?: pb.Task[] };
    want: ScheduleResult;
  }[] = [
    {
      name: 'schedule: spreads a batch one per node when nodes are empty',
      input: {
        tasks: pending(['t1', 't2', 't3']),
        nodes: nodes({ id: 'c' }, { id: 'a' }, { id: 'b' }),
      },
      want: {
        assignments: [
          { taskId: 't1', nodeId: 'a' },
          { taskId: 't2', nodeId: 'b' },
          { taskId: 't3', nodeId: 'c' },
        ],
        unschedulable: [],
      },
    },
    {
      name: 'schedule: prefers the node with fewest tasks of the service when loads differ',
      input: {
        tasks: pending(['t1', 't2']),
        nodes: nodes({ id: 'a' }, { id: 'b' }),
        allTasks: [...running('a', 2), ...running('b', 1)],
      },
      want: {
        assignments: [
          { taskId: 't1', nodeId: 'b' },
          { taskId: 't2', nodeId: 'a' },
        ],
        unschedulable: [],
      },
    },
    {
      name: 'schedule: breaks a tie on service tasks by fewest tasks overall when other services run',
      input: {
        tasks: pending(['t1']),
        nodes: nodes({ id: 'a' }, { id: 'b' }),
        allTasks: running('a', 3, 'other'),
      },
      want: { assignments: [{ taskId: 't1', nodeId: 'b' }], unschedulable: [] },
    },
    {
      name: 'schedule: ignores ended tasks when counting load',
      input: {
        tasks: pending(['t1']),
        nodes: nodes({ id: 'a' }, { id: 'b' }),
        allTasks: [
          testTask({ id: 'old', nodeId: 'a', state: pb.TaskState.TASK_STATE_FAILED }),
          ...running('b', 1),
        ],
      },
      want: { assignments: [{ taskId: 't1', nodeId: 'a' }], unschedulable: [] },
    },
    {
      name: 'schedule: ranks a node last when the service failed there 5 times in 5 minutes',
      input: {
        tasks: pending(['t1']),
        nodes: nodes({ id: 'a' }, { id: 'b' }),
        allTasks: [
          ...[1, 2, 3, 4, 5].map((n) =>
            testTask({
              id: `f${n}`,
              nodeId: 'a',
              state: pb.TaskState.TASK_STATE_FAILED,
              statusMs: 1_000_000 - n,
            }),
          ),
          ...running('b', 2),
        ],
      },
      want: { assignments: [{ taskId: 't1', nodeId: 'b' }], unschedulable: [] },
    },
    {
      name: 'schedule: forgets failures older than 5 minutes when ranking',
      input: {
        tasks: pending(['t1']),
        nodes: nodes({ id: 'a' }, { id: 'b' }),
        allTasks: [
          ...[1, 2, 3, 4, 5].map((n) =>
            testTask({
              id: `f${n}`,
              nodeId: 'a',
              state: pb.TaskState.TASK_STATE_FAILED,
              statusMs: 1_000_000 - 300_001,
            }),
          ),
          ...running('b', 2),
        ],
      },
      want: { assignments: [{ taskId: 't1', nodeId: 'a' }], unschedulable: [] },
    },
    {
      name: 'schedule: skips nodes that are down, paused or drained when placing',
      input: {
        tasks: pending(['t1']),
        nodes: nodes(
          { id: 'a', state: pb.NodeStatus_State.STATE_DOWN },
          { id: 'b', availability: pb.NodeAvailability.NODE_AVAILABILITY_PAUSE },
          { id: 'c', availability: pb.NodeAvailability.NODE_AVAILABILITY_DRAIN },
          { id: 'd' },
        ),
      },
      want: { assignments: [{ taskId: 't1', nodeId: 'd' }], unschedulable: [] },
    },
    {
      name: 'schedule: explains every filter when no node fits',
      input: {
        tasks: pending(['t1'], spec({ constraints: ['node.labels.zone==east'], memory: 100 })),
        nodes: nodes(
          { id: 'a', labels: { zone: 'west' } },
          { id: 'b', labels: { zone: 'west' } },
          { id: 'c' },
          { id: 'd', labels: { zone: 'east' }, memoryBytes: 50 },
          { id: 'e', state: pb.NodeStatus_State.STATE_UNKNOWN },
        ),
      },
      want: {
        assignments: [],
        unschedulable: [
          {
            taskId: 't1',
            reason:
              'no suitable node (1 node not available for new tasks; insufficient resources on 1 node; scheduling constraints not satisfied on 3 nodes)',
          },
        ],
      },
    },
    {
      name: 'schedule: says no suitable node when there are no nodes',
      input: { tasks: pending(['t1']), nodes: [] },
      want: { assignments: [], unschedulable: [{ taskId: 't1', reason: 'no suitable node' }] },
    },
    {
      name: 'schedule: matches role, hostname, id and engine labels when constrained',
      input: {
        tasks: pending(
          ['t1'],
          spec({
            constraints: [
              'node.role==manager',
              'node.hostname!=m1',
              'node.id!=x',
              'engine.labels.disk==SSD',
            ],
          }),
        ),
        nodes: nodes(
          { id: 'a', role: 'manager', hostname: 'm1', engineLabels: { disk: 'ssd' } },
          { id: 'b', role: 'manager', hostname: 'm2', engineLabels: { disk: 'ssd' } },
          { id: 'c', role: 'worker', engineLabels: { disk: 'ssd' } },
          { id: 'x', role: 'manager', engineLabels: { disk: 'ssd' } },
        ),
      },
      want: { assignments: [{ taskId: 't1', nodeId: 'b' }], unschedulable: [] },
    },
    {
      name: 'schedule: lets != match a node without the label when constrained',
      input: {
        tasks: pending(['t1'], spec({ constraints: ['node.labels.gpu!=true'] })),
        nodes: nodes({ id: 'a', labels: { gpu: 'true' } }, { id: 'b' }),
      },
      want: { assignments: [{ taskId: 't1', nodeId: 'b' }], unschedulable: [] },
    },
    {
      name: 'schedule: counts reservations of placed tasks when resources run out within a batch',
      input: {
        tasks: pending(['t1', 't2', 't3'], spec({ cpu: 1e9 })),
        nodes: nodes({ id: 'a', nanoCpus: 1e9 }, { id: 'b', nanoCpus: 1e9 }),
      },
      want: {
        assignments: [
          { taskId: 't1', nodeId: 'a' },
          { taskId: 't2', nodeId: 'b' },
        ],
        unschedulable: [
          { taskId: 't3', reason: 'no suitable node (insufficient resources on 2 nodes)' },
        ],
      },
    },
    {
      name: 'schedule: subtracts reservations of running tasks when a node is partly used',
      input: {
        tasks: pending(['t1'], spec({ memory: 600 })),
        nodes: nodes({ id: 'a', memoryBytes: 1000 }, { id: 'b', memoryBytes: 1000 }),
        allTasks: running('a', 1, 'other', spec({ memory: 500 })),
      },
      want: { assignments: [{ taskId: 't1', nodeId: 'b' }], unschedulable: [] },
    },
    {
      name: 'schedule: stops at max replicas per node when the limit is reached',
      input: {
        tasks: pending(['t1', 't2', 't3'], spec({ maxReplicas: 1 })),
        nodes: nodes({ id: 'a' }, { id: 'b' }),
      },
      want: {
        assignments: [
          { taskId: 't1', nodeId: 'a' },
          { taskId: 't2', nodeId: 'b' },
        ],
        unschedulable: [
          {
            taskId: 't3',
            reason: 'no suitable node (max replicas per node limit exceeded on 2 nodes)',
          },
        ],
      },
    },
    {
      name: 'schedule: spreads over label values before node counts when a preference is set',
      input: {
        tasks: pending(['t1', 't2', 't3', 't4'], spec({ prefs: ['node.labels.zone'] })),
        nodes: nodes(
          { id: 'a', labels: { zone: 'east' } },
          { id: 'b', labels: { zone: 'east' } },
          { id: 'c', labels: { zone: 'east' } },
          { id: 'd', labels: { zone: 'west' } },
        ),
      },
      want: {
        assignments: [
          { taskId: 't1', nodeId: 'a' },
          { taskId: 't2', nodeId: 'd' },
          { taskId: 't3', nodeId: 'b' },
          { taskId: 't4', nodeId: 'd' },
        ],
        unschedulable: [],
      },
    },
    {
      name: 'schedule: treats nodes missing the label as one group when spreading, then evens nodes',
      input: {
        tasks: pending(['t1', 't2', 't3'], spec({ prefs: ['node.labels.zone'] })),
        nodes: nodes({ id: 'a', labels: { zone: 'east' } }, { id: 'b' }, { id: 'c' }),
      },
      want: {
        assignments: [
          { taskId: 't1', nodeId: 'a' },
          { taskId: 't2', nodeId: 'b' },
          { taskId: 't3', nodeId: 'c' },
        ],
        unschedulable: [],
      },
    },
    {
      name: 'schedule: spreads over nested preferences in order when two are set',
      input: {
        tasks: pending(
          ['t1', 't2', 't3', 't4'],
          spec({ prefs: ['node.labels.dc', 'node.labels.rack'] }),
        ),
        nodes: nodes(
          { id: 'a', labels: { dc: 'one', rack: 'r1' } },
          { id: 'b', labels: { dc: 'one', rack: 'r1' } },
          { id: 'c', labels: { dc: 'one', rack: 'r2' } },
          { id: 'd', labels: { dc: 'two', rack: 'r1' } },
        ),
      },
      want: {
        assignments: [
          { taskId: 't1', nodeId: 'a' },
          { taskId: 't2', nodeId: 'd' },
          { taskId: 't3', nodeId: 'c' },
          { taskId: 't4', nodeId: 'd' },
        ],
        unschedulable: [],
      },
    },
    {
      name: 'schedule: checks a global task only against its own node when the node is preset',
      input: {
        tasks: [
          testTask({ id: 'g1', nodeId: 'b', state: PENDING }),
          testTask({ id: 'g2', nodeId: 'c', state: PENDING }),
        ],
        nodes: nodes(
          { id: 'a' },
          { id: 'b' },
          { id: 'c', availability: pb.NodeAvailability.NODE_AVAILABILITY_DRAIN },
        ),
      },
      want: {
        assignments: [{ taskId: 'g1', nodeId: 'b' }],
        unschedulable: [
          { taskId: 'g2', reason: 'no suitable node (1 node not available for new tasks)' },
        ],
      },
    },
    {
      name: 'schedule: does not count a task against itself when it is also in allTasks',
      input: {
        tasks: [hostPortTask('g1', 'a')],
        nodes: nodes({ id: 'a' }),
        allTasks: [hostPortTask('g1', 'a')],
      },
      want: { assignments: [{ taskId: 'g1', nodeId: 'a' }], unschedulable: [] },
    },
    {
      name: 'schedule: keeps one task per node on a host-mode port when the port is taken',
      input: {
        tasks: pending(['t1', 't2']).map((t) => ({
          ...t,
          endpoint: {
            ports: [
              {
                name: '',
                protocol: 0,
                targetPort: 80,
                publishedPort: 8080,
                publishMode: pb.PortConfig_PublishMode.PUBLISH_MODE_HOST,
              },
            ],
            virtualIps: [],
          },
        })),
        nodes: nodes({ id: 'a' }),
      },
      want: {
        assignments: [{ taskId: 't1', nodeId: 'a' }],
        unschedulable: [
          { taskId: 't2', reason: 'no suitable node (host-mode port already in use on 1 node)' },
        ],
      },
    },
    {
      name: 'schedule: skips tasks no longer wanted when their desired state is past running',
      input: {
        tasks: [testTask({ id: 't1', state: PENDING, desired: pb.TaskState.TASK_STATE_SHUTDOWN })],
        nodes: nodes({ id: 'a' }),
      },
      want: { assignments: [], unschedulable: [] },
    },
    {
      name: 'schedule: refuses a task whose constraint cannot be parsed',
      input: {
        tasks: pending(['t1'], spec({ constraints: ['zone=east'] })),
        nodes: nodes({ id: 'a' }),
      },
      want: {
        assignments: [],
        unschedulable: [
          {
            taskId: 't1',
            reason:
              'Parse constraint: invalid --constraint "zone=east": expected one operator from ==, !=',
          },
        ],
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(schedule({ ...c.input, allTasks: c.input.allTasks ?? [], now })).toEqual(c.want);
    });
  }

  it('schedule: gives the same placements when the node list comes in another order', () => {
    const input = { tasks: pending(['t1', 't2', 't3']), allTasks: [], now };
    const list = nodes({ id: 'a' }, { id: 'b' }, { id: 'c' });
    expect(schedule({ ...input, nodes: list })).toEqual(
      schedule({ ...input, nodes: [...list].reverse() }),
    );
  });

  // Batches of interchangeable tasks take a faster path (a heap of nodes); its choices
  // must be the ones made placing the same tasks one call at a time, each call seeing
  // the placements before it.
  it('schedule: places a batch as single calls would, over 300 random clusters', () => {
    const ASSIGNED = pb.TaskState.TASK_STATE_ASSIGNED;
    for (let seed = 1; seed <= 300; seed += 1) {
      const rng = new SeededRng(seed);
      const pick = <T>(items: readonly T[]): T => items[rng.int(items.length)]!;
      const clusterNodes = nodes(
        ...Array.from({ length: 1 + rng.int(12) }, (_, i) => ({
          id: `n${String(i).padStart(2, '0')}`,
          labels: { zone: pick(['east', 'west']) },
          nanoCpus: pick([2e9, 4e9]),
          state: rng.chance(0.1) ? pb.NodeStatus_State.STATE_DOWN : undefined,
          availability: rng.chance(0.1) ? pb.NodeAvailability.NODE_AVAILABILITY_DRAIN : undefined,
        })),
      );
      const specs = [
        spec({}),
        spec({ constraints: ['node.labels.zone==east'] }),
        spec({ maxReplicas: 2 }),
        spec({ cpu: 1e9 }),
        spec({ prefs: ['node.labels.zone'] }),
      ];
      const existing = Array.from({ length: rng.int(20) }, (_, i) =>
        testTask({
          id: `e${i}`,
          serviceId: pick(['s1', 's2']),
          nodeId: pick(clusterNodes).id,
          state: rng.chance(0.3) ? pb.TaskState.TASK_STATE_FAILED : RUNNING,
          statusMs: now.getTime() - 1000,
          spec: pick(specs),
        }),
      );
      // Runs of equal tasks, as orchestrators create them, with other tasks between.
      const batch: pb.Task[] = [];
      while (batch.length < 30) {
        const s = pick(specs);
        const serviceId = pick(['s1', 's2']);
        const run = pending(
          Array.from({ length: 1 + rng.int(10) }, (_, i) => `p${batch.length + i}`),
          s,
          serviceId,
        );
        batch.push(...run);
      }
      const whole = schedule({ tasks: batch, nodes: clusterNodes, allTasks: existing, now });
      const single: ScheduleResult = { assignments: [], unschedulable: [] };
      const placed: pb.Task[] = [];
      for (const task of batch) {
        const one = schedule({
          tasks: [task],
          nodes: clusterNodes,
          allTasks: [...existing, ...placed],
          now,
        });
        single.assignments.push(...one.assignments);
        single.unschedulable.push(...one.unschedulable);
        for (const a of one.assignments)
          placed.push({ ...task, nodeId: a.nodeId, status: { ...task.status!, state: ASSIGNED } });
      }
      expect(whole, `seed ${seed}`).toEqual(single);
    }
  });
});
