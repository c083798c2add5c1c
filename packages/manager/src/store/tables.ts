// The store's tables and the object kinds they hold, with the one place that maps a
// table to its protobuf type and a StoreObject to its table.
import type { pb } from '@shoal/api';

/** Every table of the store, in the order snapshots list them. */
export const TABLES = ['nodes', 'services', 'tasks', 'networks', 'clusters'] as const;
export type TableName = (typeof TABLES)[number];

/** The object kind each table holds. */
export interface TableObjects {
  nodes: pb.Node;
  services: pb.Service;
  tasks: pb.Task;
  networks: pb.Network;
  clusters: pb.Cluster;
}

/** Any stored object. */
export type StoredObject = TableObjects[TableName];

/** An object tagged with its table: what actions and events carry. */
export type TableEntry = {
  [T in TableName]: { readonly table: T; readonly object: TableObjects[T] };
}[TableName];

const ONEOF_TO_TABLE = {
  node: 'nodes',
  service: 'services',
  task: 'tasks',
  network: 'networks',
  cluster: 'clusters',
} as const satisfies Record<NonNullable<pb.StoreObject['object']>['$case'], TableName>;

/** The table and object a wire StoreObject holds. */
export function entryFromWire(object: pb.StoreObject | undefined): TableEntry | undefined {
  const inner = object?.object;
  if (!inner) return undefined;
  switch (inner.$case) {
    case 'node':
      return { table: ONEOF_TO_TABLE.node, object: inner.node };
    case 'service':
      return { table: ONEOF_TO_TABLE.service, object: inner.service };
    case 'task':
      return { table: ONEOF_TO_TABLE.task, object: inner.task };
    case 'network':
      return { table: ONEOF_TO_TABLE.network, object: inner.network };
    case 'cluster':
      return { table: ONEOF_TO_TABLE.cluster, object: inner.cluster };
  }
}

/** The wire form of a table entry. */
export function entryToWire(entry: TableEntry): pb.StoreObject {
  switch (entry.table) {
    case 'nodes':
      return { object: { $case: 'node', node: entry.object } };
    case 'services':
      return { object: { $case: 'service', service: entry.object } };
    case 'tasks':
      return { object: { $case: 'task', task: entry.object } };
    case 'networks':
      return { object: { $case: 'network', network: entry.object } };
    case 'clusters':
      return { object: { $case: 'cluster', cluster: entry.object } };
  }
}

/** Tables whose objects carry a user-chosen name that must be unique. */
export const UNIQUE_NAME_TABLES: ReadonlySet<TableName> = new Set([
  'services',
  'networks',
  'clusters',
]);

/** The user-facing name of an object, if its kind has one. */
export function nameOf(entry: TableEntry): string | undefined {
  switch (entry.table) {
    case 'services':
    case 'networks':
    case 'clusters':
      return entry.object.spec?.annotations?.name;
    case 'nodes':
      return entry.object.description?.hostname;
    case 'tasks':
      return undefined;
  }
}
