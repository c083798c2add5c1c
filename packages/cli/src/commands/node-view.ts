// How nodes look to users: the `node ls` row (Docker's columns and words) and the
// `node inspect` document (Docker's field names).
import { pb } from '@shoal/api';

const STATE_WORDS: Partial<Record<pb.NodeStatus_State, string>> = {
  [pb.NodeStatus_State.STATE_UNKNOWN]: 'Unknown',
  [pb.NodeStatus_State.STATE_DOWN]: 'Down',
  [pb.NodeStatus_State.STATE_READY]: 'Ready',
  [pb.NodeStatus_State.STATE_DISCONNECTED]: 'Disconnected',
};

const AVAILABILITY_WORDS: Partial<Record<pb.NodeAvailability, string>> = {
  [pb.NodeAvailability.NODE_AVAILABILITY_ACTIVE]: 'Active',
  [pb.NodeAvailability.NODE_AVAILABILITY_PAUSE]: 'Pause',
  [pb.NodeAvailability.NODE_AVAILABILITY_DRAIN]: 'Drain',
};

/** Docker's MANAGER STATUS words: Leader, Reachable, Unreachable; empty for workers. */
export function managerStatusWord(node: pb.Node): string {
  if (node.role !== pb.NodeRole.NODE_ROLE_MANAGER || !node.managerStatus) return '';
  if (node.managerStatus.leader) return 'Leader';
  switch (node.managerStatus.reachability) {
    case pb.ManagerStatus_Reachability.REACHABILITY_REACHABLE:
      return 'Reachable';
    case pb.ManagerStatus_Reachability.REACHABILITY_UNREACHABLE:
      return 'Unreachable';
    default:
      return 'Unknown';
  }
}

/** One `node ls` row; `self` marks the node the CLI runs on. */
export interface NodeRow {
  ID: string;
  Self: boolean;
  Hostname: string;
  Status: string;
  Availability: string;
  ManagerStatus: string;
  EngineVersion: string;
}

export function nodeRow(node: pb.Node, selfId: string): NodeRow {
  return {
    ID: node.id,
    Self: node.id === selfId,
    Hostname: node.description?.hostname ?? '',
    Status: STATE_WORDS[node.status?.state ?? pb.NodeStatus_State.STATE_UNKNOWN] ?? 'Unknown',
    Availability:
      AVAILABILITY_WORDS[node.spec?.availability ?? pb.NodeAvailability.NODE_AVAILABILITY_ACTIVE] ??
      'Unknown',
    ManagerStatus: managerStatusWord(node),
    EngineVersion: node.description?.engine?.engineVersion ?? '',
  };
}

/** The table columns of `node ls`, as Docker prints them. */
export const NODE_LS_HEADERS = [
  'ID',
  'HOSTNAME',
  'STATUS',
  'AVAILABILITY',
  'MANAGER STATUS',
  'ENGINE VERSION',
] as const;

export function nodeRowCells(row: NodeRow): string[] {
  return [
    row.Self ? `${row.ID} *` : row.ID,
    row.Hostname,
    row.Status,
    row.Availability,
    row.ManagerStatus,
    row.EngineVersion,
  ];
}

function roleWord(role: pb.NodeRole | undefined): string {
  return role === pb.NodeRole.NODE_ROLE_MANAGER ? 'manager' : 'worker';
}

/** The `node inspect` document, in Docker's shape. */
export function nodeInspectView(node: pb.Node) {
  return {
    ID: node.id,
    Version: { Index: node.meta?.version ?? 0 },
    CreatedAt: node.meta?.createdAt?.toISOString() ?? null,
    UpdatedAt: node.meta?.updatedAt?.toISOString() ?? null,
    Spec: {
      Labels: node.spec?.annotations?.labels ?? {},
      Role: roleWord(node.spec?.desiredRole),
      Availability: (AVAILABILITY_WORDS[node.spec?.availability ?? 0] ?? 'unknown').toLowerCase(),
    },
    Description: {
      Hostname: node.description?.hostname ?? '',
      Platform: { Architecture: node.description?.arch ?? '', OS: node.description?.os ?? '' },
      Resources: {
        NanoCPUs: node.description?.resources?.nanoCpus ?? 0,
        MemoryBytes: node.description?.resources?.memoryBytes ?? 0,
      },
      Engine: {
        EngineVersion: node.description?.engine?.engineVersion ?? '',
        Labels: node.description?.engine?.labels ?? {},
      },
    },
    Status: {
      State: (STATE_WORDS[node.status?.state ?? 0] ?? 'unknown').toLowerCase(),
      Message: node.status?.message ?? '',
      Addr: node.status?.addr ?? '',
    },
    ...(node.role === pb.NodeRole.NODE_ROLE_MANAGER && node.managerStatus
      ? {
          ManagerStatus: {
            Leader: node.managerStatus.leader,
            Reachability:
              managerStatusWord(node) === 'Leader'
                ? 'reachable'
                : managerStatusWord(node).toLowerCase(),
            Addr: node.managerStatus.addr,
          },
        }
      : {}),
  };
}

/** `node inspect --pretty`, as Docker lays it out. */
export function renderNodePretty(node: pb.Node): string {
  const view = nodeInspectView(node);
  const labels = Object.entries(view.Spec.Labels);
  const lines = [
    `ID:\t\t\t${view.ID}`,
    ...(labels.length ? ['Labels:', ...labels.map(([k, v]) => ` - ${k}=${v}`)] : []),
    `Hostname:\t\t${view.Description.Hostname}`,
    `Joined at:\t\t${view.CreatedAt ?? ''}`,
    'Status:',
    ` State:\t\t\t${STATE_WORDS[node.status?.state ?? 0] ?? 'Unknown'}`,
    ` Availability:\t\t${AVAILABILITY_WORDS[node.spec?.availability ?? 0] ?? 'Unknown'}`,
    ` Address:\t\t${view.Status.Addr}`,
    ...(view.ManagerStatus
      ? [
          'Manager Status:',
          ` Address:\t\t${view.ManagerStatus.Addr}`,
          ` Raft Status:\t\t${managerStatusWord(node)}`,
          ` Leader:\t\t${view.ManagerStatus.Leader ? 'Yes' : 'No'}`,
        ]
      : []),
    'Platform:',
    ` Operating System:\t${view.Description.Platform.OS}`,
    ` Architecture:\t\t${view.Description.Platform.Architecture}`,
    'Resources:',
    ` CPUs:\t\t\t${view.Description.Resources.NanoCPUs / 1e9}`,
    ` Memory:\t\t${(view.Description.Resources.MemoryBytes / 1024 ** 3).toFixed(2)}GiB`,
    `Engine Version:\t\t${view.Description.Engine.EngineVersion}`,
  ];
  return `${lines.join('\n')}\n`;
}
