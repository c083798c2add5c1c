// Finding an object the way Docker's CLI lets users name it: full ID, unique ID prefix,
// or name (hostname for nodes). An ambiguous prefix is refused, never guessed.
import { ShoalError } from '@shoal/api';
import type { MemoryStore } from '../store/memory-store.js';
import { nameOf, type TableEntry, type TableName, type TableObjects } from '../store/tables.js';

const WHAT: Readonly<Record<TableName, string>> = {
  nodes: 'node',
  services: 'service',
  tasks: 'task',
  networks: 'network',
  clusters: 'cluster',
};

/** The object `reference` names in `table`, or a NOT_FOUND / INVALID_ARGUMENT error. */
export function resolveObject<T extends TableName>(
  state: MemoryStore,
  table: T,
  reference: string,
  action: string,
): TableObjects[T] {
  const what = WHAT[table];
  if (!reference) {
    throw new ShoalError(
      'SHOAL_INVALID_ARGUMENT',
      `${action}: no ${what} named: give an ID or a name`,
    );
  }
  const exact = state.get(table, reference);
  if (exact) return exact;
  const byName = state.list(
    table,
    (object) => nameOf({ table, object } as TableEntry) === reference,
  );
  if (byName.length === 1) return byName[0]!;
  const byPrefix = state.byIdPrefix(table, reference);
  if (byPrefix.length === 1) return byPrefix[0]!;
  if (byPrefix.length > 1 || byName.length > 1) {
    throw new ShoalError(
      'SHOAL_INVALID_ARGUMENT',
      `${action}: "${reference}" is ambiguous: it matches ${byPrefix.length + byName.length} ${what}s; give more of the ID`,
    );
  }
  throw new ShoalError('SHOAL_NOT_FOUND', `${action}: no such ${what}: "${reference}"`);
}
