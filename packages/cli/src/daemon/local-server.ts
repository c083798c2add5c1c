// The Local API server: gRPC over a unix socket that only root can open. The CLI on the
// same host talks to its daemon through it; nothing else listens on it.
import { chmod, mkdir, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { Server, ServerCredentials, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { pb, ShoalError, unary } from '@shoal/api';
import type { Logger } from 'pino';

/** What the Local API answers; the daemon implements it. */
export interface LocalApi {
  version(): Promise<pb.VersionResponse>;
  info(): Promise<pb.InfoResponse>;
  swarmInit(request: pb.SwarmInitRequest): Promise<pb.SwarmInitResponse>;
  swarmJoin(request: pb.SwarmJoinRequest): Promise<pb.SwarmJoinResponse>;
  swarmLeave(request: pb.SwarmLeaveRequest): Promise<pb.SwarmLeaveResponse>;
  /** The Control service for the local CLI: the manager's own, or one that explains why not. */
  controlService(): UntypedServiceImplementation;
}

type State = 'listening' | 'draining' | 'closed';

/** The daemon's unix-socket gRPC server for the CLI. */
export class LocalServer {
  readonly #server: Server;
  readonly #socketPath: string;
  readonly #log: Logger;
  #state: State = 'listening';

  private constructor(server: Server, socketPath: string, log: Logger) {
    this.#server = server;
    this.#socketPath = socketPath;
    this.#log = log;
  }

  /** Binds `socketPath` (refusing one a live daemon holds) and serves `api` on it. */
  static async listen(socketPath: string, api: LocalApi, log: Logger): Promise<LocalServer> {
    await removeStaleSocket(socketPath);
    await mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
    const server = new Server();
    server.addService(pb.LocalService, implement(api, log));
    server.addService(pb.ControlService, api.controlService());
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (error) =>
        error ? reject(error) : resolve(),
      );
    });
    // Root-only: the Local API trusts whoever can open the socket.
    await chmod(socketPath, 0o600);
    log.info({ socket: socketPath }, 'local API listening');
    return new LocalServer(server, socketPath, log);
  }

  /** Lets calls in flight finish for up to `graceMs`, then closes and removes the socket. */
  async drain({ graceMs }: { graceMs: number }): Promise<void> {
    if (this.#state !== 'listening') return;
    this.#transition('draining');
    const graceful = new Promise<void>((resolve) => this.#server.tryShutdown(() => resolve()));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
      timer.unref();
    });
    if ((await Promise.race([graceful, timedOut])) === 'timeout') {
      this.#log.warn({ graceMs }, 'local API calls still running after the grace period: closing');
    }
    clearTimeout(timer);
    this.close();
  }

  /** Closes at once; safe to call twice. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#server.forceShutdown();
    this.#transition('closed');
    unlink(this.#socketPath).catch(() => {});
  }

  #transition(to: State): void {
    this.#log.debug({ from: this.#state, to }, 'local server state');
    this.#state = to;
  }
}

function implement(api: LocalApi, log: Logger): UntypedServiceImplementation {
  const onUnexpected = (error: unknown) => log.error({ err: error }, 'local API call failed');
  return {
    version: unary(() => api.version(), onUnexpected),
    info: unary(() => api.info(), onUnexpected),
    swarmInit: unary((r: pb.SwarmInitRequest) => api.swarmInit(r), onUnexpected),
    swarmJoin: unary((r: pb.SwarmJoinRequest) => api.swarmJoin(r), onUnexpected),
    swarmLeave: unary((r: pb.SwarmLeaveRequest) => api.swarmLeave(r), onUnexpected),
  };
}

/** A socket file left by a daemon that died is removed; one a live daemon serves is refused. */
async function removeStaleSocket(socketPath: string): Promise<void> {
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) {
    throw new ShoalError(
      'SHOAL_FAILED_PRECONDITION',
      `Start shoald: another daemon is serving "${socketPath}": stop it or pass another --socket`,
    );
  }
  await unlink(socketPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}
