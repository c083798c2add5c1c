// What the scale benchmark's processes say to each other over their IPC channels.

/** The parent's orders to a manager process. */
export type ToManager =
  | {
      readonly type: 'start';
      readonly raftDir: string;
      readonly nodeId: string;
      readonly raftId: number;
      readonly clusterId: string;
      readonly addr: string;
      readonly rootCaPem: string;
      readonly certPem: string;
      readonly keyPem: string;
      /** pb.Cluster and pb.Node, protobuf-encoded then base64, for the first manager. */
      readonly bootstrap?: { readonly cluster: string; readonly node: string };
      /** Raft ID -> address, for a joining manager. */
      readonly peers?: readonly (readonly [number, string])[];
    }
  | { readonly type: 'status' }
  | { readonly type: 'stop' };

/** A manager process's answers. */
export type FromManager =
  | { readonly type: 'ready' }
  | {
      readonly type: 'status';
      readonly isLeader: boolean;
      readonly voters: number;
      /** process.memoryUsage(), MiB: where a peak comes from. */
      readonly memory: {
        readonly rss: number;
        readonly heapTotal: number;
        readonly heapUsed: number;
        readonly external: number;
      };
    }
  | { readonly type: 'failed'; readonly message: string };

/** The parent's orders to an agent process. */
export type ToAgents =
  | {
      readonly type: 'start';
      readonly joinAddr: string;
      readonly workerToken: string;
      readonly managerAddrs: readonly string[];
      readonly hostnamePrefix: string;
      readonly count: number;
      /** Joins in flight at once (each costs a key pair and a CA signature). */
      readonly concurrency: number;
    }
  | { readonly type: 'stop' };

/** An agent process's reports. */
export type FromAgents =
  | { readonly type: 'joined'; readonly joined: number; readonly connected: number }
  | { readonly type: 'ready' }
  | {
      readonly type: 'running';
      /** Tasks reported RUNNING (and acknowledged) and not told to stop. */
      readonly running: number;
      /** Tasks in the agents' assignment sets. */
      readonly assigned: number;
    }
  | { readonly type: 'failed'; readonly message: string };
