// What every command of the shoal CLI is handed: where to write, which daemon to ask.
import type { pb } from '@shoal/api';
import type { Command } from 'commander';
import { type DaemonAddress, parseDaemonAddress } from '../parse.js';

/** The Control API calls the CLI makes through its daemon. */
export interface ControlCalls {
  listNodes(request: pb.ListNodesRequest): Promise<pb.ListNodesResponse>;
  getNode(request: pb.GetNodeRequest): Promise<pb.GetNodeResponse>;
  updateNode(request: pb.UpdateNodeRequest): Promise<pb.UpdateNodeResponse>;
  removeNode(request: pb.RemoveNodeRequest): Promise<pb.RemoveNodeResponse>;
  getCluster(request: pb.GetClusterRequest): Promise<pb.GetClusterResponse>;
  updateCluster(request: pb.UpdateClusterRequest): Promise<pb.UpdateClusterResponse>;
  getService(request: pb.GetServiceRequest): Promise<pb.GetServiceResponse>;
  listServices(request: pb.ListServicesRequest): Promise<pb.ListServicesResponse>;
  createService(request: pb.CreateServiceRequest): Promise<pb.CreateServiceResponse>;
  updateService(request: pb.UpdateServiceRequest): Promise<pb.UpdateServiceResponse>;
  removeService(request: pb.RemoveServiceRequest): Promise<pb.RemoveServiceResponse>;
  getTask(request: pb.GetTaskRequest): Promise<pb.GetTaskResponse>;
  listTasks(request: pb.ListTasksRequest): Promise<pb.ListTasksResponse>;
  /**
   * The tasks' output as the daemon's manager streams it (Control.ServiceLogs); ends
   * when the manager ends the call, or quietly when `signal` aborts. Optional so that
   * fakes without logs need not implement it.
   */
  serviceLogs?(
    request: pb.ServiceLogsRequest,
    options?: { signal?: AbortSignal },
  ): AsyncIterable<pb.LogMessage>;
}

/** The Local API calls the CLI makes; a LocalClient in production, a fake in tests. */
export interface LocalApiClient {
  version(): Promise<pb.VersionResponse>;
  info(): Promise<pb.InfoResponse>;
  swarmInit(request: pb.SwarmInitRequest): Promise<pb.SwarmInitResponse>;
  swarmJoin(request: pb.SwarmJoinRequest): Promise<pb.SwarmJoinResponse>;
  swarmLeave(request: pb.SwarmLeaveRequest): Promise<pb.SwarmLeaveResponse>;
  readonly control: ControlCalls;
  close(): void;
}

/** Time as the CLI's waiting commands see it; a fake in tests so they never wait. */
export interface CliClock {
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** The CLI's edges, injected so the program can be driven in tests. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly connect: (address: DaemonAddress) => Promise<LocalApiClient>;
  /**
   * Whether `out` is a terminal: progress is redrawn in place there, and printed as
   * plain lines otherwise (scripts, tests, pipes).
   * @default false
   */
  readonly isTty?: boolean;
  /**
   * The clock progress displays poll with.
   * @default the system clock and setTimeout
   */
  readonly clock?: CliClock;
}

/** The system clock; the default of `CliIo.clock`. */
export const SYSTEM_CLOCK: CliClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Default daemon address when neither `--host` nor `SHOAL_HOST` is set. */
export const DEFAULT_HOST = 'unix:///run/shoal/shoal.sock';

/** The daemon a command talks to: `--host`, else `SHOAL_HOST`, else the default socket. */
export function daemonAddress(command: Command, io: CliIo): DaemonAddress {
  const host = command.optsWithGlobals<{ host?: string }>().host;
  return parseDaemonAddress(host ?? io.env.SHOAL_HOST ?? DEFAULT_HOST);
}

/** Connects to the command's daemon, runs `use`, and closes the connection. */
export async function withDaemon<T>(
  command: Command,
  io: CliIo,
  use: (client: LocalApiClient) => Promise<T>,
): Promise<T> {
  const client = await io.connect(daemonAddress(command, io));
  try {
    return await use(client);
  } finally {
    client.close();
  }
}
