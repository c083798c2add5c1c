// The daemon's wiring: data directory, node identity and the Local API. The manager and
// agent components join here as the issues that build them land.
import { mkdir } from 'node:fs/promises';
import { loadOrCreateNodeIdentity } from '@shoal/agent';
import { pb } from '@shoal/api';
import { controlService } from '@shoal/manager';
import type { Logger } from 'pino';
import { versionInfo } from '../version.js';
import type { CompiledDaemonOptions } from './daemon-options.js';
import { type DataDirLock, lockDataDir } from './data-dir-lock.js';
import { type LocalApi, LocalServer } from './local-server.js';
import { SwarmNode } from './swarm-node.js';

/** `running` -> `draining` -> `closed`; closing from `running` skips draining. */
export type DaemonState = 'running' | 'draining' | 'closed';

/** A running shoald. */
export class Daemon {
  readonly #options: CompiledDaemonOptions;
  readonly #log: Logger;
  readonly #lock: DataDirLock;
  #local: LocalServer | undefined;
  #swarm!: SwarmNode;
  #state: DaemonState = 'running';
  readonly #closed: Promise<string>;
  #resolveClosed!: (reason: string) => void;

  private constructor(options: CompiledDaemonOptions, log: Logger, lock: DataDirLock) {
    this.#options = options;
    this.#log = log;
    this.#lock = lock;
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  /** Starts the daemon; resolves once the Local API answers. */
  static async create(options: CompiledDaemonOptions, log: Logger): Promise<Daemon> {
    await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
    const lock = await lockDataDir(options.dataDir);
    try {
      const identity = await loadOrCreateNodeIdentity(options.dataDir);
      const daemon = new Daemon(options, log.child({ nodeId: identity.nodeId }), lock);
      daemon.#swarm = await SwarmNode.open(options, daemon.#log, identity.nodeId);
      daemon.#local = await LocalServer.listen(
        options.socket,
        daemon.#localApi(),
        daemon.#log.child({ component: 'local-api' }),
      );
      daemon.#log.info(
        { hostname: options.hostname, dataDir: options.dataDir, version: versionInfo().version },
        'shoald started',
      );
      return daemon;
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  get state(): DaemonState {
    return this.#state;
  }

  /** Finishes what is in flight for up to `graceMs`, then closes. */
  async drain({ graceMs }: { graceMs: number }): Promise<void> {
    if (this.#state !== 'running') return;
    this.#transition('draining');
    await this.#local?.drain({ graceMs });
    await this.#swarm.close();
    await this.close('drained');
  }

  /** Closes at once; safe to call twice. */
  async close(reason = 'closed'): Promise<void> {
    if (this.#state === 'closed') return;
    this.#local?.close();
    await this.#swarm?.close();
    await this.#lock.release();
    this.#transition('closed');
    this.#log.info({ reason }, 'shoald stopped');
    this.#resolveClosed(reason);
  }

  /** Resolves with the reason once the daemon has closed. */
  closed(): Promise<string> {
    return this.#closed;
  }

  #transition(to: DaemonState): void {
    this.#log.debug({ from: this.#state, to }, 'daemon state');
    this.#state = to;
  }

  #localApi(): LocalApi {
    const swarm = () => this.#swarm;
    return {
      version: async () => ({ daemon: versionInfo() }),
      info: async () => {
        const node = swarm();
        const facts = node.isManager
          ? node.clusterFacts()
          : { managers: 0, nodes: 0, managerAddrs: [] };
        return {
          nodeId: node.nodeId,
          hostname: this.#options.hostname,
          swarmState:
            node.state === 'active'
              ? pb.LocalNodeState.LOCAL_NODE_STATE_ACTIVE
              : pb.LocalNodeState.LOCAL_NODE_STATE_INACTIVE,
          controlAvailable: node.isManager,
          clusterId: node.clusterId,
          nodeAddr: node.advertiseAddr,
          resources: {
            nanoCpus: this.#options.capacityNanoCpus,
            memoryBytes: this.#options.capacityMemoryBytes,
          },
          dataDir: this.#options.dataDir,
          version: versionInfo(),
          ...facts,
          error: '',
        };
      },
      swarmInit: (request) => swarm().init(request),
      swarmJoin: (request) => swarm().join(request),
      swarmLeave: async (request) => {
        await swarm().leave(request);
        return {};
      },
      controlService: () =>
        controlService(() => swarm().control(), this.#log.child({ component: 'local-control' }), {
          logs: () => swarm().logs(),
        }),
    };
  }
}
