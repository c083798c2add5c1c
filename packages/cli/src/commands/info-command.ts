// `shoal info`: this node and its swarm membership, as `docker info` shows the Swarm part.
import { pb } from '@shoal/api';
import { Command } from 'commander';
import { type CliIo, withDaemon } from '../client/cli-context.js';
import { renderJson, withFormatOption } from '../client/output.js';

/** The JSON view of `shoal info`. */
export interface InfoView {
  nodeId: string;
  hostname: string;
  swarmState: string;
  controlAvailable: boolean;
  clusterId: string;
  nodeAddr: string;
  resources: { nanoCpus: number; memoryBytes: number };
  dataDir: string;
  version: string;
  /** Known on managers only: 0 elsewhere. */
  managers: number;
  nodes: number;
  managerAddresses: string[];
}

const SWARM_STATE_NAMES: Readonly<Record<pb.LocalNodeState, string>> = {
  [pb.LocalNodeState.LOCAL_NODE_STATE_INACTIVE]: 'inactive',
  [pb.LocalNodeState.LOCAL_NODE_STATE_PENDING]: 'pending',
  [pb.LocalNodeState.LOCAL_NODE_STATE_ACTIVE]: 'active',
  [pb.LocalNodeState.LOCAL_NODE_STATE_ERROR]: 'error',
  [pb.LocalNodeState.LOCAL_NODE_STATE_LOCKED]: 'locked',
  [pb.LocalNodeState.UNRECOGNIZED]: 'unknown',
};

/** Maps the Local API's answer to what users see. */
export function infoView(info: pb.InfoResponse): InfoView {
  return {
    nodeId: info.nodeId,
    hostname: info.hostname,
    swarmState: SWARM_STATE_NAMES[info.swarmState] ?? 'unknown',
    controlAvailable: info.controlAvailable,
    clusterId: info.clusterId,
    nodeAddr: info.nodeAddr,
    resources: {
      nanoCpus: info.resources?.nanoCpus ?? 0,
      memoryBytes: info.resources?.memoryBytes ?? 0,
    },
    dataDir: info.dataDir,
    version: info.version?.version ?? '',
    managers: info.managers,
    nodes: info.nodes,
    managerAddresses: info.managerAddrs,
  };
}

function renderInfo(view: InfoView): string {
  const gib = (view.resources.memoryBytes / 1024 ** 3).toFixed(2);
  return [
    `Node ID: ${view.nodeId}`,
    `Hostname: ${view.hostname}`,
    `Swarm: ${view.swarmState}`,
    ...(view.swarmState === 'active'
      ? [
          ` Cluster ID: ${view.clusterId}`,
          ` Is Manager: ${view.controlAvailable}`,
          ...(view.controlAvailable
            ? [` Managers: ${view.managers}`, ` Nodes: ${view.nodes}`]
            : []),
          ` Node Address: ${view.nodeAddr}`,
          ...(view.managerAddresses.length
            ? [' Manager Addresses:', ...view.managerAddresses.map((a) => `  ${a}`)]
            : []),
        ]
      : []),
    `CPUs: ${view.resources.nanoCpus / 1e9}`,
    `Total Memory: ${gib}GiB`,
    `Shoal Root Dir: ${view.dataDir}`,
    `Server Version: ${view.version}`,
    '',
  ].join('\n');
}

/** Builds the `info` command. */
export function infoCommand(io: CliIo): Command {
  const command = new Command('info').description('Show this node and its swarm state');
  return withFormatOption(command).action(async (options: { format: string }, self: Command) => {
    const view = infoView(await withDaemon(self, io, (client) => client.info()));
    io.out(options.format === 'json' ? renderJson(view) : renderInfo(view));
  });
}
