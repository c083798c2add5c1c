// The scheduler's pure core (swarmkit design/scheduler.md): filter the nodes a task may
// run on, then spread: placement preferences first, then the fewest tasks of the
// service on the node, then the fewest tasks overall, then the node ID so that equal
// inputs always give equal placements. One call places a batch, counting each
// placement before the next, so a batch of replicas spreads as if placed one by one.
import { type Constraint, parseConstraint, pb } from '@shoal/api';
import { Heap } from 'heap-js';
import { matchConstraints, nodeAttribute } from './constraint-match.js';
import { isNodeAcceptingTasks } from './node-availability.js';

/** What the scheduler looks at. */
export interface ScheduleInput {
  /** Tasks to place: PENDING, no node (global tasks carry their node, only checked). */
  readonly tasks: readonly pb.Task[];
  readonly nodes: readonly pb.Node[];
  /**
   * Tasks on nodes: those not yet ended count for load, reserved resources, max
   * replicas and host ports; recently failed ones rank their node last for their
   * service. Ended tasks may be left out, at the cost of that ranking.
   */
  readonly allTasks: readonly pb.Task[];
  /** The time recent failures are counted back from. */
  readonly now: Date;
}

/** A placement decision. */
export interface TaskAssignment {
  readonly taskId: string;
  readonly nodeId: string;
}

/** A task no node can take now, with Docker's explanation. */
export interface UnschedulableTask {
  readonly taskId: string;
  /** E.g. `no suitable node (scheduling constraints not satisfied on 3 nodes)`. */
  readonly reason: string;
}

/** What the scheduler decided. */
export interface ScheduleResult {
  readonly assignments: TaskAssignment[];
  readonly unschedulable: UnschedulableTask[];
}

/** Failures of a service on a node within RECENT_FAILURE_WINDOW_MS that rank the node last. */
export const MAX_RECENT_FAILURES = 5;
/** How far back failures count (swarmkit: 5 failures in 5 minutes). */
export const RECENT_FAILURE_WINDOW_MS = 5 * 60_000;

/** The reason given when there are no nodes at all. */
export const NO_SUITABLE_NODE = 'no suitable node';

// One filter per way a node can be unfit, in swarmkit's order; a node counts against
// the first filter it fails, and the explanation lists filters in this order.
type FilterName = 'ready' | 'resources' | 'constraints' | 'hostPorts' | 'maxReplicas';
const FILTER_ORDER: readonly FilterName[] = [
  'ready',
  'resources',
  'constraints',
  'hostPorts',
  'maxReplicas',
];
const EXPLAIN: Readonly<Record<FilterName, (nodes: string) => string>> = {
  ready: (n) => `${n} not available for new tasks`,
  resources: (n) => `insufficient resources on ${n}`,
  constraints: (n) => `scheduling constraints not satisfied on ${n}`,
  hostPorts: (n) => `host-mode port already in use on ${n}`,
  maxReplicas: (n) => `max replicas per node limit exceeded on ${n}`,
};

// What the scheduler knows about one node as it places the batch.
interface NodeLoad {
  readonly node: pb.Node;
  total: number;
  readonly byService: Map<string, number>;
  nanoCpus: number;
  memoryBytes: number;
  readonly hostPorts: Set<string>;
  /** Recent failures by service ID. */
  readonly failures: Map<string, number>;
}

/**
 * Places a batch of tasks on nodes.
 *
 * @example
 * const { assignments, unschedulable } = schedule({ tasks: pending, nodes, allTasks, now });
 */
export function schedule(input: ScheduleInput): ScheduleResult {
  const loads = new Map<string, NodeLoad>();
  for (const node of [...input.nodes].sort((a, b) => compareIds(a.id, b.id))) {
    loads.set(node.id, {
      node,
      total: 0,
      byService: new Map(),
      nanoCpus: 0,
      memoryBytes: 0,
      hostPorts: new Set(),
      failures: new Map(),
    });
  }
  const since = input.now.getTime() - RECENT_FAILURE_WINDOW_MS;
  // A task being placed may also be in allTasks (a global task has its node already);
  // counting it there too would make it collide with itself on ports and max replicas.
  const placing = new Set(input.tasks.map((t) => t.id));
  for (const task of input.allTasks) {
    const load = loads.get(task.nodeId);
    if (!load || placing.has(task.id)) continue;
    if (occupiesNode(task)) addTask(load, task);
    else if (isRecentFailure(task, since)) {
      load.failures.set(task.serviceId, (load.failures.get(task.serviceId) ?? 0) + 1);
    }
  }

  const assignments: TaskAssignment[] = [];
  const unschedulable: UnschedulableTask[] = [];
  const placeable = input.tasks.filter((t) => t.desiredState <= pb.TaskState.TASK_STATE_RUNNING);
  const keys = placeable.map(placementKey);
  for (let from = 0; from < placeable.length; ) {
    let to = from + 1;
    const key = keys[from];
    if (key !== undefined) while (to < placeable.length && keys[to] === key) to += 1;
    const group = placeable.slice(from, to);
    from = to;
    let constraints: Constraint[];
    try {
      constraints = (group[0]!.spec?.placement?.constraints ?? []).map(parseConstraint);
    } catch (error) {
      for (const task of group) {
        unschedulable.push({ taskId: task.id, reason: (error as Error).message });
      }
      continue;
    }
    const place = group.length > 1 ? placeGroup : placeOneByOne;
    place(group, constraints, loads, assignments, unschedulable);
  }
  return { assignments, unschedulable };
}

// What makes tasks interchangeable to the scheduler: the same service (its spread and
// failures), the same filters and the same spread preferences. Undefined for tasks
// that are placed alone: those already on a node (global) and those with preferences,
// whose group counts move on every placement.
function placementKey(task: pb.Task): string | undefined {
  const placement = task.spec?.placement;
  if (task.nodeId !== '' || (placement?.preferences.length ?? 0) > 0) return undefined;
  return JSON.stringify([
    task.serviceId,
    placement?.constraints ?? [],
    placement?.maxReplicas ?? 0,
    task.spec?.resources?.reservations ?? {},
    hostPorts(task),
  ]);
}

type Place = (
  tasks: readonly pb.Task[],
  constraints: readonly Constraint[],
  loads: ReadonlyMap<string, NodeLoad>,
  assignments: TaskAssignment[],
  unschedulable: UnschedulableTask[],
) => void;

// Each task against every node: what preferences and pre-placed tasks need.
const placeOneByOne: Place = (tasks, constraints, loads, assignments, unschedulable) => {
  for (const task of tasks) {
    const candidates = task.nodeId
      ? [loads.get(task.nodeId)].filter((l) => l !== undefined)
      : [...loads.values()];
    const { fit, failures } = applyFilters(candidates, task, constraints);
    const best = pickNode(fit, task, loads);
    if (best) {
      addTask(best, task);
      assignments.push({ taskId: task.id, nodeId: best.node.id });
    } else {
      unschedulable.push({ taskId: task.id, reason: explain(failures) });
    }
  }
};

// Interchangeable tasks (see placementKey) through a heap of nodes ordered by the spread
// order, so a batch costs nodes + tasks × log(nodes) rather than tasks × nodes. Placing
// a task changes only its own node's rank, and within the group a node's load only
// grows: a node that fails a filter once fails it for the rest of the group, so it
// leaves the heap for good. The choice equals placeOneByOne's, task for task.
const placeGroup: Place = (tasks, constraints, loads, assignments, unschedulable) => {
  const serviceId = tasks[0]!.serviceId;
  const penalty = (load: NodeLoad) =>
    (load.failures.get(serviceId) ?? 0) >= MAX_RECENT_FAILURES ? 1 : 0;
  const ofService = (load: NodeLoad) => load.byService.get(serviceId) ?? 0;
  const heap = new Heap<NodeLoad>(
    (a, b) =>
      penalty(a) - penalty(b) ||
      ofService(a) - ofService(b) ||
      a.total - b.total ||
      compareIds(a.node.id, b.node.id),
  );
  heap.init(applyFilters([...loads.values()], tasks[0]!, constraints).fit);
  let reason: string | undefined;
  for (const task of tasks) {
    let best = heap.peek();
    while (best && firstFailedFilter(best, task, constraints)) {
      heap.pop();
      best = heap.peek();
    }
    if (best) {
      addTask(best, task);
      heap.replace(best);
      assignments.push({ taskId: task.id, nodeId: best.node.id });
    } else {
      // Nothing fits now, and nothing will for the rest of the group.
      reason ??= explain(applyFilters([...loads.values()], task, constraints).failures);
      unschedulable.push({ taskId: task.id, reason });
    }
  }
};

// Tasks that hold a node's resources: placed and not yet ended.
function occupiesNode(task: pb.Task): boolean {
  const state = task.status?.state ?? pb.TaskState.TASK_STATE_NEW;
  return task.nodeId !== '' && state <= pb.TaskState.TASK_STATE_RUNNING;
}

function isRecentFailure(task: pb.Task, sinceMs: number): boolean {
  const state = task.status?.state;
  return (
    (state === pb.TaskState.TASK_STATE_FAILED || state === pb.TaskState.TASK_STATE_REJECTED) &&
    (task.status?.timestamp?.getTime() ?? 0) >= sinceMs
  );
}

function addTask(load: NodeLoad, task: pb.Task): void {
  load.total += 1;
  load.byService.set(task.serviceId, (load.byService.get(task.serviceId) ?? 0) + 1);
  const reserve = task.spec?.resources?.reservations;
  load.nanoCpus += reserve?.nanoCpus ?? 0;
  load.memoryBytes += reserve?.memoryBytes ?? 0;
  for (const port of hostPorts(task)) load.hostPorts.add(port);
}

function hostPorts(task: pb.Task): string[] {
  return (task.endpoint?.ports ?? [])
    .filter(
      (p) => p.publishMode === pb.PortConfig_PublishMode.PUBLISH_MODE_HOST && p.publishedPort !== 0,
    )
    .map((p) => `${p.protocol}/${p.publishedPort}`);
}

function firstFailedFilter(
  load: NodeLoad,
  task: pb.Task,
  constraints: readonly Constraint[],
): FilterName | undefined {
  if (!isNodeAcceptingTasks(load.node)) return 'ready';
  const want = task.spec?.resources?.reservations;
  const have = load.node.description?.resources;
  if (
    (want?.nanoCpus ?? 0) > (have?.nanoCpus ?? 0) - load.nanoCpus ||
    (want?.memoryBytes ?? 0) > (have?.memoryBytes ?? 0) - load.memoryBytes
  ) {
    return 'resources';
  }
  if (!matchConstraints(load.node, constraints)) return 'constraints';
  if (hostPorts(task).some((p) => load.hostPorts.has(p))) return 'hostPorts';
  const max = task.spec?.placement?.maxReplicas ?? 0;
  if (max > 0 && (load.byService.get(task.serviceId) ?? 0) >= max) return 'maxReplicas';
  return undefined;
}

// The best node by the spread order: for each preference level, the fewest tasks of the
// service in the node's group (the node's label values down to that level, nodes
// without the label forming one group of their own); then nodes where the service
// failed often of late go last (a crash-looping image or a broken node should not get
// every restart); then fewest of the service on the node; then fewest overall; then
// node ID. Groups count tasks on all nodes, fit or not,
// because the point is where the service's tasks are, not where more could go.
function pickNode(
  fit: readonly NodeLoad[],
  task: pb.Task,
  loads: ReadonlyMap<string, NodeLoad>,
): NodeLoad | undefined {
  if (fit.length === 0) return undefined;
  const descriptors = (task.spec?.placement?.preferences ?? []).map((p) => p.spreadDescriptor);
  const groupCounts = descriptors.map((_, level) => {
    const counts = new Map<string, number>();
    for (const load of loads.values()) {
      const key = groupKey(load.node, descriptors, level);
      counts.set(key, (counts.get(key) ?? 0) + (load.byService.get(task.serviceId) ?? 0));
    }
    return counts;
  });
  const score = (load: NodeLoad): number[] => [
    ...groupCounts.map((counts, level) => counts.get(groupKey(load.node, descriptors, level)) ?? 0),
    (load.failures.get(task.serviceId) ?? 0) >= MAX_RECENT_FAILURES ? 1 : 0,
    load.byService.get(task.serviceId) ?? 0,
    load.total,
  ];
  let best = fit[0]!;
  let bestScore = score(best);
  for (const load of fit.slice(1)) {
    const s = score(load);
    const order = compareScores(s, bestScore) || compareIds(load.node.id, best.node.id);
    if (order < 0) {
      best = load;
      bestScore = s;
    }
  }
  return best;
}

// The path of label values down to `level`, e.g. `east/rack-2`; a missing label is
// written as a character no label value may contain.
function groupKey(node: pb.Node, descriptors: readonly string[], level: number): string {
  return descriptors
    .slice(0, level + 1)
    .map((d) => nodeAttribute(node, d) ?? '\u0000')
    .join('\u0001');
}

function compareScores(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i += 1) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// The candidates that pass every filter, and how many fail each, counting a node
// against the first filter it fails (Docker's explanation).
function applyFilters(
  candidates: readonly NodeLoad[],
  task: pb.Task,
  constraints: readonly Constraint[],
): { fit: NodeLoad[]; failures: Map<FilterName, number> } {
  const fit: NodeLoad[] = [];
  const failures = new Map<FilterName, number>();
  for (const load of candidates) {
    const failed = firstFailedFilter(load, task, constraints);
    if (failed) failures.set(failed, (failures.get(failed) ?? 0) + 1);
    else fit.push(load);
  }
  return { fit, failures };
}

function explain(failures: ReadonlyMap<FilterName, number>): string {
  const parts = FILTER_ORDER.filter((f) => failures.has(f)).map((f) => {
    const n = failures.get(f)!;
    return EXPLAIN[f](`${n} node${n === 1 ? '' : 's'}`);
  });
  return parts.length === 0 ? NO_SUITABLE_NODE : `${NO_SUITABLE_NODE} (${parts.join('; ')})`;
}
