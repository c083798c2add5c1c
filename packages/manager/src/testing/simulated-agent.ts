// A node that runs no containers but speaks the real dispatcher protocol: it joins as a
// worker through the CA service (token, CSR, IssueNodeCertificate, NodeCertificateStatus),
// opens the agent's own `AgentSession` over mutual TLS, and walks every assigned task
// through the states a real agent reports (ACCEPTED, PREPARING, READY, STARTING, RUNNING;
// FAILED for tasks `failOn` picks; SHUTDOWN when told to stop), one state per report
// round, in batches.
//
// Why the session is loaded with a dynamic import of a computed name: @shoal/agent
// depends on @shoal/manager (its tests and bench use the dispatcher), so @shoal/manager
// cannot reference it in its TypeScript project without a build cycle. The harness
// therefore describes the few members it uses (`AgentSessionLike`) and loads the built
// package at run time, which the workspace links; `npm run build` builds it before any
// test runs.
import type * as grpc from '@grpc/grpc-js';
import { pb } from '@shoal/api';
import type { Logger } from 'pino';
import { MANAGER_CHANNEL_OPTIONS } from '../ca/tls.js';
import type { JoinTarget } from './in-process-cluster.js';
import { joinNode, nodeChannelCredentials } from './join-node.js';

const S = pb.TaskState;

/** The states an agent reports on the way to RUNNING, in order. */
const START_STEPS: readonly pb.TaskState[] = [
  S.TASK_STATE_ACCEPTED,
  S.TASK_STATE_PREPARING,
  S.TASK_STATE_READY,
  S.TASK_STATE_STARTING,
  S.TASK_STATE_RUNNING,
];

/** Docker's status messages for each state an agent reports. */
const STATE_MESSAGES: ReadonlyMap<pb.TaskState, string> = new Map([
  [S.TASK_STATE_ACCEPTED, 'accepted'],
  [S.TASK_STATE_PREPARING, 'preparing'],
  [S.TASK_STATE_READY, 'prepared'],
  [S.TASK_STATE_STARTING, 'starting'],
  [S.TASK_STATE_RUNNING, 'started'],
  [S.TASK_STATE_FAILED, 'started'],
  [S.TASK_STATE_SHUTDOWN, 'shutdown'],
]);

/** The members of @shoal/agent's `AgentSession` the simulated agent uses. */
interface AgentSessionLike {
  readonly state: 'connecting' | 'connected' | 'closed';
  assignments(): AsyncIterableIterator<{ readonly tasks: ReadonlyMap<string, pb.Task> }>;
  reportTaskStatus(updates: pb.UpdateTaskStatusRequest_TaskStatusUpdate[]): Promise<void>;
  close(): Promise<void>;
}

interface AgentModule {
  AgentSession: {
    start(options: {
      managers: readonly string[];
      credentials: grpc.ChannelCredentials;
      description: pb.NodeDescription;
      log: Logger;
      channelOptions?: grpc.ChannelOptions;
      maxRetryDelayMs?: number;
    }): Promise<AgentSessionLike>;
  };
}

/** Resolved at run time: see the top of this file. */
const AGENT_PACKAGE: string = '@shoal/agent';

/** Options of {@link SimulatedAgent.start}. */
export interface SimulatedAgentOptions {
  readonly hostname: string;
  /** Declared capacity. @default 4 CPUs, 8 GiB */
  readonly resources?: { readonly nanoCpus: number; readonly memoryBytes: number };
  /** Engine labels (`engine.labels.*` constraints). @default {} */
  readonly engineLabels?: Readonly<Record<string, string>>;
  /** Tasks for which the agent reports FAILED instead of RUNNING. @default none */
  readonly failOn?: (task: pb.Task) => boolean;
  /** Pause between report rounds: each round moves every task one state. @default 20 */
  readonly stepMs?: number;
  readonly log: Logger;
}

/** Where the agent stands with a task it was assigned. */
interface TaskProgress {
  task: pb.Task;
  /** The last state the managers acknowledged (or the store already had). */
  reported: pb.TaskState;
}

/**
 * A worker node without containers.
 *
 * @example
 * const agent = await SimulatedAgent.start(cluster, { hostname: 'worker-1', log });
 * agent.runningTaskIds(); // tasks this agent reported RUNNING and was not told to stop
 * await agent.stop();
 */
export class SimulatedAgent {
  readonly nodeId: string;
  readonly hostname: string;
  readonly #session: AgentSessionLike;
  readonly #options: SimulatedAgentOptions;
  readonly #progress = new Map<string, TaskProgress>();
  /** Reports sent and acknowledged, for tests that count them. */
  #reportsSent = 0;
  #stopped = false;
  #wake: (() => void) | undefined;
  #loops: Promise<unknown>[] = [];

  private constructor(nodeId: string, session: AgentSessionLike, options: SimulatedAgentOptions) {
    this.nodeId = nodeId;
    this.hostname = options.hostname;
    this.#session = session;
    this.#options = options;
  }

  /** Joins as a worker and opens a session; resolves once the session is open. */
  static async start(target: JoinTarget, options: SimulatedAgentOptions): Promise<SimulatedAgent> {
    const description = pb.NodeDescription.fromPartial({
      hostname: options.hostname,
      os: 'linux',
      arch: 'x64',
      resources: options.resources ?? { nanoCpus: 4e9, memoryBytes: 8 * 2 ** 30 },
      engine: { engineVersion: 'simulated', labels: { ...(options.engineLabels ?? {}) } },
    });
    const { nodeId, tls } = await joinNode({
      joinAddr: target.joinAddr,
      token: target.workerToken,
      description,
    });
    const { AgentSession } = (await import(AGENT_PACKAGE)) as AgentModule;
    const session = await AgentSession.start({
      managers: target.managerAddrs(),
      credentials: nodeChannelCredentials(tls),
      channelOptions: MANAGER_CHANNEL_OPTIONS,
      description,
      log: options.log.child({ agent: options.hostname }),
      maxRetryDelayMs: 500,
    });
    const agent = new SimulatedAgent(nodeId, session, options);
    agent.#loops = [agent.#followAssignments(), agent.#reportLoop()];
    return agent;
  }

  /** Whether the session is open now. */
  get isConnected(): boolean {
    return this.#session.state === 'connected';
  }

  /** Report rounds the managers acknowledged. */
  get reportsSent(): number {
    return this.#reportsSent;
  }

  /** IDs of tasks this agent reported RUNNING and still runs (not told to stop). */
  runningTaskIds(): string[] {
    return [...this.#progress.values()]
      .filter(
        (p) => p.reported === S.TASK_STATE_RUNNING && p.task.desiredState <= S.TASK_STATE_RUNNING,
      )
      .map((p) => p.task.id);
  }

  /** How many tasks the managers assign to this node now. */
  assignedTaskCount(): number {
    return this.#progress.size;
  }

  /** Ends the session, as a node that dies: its managers then mark it Down. Safe twice. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#wake?.();
    await this.#session.close();
    await Promise.all(this.#loops);
  }

  async #followAssignments(): Promise<void> {
    try {
      for await (const set of this.#session.assignments()) {
        if (this.#stopped) return;
        for (const id of [...this.#progress.keys()])
          if (!set.tasks.has(id)) this.#progress.delete(id);
        for (const [id, task] of set.tasks) {
          const known = this.#progress.get(id);
          const stored = task.status?.state ?? S.TASK_STATE_NEW;
          // The store may be ahead of what we saw acknowledged (a report whose answer
          // was lost in a failover landed all the same): never step back.
          if (known) {
            known.task = task;
            if (stored > known.reported) known.reported = stored;
          } else {
            this.#progress.set(id, { task, reported: stored });
          }
        }
        this.#wake?.();
      }
    } catch (error) {
      if (!this.#stopped) this.#options.log.warn({ err: error }, 'assignments ended');
    }
  }

  /** The next state to report for `p`, or undefined when there is nothing to say. */
  #nextState(p: TaskProgress): pb.TaskState | undefined {
    const { task, reported } = p;
    const ended = reported >= S.TASK_STATE_COMPLETE;
    if (task.desiredState >= S.TASK_STATE_SHUTDOWN)
      return ended ? undefined : S.TASK_STATE_SHUTDOWN;
    if (ended) return undefined;
    // Desired READY: prepare, then wait to be told to start.
    const limit = task.desiredState;
    const next = START_STEPS.find((state) => state > reported);
    if (next === undefined || next > limit) return undefined;
    if (next === S.TASK_STATE_RUNNING && this.#options.failOn?.(task)) return S.TASK_STATE_FAILED;
    return next;
  }

  /** Each round reports one step of every task that has one, then waits for news. */
  async #reportLoop(): Promise<void> {
    const stepMs = this.#options.stepMs ?? 20;
    while (!this.#stopped) {
      const updates: pb.UpdateTaskStatusRequest_TaskStatusUpdate[] = [];
      const steps: [TaskProgress, pb.TaskState][] = [];
      for (const p of this.#progress.values()) {
        const state = this.#nextState(p);
        if (state === undefined) continue;
        steps.push([p, state]);
        updates.push({
          taskId: p.task.id,
          status: {
            timestamp: new Date(),
            state,
            message: STATE_MESSAGES.get(state) ?? '',
            err: state === S.TASK_STATE_FAILED ? 'task: non-zero exit (1): simulated failure' : '',
            container:
              state === S.TASK_STATE_FAILED
                ? { containerId: `sim-${p.task.id}`, pid: 0, exitCode: 1 }
                : undefined,
          },
        });
      }
      if (updates.length === 0) {
        await this.#sleep(1000);
        continue;
      }
      try {
        for (let i = 0; i < updates.length; i += 500) {
          await this.#session.reportTaskStatus(updates.slice(i, i + 500));
        }
        for (const [p, state] of steps) if (state > p.reported) p.reported = state;
        this.#reportsSent++;
        await this.#sleep(stepMs);
      } catch (error) {
        // No session (failover, reconnect) or a refused batch: the same steps go again.
        if (this.#stopped) return;
        this.#options.log.debug({ err: error }, 'status report failed: trying again');
        await this.#sleep(100);
      }
    }
  }

  /** Waits `ms`, or less when new assignments or `stop()` come. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = undefined;
        done();
      };
    });
  }
}
