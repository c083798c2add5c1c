// Errors of the replicated store. A rejected batch changes nothing on any member.
import { ShoalError } from '@shoal/api';
import type { TableName } from './tables.js';

/** A batch that cannot apply to the current state: the whole batch is refused. */
export class StoreConflictError extends ShoalError {
  override name = 'StoreConflictError';
  readonly table: TableName;
  readonly id: string;

  constructor(table: TableName, id: string, message: string) {
    super('SHOAL_FAILED_PRECONDITION', message);
    this.table = table;
    this.id = id;
  }
}

/** A watch asked to resume from a version older than the history the store keeps. */
export class WatchCompactedError extends ShoalError {
  override name = 'WatchCompactedError';
  readonly fromVersion: number;
  readonly oldestVersion: number;

  constructor(fromVersion: number, oldestVersion: number) {
    super(
      'SHOAL_FAILED_PRECONDITION',
      `Resume watch: version ${fromVersion} is older than the history kept (from ${oldestVersion}): list again and watch from the listed version`,
    );
    this.fromVersion = fromVersion;
    this.oldestVersion = oldestVersion;
  }
}

/** A watcher that fell too far behind and was closed; it may resume from its last version. */
export class WatchOverflowError extends ShoalError {
  override name = 'WatchOverflowError';

  constructor(capacity: number, lastVersion: number) {
    super(
      'SHOAL_ABORTED',
      `Watch: more than ${capacity} events waited for a slow reader: resume from version ${lastVersion}`,
    );
  }
}
