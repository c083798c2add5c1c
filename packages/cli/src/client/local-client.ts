// The CLI's side of the Local API: one daemon, reached over its unix socket, every call
// with a deadline, every failure turned into a ShoalError that says what to do.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { type Client, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { fromServiceError, isServiceError, pb, ShoalError } from '@shoal/api';
import type { DaemonAddress } from '../parse.js';
import type { ControlCalls, LocalApiClient } from './cli-context.js';

/** How long one Local API call may take before the CLI gives up. */
export const LOCAL_CALL_TIMEOUT_MS = 60_000;

type Unary<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: { deadline: Date },
  callback: (error: ServiceError | null, response: Res) => void,
) => unknown;

/** A connection to the local daemon. */
export class LocalClient implements LocalApiClient {
  readonly #local: pb.LocalClient;
  readonly #controlClient: pb.ControlClient;
  readonly #address: DaemonAddress;
  readonly control: ControlCalls;

  private constructor(address: DaemonAddress) {
    this.#address = address;
    this.#local = new pb.LocalClient(address.url, credentials.createInsecure());
    this.#controlClient = new pb.ControlClient(address.url, credentials.createInsecure());
    const control = this.#controlClient;
    this.control = {
      listNodes: (r) => this.#call(control, control.listNodes, r),
      getNode: (r) => this.#call(control, control.getNode, r),
      updateNode: (r) => this.#call(control, control.updateNode, r),
      removeNode: (r) => this.#call(control, control.removeNode, r),
      getCluster: (r) => this.#call(control, control.getCluster, r),
      updateCluster: (r) => this.#call(control, control.updateCluster, r),
      getService: (r) => this.#call(control, control.getService, r),
      listServices: (r) => this.#call(control, control.listServices, r),
      createService: (r) => this.#call(control, control.createService, r),
      updateService: (r) => this.#call(control, control.updateService, r),
      removeService: (r) => this.#call(control, control.removeService, r),
      getTask: (r) => this.#call(control, control.getTask, r),
      listTasks: (r) => this.#call(control, control.listTasks, r),
      serviceLogs: (r, options) => this.#serviceLogs(r, options?.signal),
    };
  }

  /** Checks the socket can be opened, then connects. */
  static async connect(address: DaemonAddress): Promise<LocalClient> {
    try {
      await access(address.socketPath, constants.R_OK | constants.W_OK);
    } catch (error) {
      throw socketError(address, (error as NodeJS.ErrnoException).code, error);
    }
    return new LocalClient(address);
  }

  version(): Promise<pb.VersionResponse> {
    return this.#call(this.#local, this.#local.version, {});
  }

  info(): Promise<pb.InfoResponse> {
    return this.#call(this.#local, this.#local.info, {});
  }

  swarmInit(request: pb.SwarmInitRequest): Promise<pb.SwarmInitResponse> {
    return this.#call(this.#local, this.#local.swarmInit, request);
  }

  swarmJoin(request: pb.SwarmJoinRequest): Promise<pb.SwarmJoinResponse> {
    return this.#call(this.#local, this.#local.swarmJoin, request);
  }

  swarmLeave(request: pb.SwarmLeaveRequest): Promise<pb.SwarmLeaveResponse> {
    return this.#call(this.#local, this.#local.swarmLeave, request);
  }

  close(): void {
    this.#local.close();
    this.#controlClient.close();
  }

  /**
   * A server stream without a deadline (`-f` runs until interrupted); `signal` cancels
   * it, and so does leaving the loop early.
   */
  async *#serviceLogs(
    request: pb.ServiceLogsRequest,
    signal: AbortSignal | undefined,
  ): AsyncIterable<pb.LogMessage> {
    if (signal?.aborted) return;
    const call = this.#controlClient.serviceLogs(request);
    const onAbort = () => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const message of call as AsyncIterable<pb.LogMessage>) yield message;
    } catch (error) {
      if (signal?.aborted) return;
      throw this.#failure(error);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      call.cancel();
    }
  }

  #failure(error: unknown): unknown {
    if (
      isServiceError(error) &&
      error.code === status.UNAVAILABLE &&
      /connect|ECONNREFUSED|EACCES|ENOENT/.test(error.details)
    ) {
      const code = /EACCES/.test(error.details) ? 'EACCES' : 'ECONNREFUSED';
      return socketError(this.#address, code, error);
    }
    return isServiceError(error) ? fromServiceError(error) : error;
  }

  #call<Req, Res>(client: Client, method: Unary<Req, Res>, request: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      const deadline = new Date(Date.now() + LOCAL_CALL_TIMEOUT_MS);
      method.call(client, request, new Metadata(), { deadline }, (error, response) => {
        if (!error) return resolve(response);
        reject(this.#failure(error));
      });
    });
  }
}

function socketError(
  address: DaemonAddress,
  errno: string | undefined,
  cause: unknown,
): ShoalError {
  switch (errno) {
    case 'ENOENT':
      return new ShoalError(
        'SHOAL_DAEMON_UNREACHABLE',
        `Cannot connect to the Shoal daemon at ${address.url}: no such socket; is shoald running?`,
        { cause },
      );
    case 'EACCES':
    case 'EPERM':
      return new ShoalError(
        'SHOAL_PERMISSION_DENIED',
        `Permission denied while connecting to the Shoal daemon at ${address.url}: run shoal as root`,
        { cause },
      );
    default:
      return new ShoalError(
        'SHOAL_DAEMON_UNREACHABLE',
        `Cannot connect to the Shoal daemon at ${address.url}: the socket refuses connections; is shoald running?`,
        { cause },
      );
  }
}
