// The CLI's side of the Local API: one daemon, reached over its unix socket, every call
// with a deadline, every failure turned into a ShoalError that says what to do.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { fromServiceError, isServiceError, pb, ShoalError } from '@shoal/api';
import type { DaemonAddress } from '../parse.js';

/** How long one Local API call may take before the CLI gives up. */
export const LOCAL_CALL_TIMEOUT_MS = 30_000;

/** A connection to the local daemon. */
export class LocalClient {
  readonly #client: pb.LocalClient;
  readonly #address: DaemonAddress;

  private constructor(client: pb.LocalClient, address: DaemonAddress) {
    this.#client = client;
    this.#address = address;
  }

  /** Checks the socket can be opened, then connects. */
  static async connect(address: DaemonAddress): Promise<LocalClient> {
    try {
      await access(address.socketPath, constants.R_OK | constants.W_OK);
    } catch (error) {
      throw socketError(address, (error as NodeJS.ErrnoException).code, error);
    }
    const client = new pb.LocalClient(address.url, credentials.createInsecure());
    return new LocalClient(client, address);
  }

  version(): Promise<pb.VersionResponse> {
    return this.#call(
      (request, callback) =>
        this.#client.version(request, new Metadata(), { deadline: deadline() }, callback),
      {},
    );
  }

  info(): Promise<pb.InfoResponse> {
    return this.#call(
      (request, callback) =>
        this.#client.info(request, new Metadata(), { deadline: deadline() }, callback),
      {},
    );
  }

  close(): void {
    this.#client.close();
  }

  #call<Req, Res>(
    invoke: (request: Req, callback: (error: ServiceError | null, response: Res) => void) => void,
    request: Req,
  ): Promise<Res> {
    return new Promise((resolve, reject) => {
      invoke(request, (error, response) => {
        if (!error) return resolve(response);
        if (isServiceError(error) && error.code === status.UNAVAILABLE) {
          const code = /EACCES/.test(error.details) ? 'EACCES' : 'ECONNREFUSED';
          return reject(socketError(this.#address, code, error));
        }
        reject(isServiceError(error) ? fromServiceError(error) : error);
      });
    });
  }
}

function deadline(): Date {
  return new Date(Date.now() + LOCAL_CALL_TIMEOUT_MS);
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
