import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { ERROR_CODE_TRAILER, pb } from '@shoal/api';
import { SeededRng } from '@shoal/raft';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalClusterStore } from '../store/cluster-store.js';
import { MemoryStore } from '../store/memory-store.js';
import { Dispatcher, HEARTBEAT_FAILURE } from './dispatcher.js';
import { LEADER_ADDR_TRAILER } from './dispatcher-errors.js';
import type { CallerIdentity, DispatcherOptions } from './dispatcher-options.js';
import { ManualClock } from './manual-clock.js';

const { STATE_READY, STATE_DOWN, STATE_UNKNOWN } = pb.NodeStatus_State;
const S = pb.TaskState;

/** A server stream as grpc-js hands it to a handler, recording what is written. */
class FakeStream<Req, Res> extends EventEmitter {
  readonly written: Res[] = [];
  status: Partial<grpc.ServiceError> | 'ok' | undefined;
  cancelled = false;
  writableEnded = false;

  constructor(
    readonly request: Req,
    readonly identity: CallerIdentity | undefined,
  ) {
    super();
    this.on('error', (status: Partial<grpc.ServiceError>) => {
      this.status = status;
      this.writableEnded = true;
    });
  }

  getPeer(): string {
    return '10.0.0.7:41234';
  }

  write(message: Res): boolean {
    this.written.push(message);
    return true;
  }

  end(): void {
    this.writableEnded = true;
    this.status ??= 'ok';
  }

  /** The client went away. */
  cancel(): void {
    this.cancelled = true;
    this.emit('cancelled');
  }
}

type Call<Req, Res> = grpc.ServerWritableStream<Req, Res>;

/** A dispatcher over a LocalClusterStore with a manual clock, driven without sockets. */
class Harness {
  readonly service: pb.DispatcherServer;
  readonly streams: FakeStream<unknown, unknown>[] = [];

  private constructor(
    readonly dispatcher: Dispatcher,
    readonly clock: ManualClock,
    readonly store: LocalClusterStore,
  ) {
    this.service = dispatcher.service();
  }

  static async create(options: Partial<DispatcherOptions> = {}): Promise<Harness> {
    const clock = new ManualClock(1_000);
    const store = new LocalClusterStore(new MemoryStore());
    const dispatcher = await Dispatcher.create({
      store,
      clock,
      identify: (call) => (call as unknown as { identity?: CallerIdentity }).identity,
      managers: () => [{ nodeId: 'm1', addr: '10.0.0.1:2377', weight: 1 }],
      leaderAddr: () => '10.0.0.1:2377',
      log: pino({ level: 'silent' }),
      rng: new SeededRng(7),
      heartbeatPeriodMs: 1000,
      ...options,
    });
    return new Harness(dispatcher, clock, store);
  }

  async addNodes(...ids: string[]): Promise<void> {
    await this.store.update((tx) => {
      for (const id of ids) {
        tx.create('nodes', pb.Node.fromPartial({ id, status: { state: STATE_UNKNOWN } }));
      }
    });
  }

  node(id: string): pb.Node | undefined {
    return this.store.state.get('nodes', id);
  }

  openSession(nodeId: string | undefined): FakeStream<pb.SessionRequest, pb.SessionMessage> {
    const stream = new FakeStream<pb.SessionRequest, pb.SessionMessage>(
      pb.SessionRequest.fromPartial({ description: { hostname: `host-${nodeId}` } }),
      nodeId === undefined ? undefined : { nodeId, role: 'worker' },
    );
    this.streams.push(stream as FakeStream<unknown, unknown>);
    this.service.session(stream as unknown as Call<pb.SessionRequest, pb.SessionMessage>);
    return stream;
  }

  heartbeat(nodeId: string, sessionId: string): Promise<pb.HeartbeatResponse> {
    return this.#unary('heartbeat', nodeId, { sessionId });
  }

  updateTaskStatus(
    nodeId: string,
    sessionId: string,
    updates: { taskId: string; state: pb.TaskState }[],
  ): Promise<pb.UpdateTaskStatusResponse> {
    return this.#unary('updateTaskStatus', nodeId, {
      sessionId,
      updates: updates.map(({ taskId, state }) => ({ taskId, status: { state, message: '' } })),
    });
  }

  /** A Heartbeats stream; the test sends requests with `stream.emit('data', …)`. */
  openHeartbeats(nodeId: string) {
    const stream = new FakeStream<undefined, pb.HeartbeatResponse>(undefined, {
      nodeId,
      role: 'worker',
    });
    this.streams.push(stream as FakeStream<unknown, unknown>);
    this.service.heartbeats(
      stream as unknown as grpc.ServerDuplexStream<pb.HeartbeatRequest, pb.HeartbeatResponse>,
    );
    return stream;
  }

  openAssignments(nodeId: string, sessionId: string) {
    const stream = new FakeStream<pb.AssignmentsRequest, pb.AssignmentsMessage>(
      { sessionId },
      { nodeId, role: 'worker' },
    );
    this.streams.push(stream as FakeStream<unknown, unknown>);
    this.service.assignments(
      stream as unknown as Call<pb.AssignmentsRequest, pb.AssignmentsMessage>,
    );
    return stream;
  }

  /** Opens a session for each node and sends its first heartbeat. */
  async connect(...ids: string[]): Promise<Map<string, string>> {
    const sessions = new Map<string, string>();
    for (const id of ids) {
      const stream = this.openSession(id);
      await settle();
      const sessionId = stream.written[0]?.sessionId;
      if (!sessionId) throw new Error(`no session for ${id}: ${JSON.stringify(stream.status)}`);
      sessions.set(id, sessionId);
    }
    return sessions;
  }

  /** Moves time in steps, letting store writes and watches run between them. */
  async advance(ms: number, step = 100): Promise<void> {
    for (let done = 0; done < ms; done += step) {
      this.clock.advance(Math.min(step, ms - done));
      await settle();
    }
  }

  #unary<Res>(method: 'heartbeat' | 'updateTaskStatus', nodeId: string, request: unknown) {
    return new Promise<Res>((resolve, reject) => {
      const call = { request, identity: { nodeId, role: 'worker' }, getPeer: () => '10.0.0.7:1' };
      const handler = this.service[method] as unknown as (
        call: unknown,
        callback: (error: Partial<grpc.ServiceError> | null, response?: Res) => void,
      ) => void;
      handler(call, (error, response) => (error ? reject(error) : resolve(response as Res)));
    });
  }
}

/** Lets promise chains (store writes, watch deliveries) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function task(id: string, nodeId: string, state: pb.TaskState): pb.Task {
  return pb.Task.fromPartial({ id, nodeId, status: { state }, desiredState: S.TASK_STATE_RUNNING });
}

let harness: Harness;
afterEach(() => {
  harness?.dispatcher.stop();
});

describe('Dispatcher', () => {
  it('Dispatcher: refuses a session with UNAVAILABLE naming the leader when stopped', async () => {
    harness = await Harness.create();
    await harness.addNodes('n1');
    const stream = harness.openSession('n1');
    await settle();
    const status = stream.status as Partial<grpc.ServiceError>;
    expect(status.code).toBe(14);
    expect(status.details).toBe(
      'Open session: this manager is not the leader: try the leader at "10.0.0.1:2377"',
    );
    expect(status.metadata?.get(LEADER_ADDR_TRAILER)).toEqual(['10.0.0.1:2377']);
    expect(status.metadata?.get(ERROR_CODE_TRAILER)).toEqual(['SHOAL_UNAVAILABLE']);
  });

  it('Dispatcher: refuses a session with PERMISSION_DENIED when the node is not in the store', async () => {
    harness = await Harness.create();
    await harness.dispatcher.start();
    const stream = harness.openSession('ghost');
    await settle();
    const status = stream.status as Partial<grpc.ServiceError>;
    expect(status.code).toBe(7);
    expect(status.details).toBe(
      'Open session: node "ghost" is not a member of the cluster (removed or never joined): join it again',
    );
    await harness.addNodes('gone');
    await harness.store.update((tx) =>
      tx.create('clusters', pb.Cluster.fromPartial({ id: 'c1', removedNodes: ['gone'] })),
    );
    const removed = harness.openSession('gone');
    await settle();
    expect((removed.status as Partial<grpc.ServiceError>).code).toBe(7);
    const anonymous = harness.openSession(undefined);
    await settle();
    expect((anonymous.status as Partial<grpc.ServiceError>).details).toBe(
      'Open session: the caller presented no node certificate',
    );
  });

  it('Dispatcher: writes the description and READY with the peer address when a session opens', async () => {
    harness = await Harness.create();
    await harness.addNodes('n1');
    await harness.dispatcher.start();
    const stream = harness.openSession('n1');
    await settle();
    expect(stream.written).toHaveLength(1);
    const first = stream.written[0]!;
    expect(first.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.managers).toEqual([{ nodeId: 'm1', addr: '10.0.0.1:2377', weight: 1 }]);
    expect(first.node?.status).toEqual({ state: STATE_READY, message: '', addr: '10.0.0.7' });
    expect(harness.node('n1')?.description?.hostname).toBe('host-n1');
  });

  it('Dispatcher: marks a node DOWN within 3 s when its heartbeats stop', async () => {
    harness = await Harness.create();
    await harness.addNodes('n1');
    await harness.dispatcher.start();
    const sessions = await harness.connect('n1');
    const response = await harness.heartbeat('n1', sessions.get('n1')!);
    const periodMs = response.period!.seconds * 1000 + response.period!.nanos / 1e6;
    expect(periodMs).toBeGreaterThan(900);
    expect(periodMs).toBeLessThanOrEqual(1000);
    const diedAt = harness.clock.now();
    await harness.advance(2400);
    expect(harness.node('n1')?.status?.state).toBe(STATE_READY);
    await harness.advance(600);
    expect(harness.node('n1')?.status).toMatchObject({
      state: STATE_DOWN,
      message: HEARTBEAT_FAILURE,
    });
    expect(harness.clock.now() - diedAt).toBeLessThanOrEqual(3000);
  });

  it('Dispatcher: keeps a node READY while it heartbeats at the period given', async () => {
    harness = await Harness.create();
    await harness.addNodes('n1');
    await harness.dispatcher.start();
    const sessionId = (await harness.connect('n1')).get('n1')!;
    for (let i = 0; i < 10; i++) {
      await harness.heartbeat('n1', sessionId);
      await harness.advance(1000);
    }
    expect(harness.node('n1')?.status?.state).toBe(STATE_READY);
  });

  it('Dispatcher: marks a node READY again when a session returns after it was marked down', async () => {
    harness = await Harness.create();
    await harness.addNodes('n1');
    await harness.dispatcher.start();
    const old = harness.openSession('n1');
    await settle();
    await harness.advance(3000);
    expect(harness.node('n1')?.status?.state).toBe(STATE_DOWN);
    // The stale session is ended so the agent re-registers.
    expect((old.status as Partial<grpc.ServiceError>).code).toBe(10);
    await harness.connect('n1');
    expect(harness.node('n1')?.status?.state).toBe(STATE_READY);
  });

  it('Dispatcher: keeps a node READY and answers each beat when heartbeats come on a stream', async () => {
    harness = await Harness.create();
    await harness.addNodes('n1');
    await harness.dispatcher.start();
    const sessionId = (await harness.connect('n1')).get('n1')!;
    const heartbeats = harness.openHeartbeats('n1');
    for (let i = 0; i < 5; i++) {
      heartbeats.emit('data', { sessionId });
      await harness.advance(1000);
    }
    expect(heartbeats.written).toHaveLength(5);
    expect(harness.node('n1')?.status?.state).toBe(STATE_READY);
    heartbeats.emit('data', { sessionId: 'stale' });
    expect(heartbeats.status).toMatchObject({
      code: 5,
      details:
        'Heartbeat: session "stale" is not the current session of node "n1": open a new session',
    });
  });

  it('Dispatcher: ends heartbeat streams with UNAVAILABLE naming the leader when it stops', async () => {
    harness = await Harness.create();
    await harness.addNodes('n1');
    await harness.dispatcher.start();
    const sessionId = (await harness.connect('n1')).get('n1')!;
    const heartbeats = harness.openHeartbeats('n1');
    heartbeats.emit('data', { sessionId });
    harness.dispatcher.stop();
    const status = heartbeats.status as Partial<grpc.ServiceError>;
    expect(status.code).toBe(14);
    expect(status.metadata?.get(LEADER_ADDR_TRAILER)).toEqual(['10.0.0.1:2377']);
  });

  it('Dispatcher: hands out the new period and marks down on its timeout when the period changes', async () => {
    harness = await Harness.create();
    await harness.addNodes('n1');
    await harness.dispatcher.start();
    const sessionId = (await harness.connect('n1')).get('n1')!;
    harness.dispatcher.setHeartbeatPeriod(5000);
    const { period } = await harness.heartbeat('n1', sessionId);
    expect(period!.seconds * 1000 + period!.nanos / 1e6).toBeGreaterThan(4500);
    expect(harness.dispatcher.downTimeoutMs).toBe(12_500);
    await harness.advance(12_000, 500);
    expect(harness.node('n1')?.status?.state).toBe(STATE_READY);
    await harness.advance(1500, 500);
    expect(harness.node('n1')?.status?.state).toBe(STATE_DOWN);
    expect(() => harness.dispatcher.setHeartbeatPeriod(0)).toThrow(
      new RangeError('Set heartbeatPeriodMs: must be a whole number of at least 10 ms: got 0'),
    );
  });

  it('Dispatcher: gives every node the grace period before marking it down when it starts', async () => {
    harness = await Harness.create();
    await harness.addNodes('n1', 'n2');
    await harness.dispatcher.start();
    expect(harness.dispatcher.graceMs).toBe(5000);
    await harness.advance(4500);
    // n2 finds the new leader late but within the grace; n1 never comes.
    await harness.connect('n2');
    await harness.advance(400);
    expect(harness.node('n1')?.status?.state).toBe(STATE_UNKNOWN);
    await harness.advance(400);
    expect(harness.node('n1')?.status?.state).toBe(STATE_DOWN);
    expect(harness.node('n2')?.status?.state).toBe(STATE_READY);
  });

  it('Dispatcher: marks many silent nodes down in one store update when they expire together', async () => {
    harness = await Harness.create();
    const ids = Array.from({ length: 50 }, (_, i) => `n${i}`);
    await harness.addNodes(...ids);
    await harness.dispatcher.start();
    const before = harness.store.state.version;
    await harness.advance(5200);
    expect(ids.every((id) => harness.node(id)?.status?.state === STATE_DOWN)).toBe(true);
    expect(harness.store.state.version).toBe(before + 1);
  });

  it('Dispatcher: retries marking down with fresh reads when a write conflicts', async () => {
    harness = await Harness.create();
    await harness.addNodes('n1', 'n2');
    await harness.dispatcher.start();
    // Another writer lands between the dispatcher's read and its commit, once.
    const store = harness.store;
    const update = store.update.bind(store);
    let raced = false;
    store.update = async (build) => {
      if (!raced) {
        raced = true;
        const stale = new (await import('../store/store-batch.js')).StoreTx(store.state);
        build(stale);
        await update((tx) => {
          const n2 = tx.get('nodes', 'n2')!;
          tx.update('nodes', {
            ...n2,
            spec: {
              annotations: { name: '', labels: { a: '1' } },
              desiredRole: 0,
              availability: 0,
            },
          });
        });
        const { state } = store;
        const result = state.apply(state.version + 1, stale.toBatch('stale'));
        if (!result.ok) throw result.error;
        return;
      }
      return update(build);
    };
    await harness.advance(5200);
    expect(raced).toBe(true);
    expect(harness.node('n1')?.status?.state).toBe(STATE_DOWN);
    expect(harness.node('n2')?.status?.state).toBe(STATE_DOWN);
    expect(harness.node('n2')?.spec?.annotations?.labels).toEqual({ a: '1' });
  });

  it('Dispatcher: replaces the old session when the same node opens a new one', async () => {
    harness = await Harness.create();
    await harness.addNodes('n1');
    await harness.dispatcher.start();
    const old = harness.openSession('n1');
    await settle();
    const oldId = old.written[0]!.sessionId;
    const fresh = harness.openSession('n1');
    await settle();
    expect(old.status).toBe('ok');
    expect(fresh.written[0]!.sessionId).not.toBe(oldId);
    await expect(harness.heartbeat('n1', oldId)).rejects.toMatchObject({
      code: 5,
      details: `Heartbeat: session "${oldId}" is not the current session of node "n1": open a new session`,
    });
  });

  it('Dispatcher: pushes the node when its object changes and the managers when they change', async () => {
    const managers = [{ nodeId: 'm1', addr: '10.0.0.1:2377', weight: 1 }];
    harness = await Harness.create({ managers: () => managers });
    await harness.addNodes('n1');
    await harness.dispatcher.start();
    const stream = harness.openSession('n1');
    await settle();
    await harness.store.update((tx) => {
      const node = tx.get('nodes', 'n1')!;
      tx.update('nodes', {
        ...node,
        spec: { annotations: undefined, desiredRole: 0, availability: 2 },
      });
    });
    await settle();
    expect(stream.written).toHaveLength(2);
    expect(stream.written[1]!.node?.spec?.availability).toBe(2);
    managers.push({ nodeId: 'm2', addr: '10.0.0.2:2377', weight: 1 });
    harness.dispatcher.refreshManagers();
    expect(stream.written).toHaveLength(3);
    expect(stream.written[2]!.managers.map((m) => m.addr)).toEqual([
      '10.0.0.1:2377',
      '10.0.0.2:2377',
    ]);
  });

  it('Dispatcher: stays stopped and rejects when the store barrier fails at start', async () => {
    harness = await Harness.create();
    harness.store.barrier = async () => {
      throw new Error('not the leader any more');
    };
    await expect(harness.dispatcher.start()).rejects.toThrow('not the leader any more');
    expect(harness.dispatcher.state).toBe('stopped');
  });

  it('Dispatcher: ends a session with PERMISSION_DENIED when its node is removed', async () => {
    harness = await Harness.create();
    await harness.addNodes('n1', 'n2');
    await harness.store.update((tx) => tx.create('clusters', pb.Cluster.fromPartial({ id: 'c1' })));
    await harness.dispatcher.start();
    const first = harness.openSession('n1');
    const second = harness.openSession('n2');
    await settle();
    await harness.store.update((tx) => tx.delete('nodes', tx.get('nodes', 'n1')!));
    await harness.store.update((tx) =>
      tx.update('clusters', { ...tx.get('clusters', 'c1')!, removedNodes: ['n2'] }),
    );
    await settle();
    for (const stream of [first, second]) {
      expect((stream.status as Partial<grpc.ServiceError>).code).toBe(7);
    }
    expect(harness.dispatcher.sessionCount).toBe(0);
  });

  it('Dispatcher: ends sessions with UNAVAILABLE naming the leader when it stops', async () => {
    harness = await Harness.create();
    await harness.addNodes('n1');
    await harness.dispatcher.start();
    const stream = harness.openSession('n1');
    await settle();
    harness.dispatcher.stop();
    const status = stream.status as Partial<grpc.ServiceError>;
    expect(status.code).toBe(14);
    expect(status.metadata?.get(LEADER_ADDR_TRAILER)).toEqual(['10.0.0.1:2377']);
    await harness.advance(10_000);
    expect(harness.node('n1')?.status?.state).toBe(STATE_READY);
  });

  it('Dispatcher: records task status only forward when reports come out of order', async () => {
    harness = await Harness.create();
    await harness.addNodes('n1');
    await harness.store.update((tx) => tx.create('tasks', task('t1', 'n1', S.TASK_STATE_ASSIGNED)));
    await harness.dispatcher.start();
    const sessionId = (await harness.connect('n1')).get('n1')!;
    const running = harness.updateTaskStatus('n1', sessionId, [
      { taskId: 't1', state: S.TASK_STATE_RUNNING },
    ]);
    await harness.advance(100);
    await running;
    expect(harness.store.state.get('tasks', 't1')?.status?.state).toBe(S.TASK_STATE_RUNNING);
    const late = harness.updateTaskStatus('n1', sessionId, [
      { taskId: 't1', state: S.TASK_STATE_PREPARING },
    ]);
    await harness.advance(100);
    await late;
    expect(harness.store.state.get('tasks', 't1')?.status?.state).toBe(S.TASK_STATE_RUNNING);
  });

  it('Dispatcher: writes many task reports in one store update when they arrive together', async () => {
    harness = await Harness.create();
    await harness.addNodes('n1');
    await harness.store.update((tx) => {
      for (let i = 0; i < 20; i++) tx.create('tasks', task(`t${i}`, 'n1', S.TASK_STATE_ASSIGNED));
    });
    await harness.dispatcher.start();
    const sessionId = (await harness.connect('n1')).get('n1')!;
    const before = harness.store.state.version;
    const reports = Array.from({ length: 20 }, (_, i) =>
      harness.updateTaskStatus('n1', sessionId, [
        { taskId: `t${i}`, state: S.TASK_STATE_ACCEPTED },
      ]),
    );
    await harness.advance(100);
    await Promise.all(reports);
    expect(harness.store.state.version).toBe(before + 1);
  });

  it("Dispatcher: refuses a task status report with PERMISSION_DENIED when it names another node's task", async () => {
    harness = await Harness.create();
    await harness.addNodes('n1', 'n2');
    await harness.store.update((tx) => {
      tx.create('tasks', task('mine', 'n1', S.TASK_STATE_ASSIGNED));
      tx.create('tasks', task('theirs', 'n2', S.TASK_STATE_ASSIGNED));
    });
    await harness.dispatcher.start();
    const sessionId = (await harness.connect('n1')).get('n1')!;
    await expect(
      harness.updateTaskStatus('n1', sessionId, [
        { taskId: 'mine', state: S.TASK_STATE_RUNNING },
        { taskId: 'theirs', state: S.TASK_STATE_FAILED },
      ]),
    ).rejects.toMatchObject({
      code: 7,
      details: 'Update task status: task "theirs" is not assigned to node "n1"',
    });
    await harness.advance(200);
    expect(harness.store.state.get('tasks', 'mine')?.status?.state).toBe(S.TASK_STATE_ASSIGNED);
    expect(harness.store.state.get('tasks', 'theirs')?.status?.state).toBe(S.TASK_STATE_ASSIGNED);
  });

  it('Dispatcher: sends the complete set then increments when tasks change', async () => {
    harness = await Harness.create();
    await harness.addNodes('n1', 'n2');
    await harness.store.update((tx) => {
      tx.create('tasks', task('a', 'n1', S.TASK_STATE_ASSIGNED));
      tx.create('tasks', task('pending', 'n1', S.TASK_STATE_PENDING));
      tx.create('tasks', task('other', 'n2', S.TASK_STATE_RUNNING));
    });
    await harness.dispatcher.start();
    const sessionId = (await harness.connect('n1')).get('n1')!;
    const stream = harness.openAssignments('n1', sessionId);
    const [complete] = stream.written;
    expect(complete?.type).toBe(pb.AssignmentsMessage_Type.TYPE_COMPLETE);
    expect(
      complete?.changes.map(
        (c) => c.assignment?.item?.$case === 'task' && c.assignment.item.task.id,
      ),
    ).toEqual(['a']);
    // The pending task is bound, another task arrives, then `a` is deleted.
    await harness.store.update((tx) => {
      tx.update('tasks', {
        ...tx.get('tasks', 'pending')!,
        status: {
          state: S.TASK_STATE_ASSIGNED,
          message: '',
          err: '',
          timestamp: undefined,
          container: undefined,
        },
      });
      tx.create('tasks', task('b', 'n1', S.TASK_STATE_ASSIGNED));
    });
    await harness.store.update((tx) => tx.delete('tasks', tx.get('tasks', 'a')!));
    await settle();
    expect(stream.written).toHaveLength(1);
    await harness.advance(100);
    expect(stream.written).toHaveLength(2);
    const increment = stream.written[1]!;
    expect(increment.type).toBe(pb.AssignmentsMessage_Type.TYPE_INCREMENTAL);
    expect(increment.appliesTo).toBe(complete?.resultsIn);
    expect(increment.resultsIn).toBe(String(harness.store.state.version));
    const summary = increment.changes.map((c) => [
      c.assignment?.item?.$case === 'task' ? c.assignment.item.task.id : '',
      c.action,
    ]);
    expect(summary).toEqual([
      ['pending', pb.AssignmentChange_Action.ACTION_UPDATE],
      ['b', pb.AssignmentChange_Action.ACTION_UPDATE],
      ['a', pb.AssignmentChange_Action.ACTION_REMOVE],
    ]);
  });

  it('Dispatcher: sends waiting assignment changes 100 ms after the first when more keep coming', async () => {
    harness = await Harness.create({ assignmentsBatchMs: 100 });
    await harness.addNodes('n1');
    await harness.dispatcher.start();
    const sessionId = (await harness.connect('n1')).get('n1')!;
    const stream = harness.openAssignments('n1', sessionId);
    // A task every 60 ms: a wait restarted by each change would never end.
    for (const id of ['t1', 't2', 't3']) {
      await harness.store.update((tx) => tx.create('tasks', task(id, 'n1', S.TASK_STATE_ASSIGNED)));
      await harness.advance(60, 20);
    }
    const sent = stream.written
      .slice(1)
      .map((m) =>
        m.changes.map((c) =>
          c.assignment?.item?.$case === 'task' ? c.assignment.item.task.id : '',
        ),
      );
    expect(sent).toEqual([['t1', 't2']]);
  });

  it('Dispatcher: sends the networks of assigned tasks and removes them with their last task', async () => {
    harness = await Harness.create();
    await harness.addNodes('n1');
    const onNetworks = (id: string, ...networkIds: string[]) => ({
      ...task(id, 'n1', S.TASK_STATE_ASSIGNED),
      networks: networkIds.map((networkId) => ({ networkId, addresses: [], aliases: [] })),
    });
    await harness.store.update((tx) => {
      tx.create('networks', pb.Network.fromPartial({ id: 'front', vni: 4097 }));
      tx.create('networks', pb.Network.fromPartial({ id: 'back', vni: 4098 }));
      tx.create('networks', pb.Network.fromPartial({ id: 'unused', vni: 4099 }));
      tx.create('tasks', onNetworks('a', 'front'));
    });
    await harness.dispatcher.start();
    const sessionId = (await harness.connect('n1')).get('n1')!;
    const stream = harness.openAssignments('n1', sessionId);
    const summary = (message: pb.AssignmentsMessage | undefined) =>
      message?.changes.map((c) => {
        const item = c.assignment?.item;
        const id =
          item?.$case === 'task'
            ? item.task.id
            : item?.$case === 'network'
              ? `net:${item.network.id}`
              : '';
        return `${c.action === pb.AssignmentChange_Action.ACTION_REMOVE ? '-' : '+'}${id}`;
      });
    expect(summary(stream.written[0])).toEqual(['+a', '+net:front']);
    await harness.store.update((tx) => tx.create('tasks', onNetworks('b', 'front', 'back')));
    await harness.advance(100);
    expect(summary(stream.written[1])).toEqual(['+b', '+net:back']);
    await harness.store.update((tx) => tx.delete('tasks', tx.get('tasks', 'a')!));
    await harness.advance(100);
    expect(summary(stream.written[2])).toEqual(['-a']);
    await harness.store.update((tx) =>
      tx.update('tasks', { ...tx.get('tasks', 'b')!, nodeId: 'n2' }),
    );
    await harness.advance(100);
    expect(summary(stream.written[3])).toEqual(['-b', '-net:front', '-net:back']);
  });

  it('Dispatcher: ends assignments streams when the session is replaced', async () => {
    harness = await Harness.create();
    await harness.addNodes('n1');
    await harness.dispatcher.start();
    const sessionId = (await harness.connect('n1')).get('n1')!;
    const stream = harness.openAssignments('n1', sessionId);
    harness.openSession('n1');
    await settle();
    expect(stream.writableEnded).toBe(true);
  });
});
