// In-process: real grpc-js servers on 127.0.0.1:0 running the manager's Dispatcher over
// one store, and an AgentSession finding the leader among them.
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { pb } from '@shoal/api';
import { Dispatcher, LocalClusterStore, MemoryStore, type StoreEvent } from '@shoal/manager';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AgentSession, type Assignments } from './agent-session.js';
import type { AgentSessionEvent } from './session-events.js';

const log = pino({ level: 'silent' });
const { STATE_DOWN, STATE_READY, STATE_UNKNOWN } = pb.NodeStatus_State;

interface Manager {
  readonly addr: string;
  readonly server: grpc.Server;
  readonly dispatcher: Dispatcher;
}

/** Managers over one store; `leader` says whose address non-leaders name. */
class Cluster {
  readonly store = new LocalClusterStore(new MemoryStore());
  readonly managers: Manager[] = [];
  leader: string | undefined;

  async addManager(): Promise<Manager> {
    const dispatcher = await Dispatcher.create({
      store: this.store,
      // No certificates in this test: every caller is node w1.
      identify: () => ({ nodeId: 'w1', role: 'worker' }),
      managers: () => this.managers.map((m, i) => ({ nodeId: `m${i}`, addr: m.addr, weight: 1 })),
      leaderAddr: () => this.leader,
      log,
    });
    const server = new grpc.Server();
    server.addService(pb.DispatcherService, dispatcher.service());
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    const manager = { addr: `127.0.0.1:${port}`, server, dispatcher };
    this.managers.push(manager);
    return manager;
  }

  async lead(manager: Manager): Promise<void> {
    this.leader = manager.addr;
    await manager.dispatcher.start();
  }

  node(): pb.Node | undefined {
    return this.store.state.get('nodes', 'w1');
  }

  close(): void {
    for (const m of this.managers) {
      m.dispatcher.stop();
      m.server.forceShutdown();
    }
  }
}

/**
 * A TCP relay to `target` that can go silent: `freeze()` stops passing bytes either way
 * but keeps every socket open, as a host that lost power or its link looks to its peers
 * (no reset, no FIN).
 */
class FreezableRelay {
  readonly #server: net.Server;
  readonly #sockets: Set<net.Socket>;
  readonly #state: { frozen: boolean };

  private constructor(server: net.Server, sockets: Set<net.Socket>, state: { frozen: boolean }) {
    this.#server = server;
    this.#sockets = sockets;
    this.#state = state;
  }

  static async start(target: string): Promise<{ relay: FreezableRelay; addr: string }> {
    const host = target.slice(0, target.lastIndexOf(':'));
    const port = Number(target.slice(target.lastIndexOf(':') + 1));
    const sockets = new Set<net.Socket>();
    const state = { frozen: false };
    const server = net.createServer((inbound) => {
      const outbound = net.connect(port, host);
      for (const [from, to] of [
        [inbound, outbound],
        [outbound, inbound],
      ] as const) {
        sockets.add(from);
        from.on('data', (chunk) => {
          if (!state.frozen) to.write(chunk);
        });
        from.on('error', () => {});
        from.on('close', () => to.destroy());
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    return { relay: new FreezableRelay(server, sockets, state), addr };
  }

  freeze(): void {
    this.#state.frozen = true;
  }

  close(): void {
    this.#server.close();
    for (const socket of this.#sockets) socket.destroy();
  }
}

/** Collects a session's events as they come. */
function record(session: AgentSession): AgentSessionEvent[] {
  const events: AgentSessionEvent[] = [];
  void (async () => {
    for await (const event of session.events()) events.push(event);
  })();
  return events;
}

let cluster: Cluster;
let session: AgentSession | undefined;

afterEach(async () => {
  await session?.close();
  session = undefined;
  cluster?.close();
});

async function newCluster(managers: number): Promise<Cluster> {
  cluster = new Cluster();
  await cluster.store.update((tx) =>
    tx.create('nodes', pb.Node.fromPartial({ id: 'w1', status: { state: STATE_UNKNOWN } })),
  );
  for (let i = 0; i < managers; i++) await cluster.addManager();
  return cluster;
}

async function startAgent(managers: string[]): Promise<AgentSession> {
  session = await AgentSession.start({
    managers,
    credentials: grpc.credentials.createInsecure(),
    description: pb.NodeDescription.fromPartial({ hostname: 'worker-1' }),
    log,
  });
  return session;
}

describe('AgentSession', () => {
  it('AgentSession: opens a session on the leader and heartbeats when it starts', async () => {
    const { managers } = await newCluster(1);
    await cluster.lead(managers[0]!);
    const agent = await startAgent([managers[0]!.addr]);
    const events = record(agent);
    await vi.waitFor(() => expect(agent.state).toBe('connected'), { timeout: 5000 });
    expect(agent.manager).toBe(managers[0]!.addr);
    expect(agent.sessionId).toBe(managers[0]!.dispatcher.sessionOf('w1'));
    expect(cluster.node()?.status).toMatchObject({ state: STATE_READY, addr: '127.0.0.1' });
    expect(cluster.node()?.description?.hostname).toBe('worker-1');
    // The first heartbeat's answer carries the manager's period (1 s less jitter).
    await vi.waitFor(() => expect(agent.heartbeatPeriodMs).toBeLessThan(1000), { timeout: 3000 });
    expect(events.map((e) => e.type)).toEqual(['connected', 'node']);
  });

  it('AgentSession: goes to the leader named in a refusal when it starts on a follower', async () => {
    const { managers } = await newCluster(2);
    await cluster.lead(managers[1]!);
    const agent = await startAgent([managers[0]!.addr]);
    await vi.waitFor(() => expect(agent.state).toBe('connected'), { timeout: 5000 });
    expect(agent.manager).toBe(managers[1]!.addr);
    // The session message told it of both managers.
    expect([...agent.managers].sort()).toEqual(managers.map((m) => m.addr).sort());
  });

  it('AgentSession: moves to the new leader within 1 s and the node is never marked down when the leader dies', async () => {
    const { managers } = await newCluster(2);
    const [a, b] = [managers[0]!, managers[1]!];
    await cluster.lead(a);
    const downs: StoreEvent[] = [];
    const watch = cluster.store.watch({
      filter: (e) =>
        e.type !== 'reset' && e.table === 'nodes' && e.object.status?.state === STATE_DOWN,
    });
    void (async () => {
      for await (const event of watch) downs.push(event);
    })();
    await cluster.store.update((tx) =>
      tx.create(
        'tasks',
        pb.Task.fromPartial({
          id: 't1',
          nodeId: 'w1',
          status: { state: pb.TaskState.TASK_STATE_RUNNING },
        }),
      ),
    );
    const agent = await startAgent([a.addr, b.addr]);
    const events = record(agent);
    const sets = agent.assignments();
    await vi.waitFor(() => expect(agent.manager).toBe(a.addr), { timeout: 5000 });
    await vi.waitFor(() => expect(agent.heartbeatPeriodMs).toBeLessThan(1000), { timeout: 3000 });
    const before = (await sets.next()).value as Assignments;
    expect([...before.tasks.keys()]).toEqual(['t1']);

    // The leader's process dies; the follower is not leader yet and names the old one.
    a.server.forceShutdown();
    a.dispatcher.stop();
    await vi.waitFor(() => expect(agent.state).toBe('connecting'), { timeout: 3000 });
    // An election takes a moment; the agent keeps trying meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const electedAt = performance.now();
    await cluster.lead(b);
    await vi.waitFor(() => expect(agent.manager).toBe(b.addr), { timeout: 3000, interval: 10 });
    const movedMs = performance.now() - electedAt;
    expect(movedMs).toBeLessThan(1000);
    // The new leader sends the complete set again; the task is still there.
    const after = (await sets.next()).value as Assignments;
    expect([...after.tasks.keys()]).toEqual(['t1']);
    void sets.return?.();

    // Past the new leader's grace period, with heartbeats flowing to it.
    await new Promise((resolve) => setTimeout(resolve, b.dispatcher.graceMs + 300));
    expect(cluster.node()?.status?.state).toBe(STATE_READY);
    expect(downs).toEqual([]);
    expect(
      events.filter((e) => e.type === 'connected').map((e) => e.type === 'connected' && e.manager),
    ).toEqual([a.addr, b.addr]);
    void watch.return?.();
  });

  it('AgentSession: moves on when heartbeats go unanswered and the node stays up when the leader goes silent', async () => {
    const { managers } = await newCluster(2);
    const [a, b] = [managers[0]!, managers[1]!];
    const { relay, addr: silentA } = await FreezableRelay.start(a.addr);
    try {
      await cluster.lead(a);
      const agent = await startAgent([silentA, b.addr]);
      await vi.waitFor(() => expect(agent.manager).toBe(silentA), { timeout: 5000 });
      await vi.waitFor(() => expect(agent.heartbeatPeriodMs).toBeLessThan(1000), { timeout: 3000 });
      // A's host goes silent; its Raft peers notice and elect B, whose dispatcher starts.
      relay.freeze();
      a.dispatcher.stop();
      cluster.leader = undefined;
      const silentAt = performance.now();
      await cluster.lead(b);
      await vi.waitFor(() => expect(agent.manager).toBe(b.addr), { timeout: 5000, interval: 20 });
      // At most one period to the next beat plus its 2.5-period deadline, then a move.
      expect(performance.now() - silentAt).toBeLessThan(4000);
      await new Promise((resolve) => setTimeout(resolve, b.dispatcher.graceMs));
      expect(cluster.node()?.status?.state).toBe(STATE_READY);
    } finally {
      relay.close();
    }
  });

  it('AgentSession: follows its assignments and reports task status when tasks are bound to it', async () => {
    const { managers } = await newCluster(1);
    const task = (id: string, nodeId: string) =>
      pb.Task.fromPartial({ id, nodeId, status: { state: pb.TaskState.TASK_STATE_ASSIGNED } });
    await cluster.store.update((tx) => {
      tx.create('tasks', task('t1', 'w1'));
      tx.create('tasks', task('elsewhere', 'w2'));
    });
    await cluster.lead(managers[0]!);
    const agent = await startAgent([managers[0]!.addr]);
    const sets = agent.assignments();
    expect([...((await sets.next()).value as Assignments).tasks.keys()]).toEqual(['t1']);
    await cluster.store.update((tx) => tx.create('tasks', task('t2', 'w1')));
    expect([...((await sets.next()).value as Assignments).tasks.keys()]).toEqual(['t1', 't2']);
    await agent.reportTaskStatus([
      {
        taskId: 't1',
        status: pb.TaskStatus.fromPartial({ state: pb.TaskState.TASK_STATE_RUNNING }),
      },
    ]);
    expect(cluster.store.state.get('tasks', 't1')?.status?.state).toBe(
      pb.TaskState.TASK_STATE_RUNNING,
    );
    await expect(
      agent.reportTaskStatus([
        {
          taskId: 'elsewhere',
          status: pb.TaskStatus.fromPartial({ state: pb.TaskState.TASK_STATE_FAILED }),
        },
      ]),
    ).rejects.toMatchObject({
      code: 'SHOAL_PERMISSION_DENIED',
      message: 'Update task status: task "elsewhere" is not assigned to node "w1"',
    });
    await sets.return?.();
  });

  it('AgentSession: closes with the refusal when the node is not a member of the cluster', async () => {
    const { managers } = await newCluster(1);
    await cluster.store.update((tx) => tx.delete('nodes', tx.get('nodes', 'w1')!));
    await cluster.lead(managers[0]!);
    const agent = await startAgent([managers[0]!.addr]);
    const reason = await agent.closed();
    expect(reason).toMatchObject({
      code: 'SHOAL_PERMISSION_DENIED',
      message:
        'Open session: node "w1" is not a member of the cluster (removed or never joined): join it again',
    });
    expect(agent.state).toBe('closed');
    await agent.close();
  });
});
