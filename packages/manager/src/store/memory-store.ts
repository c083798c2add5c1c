// The store's state machine: tables of objects, changed only by applying batches in Raft
// order, so every manager that applies the same entries holds the same tables. Pure:
// no clock, no I/O; the proposer stamps times into objects before proposing.
import { pb } from '@shoal/api';
import { StoreConflictError, WatchCompactedError } from './store-errors.js';
import { type EventFilter, type StoreEvent, Watcher } from './store-watch.js';
import {
  entryFromWire,
  nameOf,
  TABLES,
  type TableEntry,
  type TableName,
  type TableObjects,
  UNIQUE_NAME_TABLES,
} from './tables.js';
import { withTaskStatus } from './task-status.js';

/** How the store is tuned; every field is optional. */
export interface MemoryStoreOptions {
  /** Events kept so watches can resume. @default 10_000 */
  historyEvents?: number;
  /** Events a watcher may lag before it is closed. @default 10_000 */
  watchCapacity?: number;
}

/**
 * Sends each event only to the watchers whose key it names. A filter costs one call per
 * event per watcher, which for 1,000 agents' assignments streams and a burst of 40,000
 * task updates is 40 million calls on the leader; a router costs one call per event.
 */
export interface WatchRouter {
  /**
   * Learns the state that the events to come apply to: called when the store starts
   * routing through it (its first watcher) and after a snapshot replaced the state.
   */
  reset(state: MemoryStore): void;
  /** The keys of the watchers that get `event`, each once; `all` for every watcher. */
  keysOf(event: StoreEvent): readonly string[] | 'all';
}

/** What a watch sees. */
export interface WatchOptions {
  /** Resume after this version; the current version when omitted. */
  readonly fromVersion?: number;
  /** Only the events this accepts; all when omitted. */
  readonly filter?: EventFilter;
  /** Only the events `router` sends to `key`. Starts at the current version. */
  readonly route?: { readonly router: WatchRouter; readonly key: string };
}

/** What applying one batch did. */
export type ApplyResult =
  | { readonly ok: true; readonly version: number; readonly proposalId: string }
  | {
      readonly ok: false;
      readonly version: number;
      readonly proposalId: string;
      readonly error: StoreConflictError;
    };

type Tables = { [T in TableName]: Map<string, TableObjects[T]> };

function emptyTables(): Tables {
  return {
    nodes: new Map(),
    services: new Map(),
    tasks: new Map(),
    networks: new Map(),
    clusters: new Map(),
  };
}

const ACTION_TYPES = {
  [pb.StoreAction_Kind.KIND_CREATE]: 'create',
  [pb.StoreAction_Kind.KIND_UPDATE]: 'update',
  [pb.StoreAction_Kind.KIND_DELETE]: 'delete',
} as const;

/**
 * In-memory tables with a version counter (the Raft index of the last applied entry),
 * watches that resume from a version, and snapshots of the whole store.
 *
 * Objects handed out are the stored ones: treat them as read-only.
 */
export class MemoryStore {
  #tables: Tables = emptyTables();
  #version = 0;
  #history: StoreEvent[] = [];
  /** The oldest version a watch can resume from (events after it are all in history). */
  #historyFrom = 0;
  readonly #historyEvents: number;
  readonly #watchCapacity: number;
  readonly #watchers = new Set<Watcher>();
  /** Routed watchers, by router and key. */
  readonly #routes = new Map<WatchRouter, Map<string, Set<Watcher>>>();

  constructor(options: MemoryStoreOptions = {}) {
    this.#historyEvents = options.historyEvents ?? 10_000;
    this.#watchCapacity = options.watchCapacity ?? 10_000;
    if (!Number.isInteger(this.#historyEvents) || this.#historyEvents < 1) {
      throw new RangeError(
        `Invalid historyEvents ${this.#historyEvents}: must be a whole number of at least 1`,
      );
    }
    if (!Number.isInteger(this.#watchCapacity) || this.#watchCapacity < 1) {
      throw new RangeError(
        `Invalid watchCapacity ${this.#watchCapacity}: must be a whole number of at least 1`,
      );
    }
  }

  /** The Raft index of the last entry applied. */
  get version(): number {
    return this.#version;
  }

  get<T extends TableName>(table: T, id: string): TableObjects[T] | undefined {
    return this.#tables[table].get(id) as TableObjects[T] | undefined;
  }

  list<T extends TableName>(
    table: T,
    filter?: (object: TableObjects[T]) => boolean,
  ): TableObjects[T][] {
    const all = [...(this.#tables[table].values() as IterableIterator<TableObjects[T]>)];
    return filter ? all.filter(filter) : all;
  }

  /** Objects of `table` whose ID starts with `prefix`. */
  byIdPrefix<T extends TableName>(table: T, prefix: string): TableObjects[T][] {
    return this.list(table, (object) => object.id.startsWith(prefix));
  }

  /**
   * Checks a batch against the current state without applying it, so a proposer can
   * refuse early; `apply` checks again, since other batches may land first.
   */
  check(batch: pb.StoreBatch): StoreConflictError | undefined {
    return this.#conflict(batch);
  }

  /**
   * Applies the batch Raft committed at `index`: all its actions or none. Objects
   * written get `meta.version = index`. Several batches may share an index (the Raft
   * driver puts the proposals of one cycle into one entry), so only an index below the
   * current version is a replay, and is ignored.
   */
  apply(index: number, batch: pb.StoreBatch): ApplyResult {
    if (index < this.#version) {
      return { ok: true, version: this.#version, proposalId: batch.proposalId };
    }
    const conflict = this.#conflict(batch);
    this.#version = index;
    if (conflict)
      return { ok: false, version: index, proposalId: batch.proposalId, error: conflict };
    const events: StoreEvent[] = [];
    for (const action of batch.actions) {
      if (action.kind === pb.StoreAction_Kind.KIND_TASK_STATUS) {
        const event = this.#applyTaskStatus(action.taskStatus!, index);
        if (event) events.push(event);
        continue;
      }
      const entry = entryFromWire(action.object)!;
      const type = ACTION_TYPES[action.kind as keyof typeof ACTION_TYPES];
      const table = this.#tables[entry.table] as Map<string, TableEntry['object']>;
      if (type === 'delete') {
        const old = table.get(entry.object.id)!;
        table.delete(entry.object.id);
        events.push({ type, table: entry.table, object: old, version: index } as StoreEvent);
      } else {
        const meta = entry.object.meta ?? {
          version: 0,
          createdAt: undefined,
          updatedAt: undefined,
        };
        const object = { ...entry.object, meta: { ...meta, version: index } };
        table.set(object.id, object);
        events.push({ type, table: entry.table, object, version: index } as StoreEvent);
      }
    }
    for (const event of events) this.#publish(event);
    return { ok: true, version: index, proposalId: batch.proposalId };
  }

  // A report for a task gone, rebound or already further on is stale, not a conflict:
  // every member skips it alike.
  #applyTaskStatus(change: pb.TaskStatusChange, index: number): StoreEvent | undefined {
    const tasks = this.#tables.tasks;
    const task = tasks.get(change.taskId);
    const next = task && change.status && withTaskStatus(task, change.nodeId, change.status);
    if (!next) return undefined;
    const object = { ...next, meta: { ...next.meta!, version: index } };
    tasks.set(object.id, object);
    return { type: 'update', table: 'tasks', object, version: index };
  }

  /** Applies an entry that holds no store batch (a Raft no-op or a membership change). */
  advanceTo(index: number): void {
    if (index > this.#version) this.#version = index;
  }

  /**
   * Watches changes after `fromVersion` (default: now). Resuming from an older version
   * replays the kept history first; one older than the history fails with
   * WatchCompactedError.
   */
  watch(options: WatchOptions = {}): AsyncIterableIterator<StoreEvent> {
    const fromVersion = options.fromVersion ?? this.#version;
    if (fromVersion < this.#historyFrom)
      throw new WatchCompactedError(fromVersion, this.#historyFrom);
    const route = options.route;
    if (route && fromVersion !== this.#version) {
      throw new RangeError(
        `Watch failed: a routed watch starts at the current version ${this.#version}: got ${fromVersion}`,
      );
    }
    const watcher = new Watcher({
      capacity: this.#watchCapacity,
      filter: options.filter ?? (() => true),
      fromVersion,
      onClose: (closed) => (route ? this.#unroute(closed, route) : this.#watchers.delete(closed)),
    });
    if (route) {
      let byKey = this.#routes.get(route.router);
      if (!byKey) {
        route.router.reset(this);
        byKey = new Map();
        this.#routes.set(route.router, byKey);
      }
      const watchers = byKey.get(route.key);
      if (watchers) watchers.add(watcher);
      else byKey.set(route.key, new Set([watcher]));
      return watcher;
    }
    for (const event of this.#history) if (event.version > fromVersion) watcher.push(event);
    this.#watchers.add(watcher);
    return watcher;
  }

  // A router without watchers stops being called, so it holds no state nobody reads; it
  // learns the state again (reset) when a watcher comes back.
  #unroute(watcher: Watcher, route: NonNullable<WatchOptions['route']>): void {
    const byKey = this.#routes.get(route.router);
    const watchers = byKey?.get(route.key);
    if (!byKey || !watchers) return;
    watchers.delete(watcher);
    if (watchers.size === 0) byKey.delete(route.key);
    if (byKey.size === 0) this.#routes.delete(route.router);
  }

  /** The whole store, serialised. */
  snapshot(): Uint8Array {
    return pb.StoreSnapshot.encode({
      version: this.#version,
      nodes: this.list('nodes'),
      services: this.list('services'),
      tasks: this.list('tasks'),
      networks: this.list('networks'),
      clusters: this.list('clusters'),
    }).finish();
  }

  /** Replaces the whole store with a snapshot; watchers get a `reset` event. */
  restore(data: Uint8Array): void {
    const snapshot = pb.StoreSnapshot.decode(data);
    const tables = emptyTables();
    for (const table of TABLES) {
      for (const object of snapshot[table])
        (tables[table] as Map<string, typeof object>).set(object.id, object);
    }
    this.#tables = tables;
    this.#version = snapshot.version;
    this.#history = [];
    this.#historyFrom = snapshot.version;
    const reset = { type: 'reset', version: snapshot.version } as const;
    for (const watcher of this.#watchers) watcher.push(reset);
    for (const [router, byKey] of this.#routes) {
      router.reset(this);
      for (const watchers of byKey.values()) for (const watcher of watchers) watcher.push(reset);
    }
  }

  #publish(event: StoreEvent): void {
    this.#history.push(event);
    if (this.#history.length > this.#historyEvents) {
      const dropped = this.#history.splice(0, this.#history.length - this.#historyEvents);
      this.#historyFrom = dropped[dropped.length - 1]!.version;
      // Events of one version are kept or dropped together, so a resume never half-replays one.
      while (this.#history[0]?.version === this.#historyFrom) this.#history.shift();
    }
    for (const watcher of this.#watchers) watcher.push(event);
    for (const [router, byKey] of this.#routes) {
      const keys = router.keysOf(event);
      if (keys === 'all') {
        for (const watchers of byKey.values()) for (const watcher of watchers) watcher.push(event);
      } else {
        for (const key of keys) for (const watcher of byKey.get(key) ?? []) watcher.push(event);
      }
    }
  }

  #conflict(batch: pb.StoreBatch): StoreConflictError | undefined {
    // Each object at most once per batch, so every action is checked against the
    // state before the batch; names are checked against that state and the batch itself.
    const touched = new Set<string>();
    const deleted = new Set<string>();
    const namesClaimed = new Map<string, string>();
    for (const action of batch.actions) {
      const entry = entryFromWire(action.object);
      if (entry?.object.id && action.kind === pb.StoreAction_Kind.KIND_DELETE) {
        deleted.add(`${entry.table}/${entry.object.id}`);
      }
    }
    for (const action of batch.actions) {
      if (action.kind === pb.StoreAction_Kind.KIND_TASK_STATUS) {
        const id = action.taskStatus?.taskId ?? '';
        if (!id || !action.taskStatus?.status) {
          return new StoreConflictError(
            'tasks',
            id,
            'Apply store batch: a task status report names no task or no status',
          );
        }
        if (touched.has(`tasks/${id}`)) {
          return new StoreConflictError(
            'tasks',
            id,
            `Apply store batch: task "${id}" is changed twice in one batch`,
          );
        }
        touched.add(`tasks/${id}`);
        continue;
      }
      const entry = entryFromWire(action.object);
      if (!entry?.object.id) {
        return new StoreConflictError(
          'nodes',
          '',
          'Apply store batch: an action names no object or no object ID',
        );
      }
      const { table, object } = entry;
      const what = singular(table);
      if (touched.has(`${table}/${object.id}`)) {
        return new StoreConflictError(
          table,
          object.id,
          `Apply store batch: ${what} "${object.id}" is changed twice in one batch`,
        );
      }
      touched.add(`${table}/${object.id}`);
      const type = ACTION_TYPES[action.kind as keyof typeof ACTION_TYPES];
      if (type === undefined) {
        return new StoreConflictError(
          table,
          object.id,
          `Apply store batch: unknown action kind ${action.kind}`,
        );
      }
      const current = this.#tables[table].get(object.id);
      if (type === 'create' && current) {
        return new StoreConflictError(
          table,
          object.id,
          `Create ${what}: ID "${object.id}" already exists`,
        );
      }
      if (type !== 'create' && !current) {
        return new StoreConflictError(
          table,
          object.id,
          `${capital(type)} ${what}: no such ${what}: "${object.id}"`,
        );
      }
      const readAt = object.meta?.version ?? 0;
      const storedAt = current?.meta?.version ?? 0;
      if (type === 'update' && readAt !== storedAt) {
        return new StoreConflictError(
          table,
          object.id,
          `Update ${what} "${object.id}": update out of sequence: read at version ${readAt}, stored version is ${storedAt}`,
        );
      }
      const name = type === 'delete' || !UNIQUE_NAME_TABLES.has(table) ? undefined : nameOf(entry);
      if (name) {
        const holder =
          namesClaimed.get(`${table}/${name}`) ??
          this.list(table).find(
            (other) =>
              other.id !== object.id &&
              !deleted.has(`${table}/${other.id}`) &&
              nameOf({ table, object: other } as TableEntry) === name,
          )?.id;
        if (holder !== undefined) {
          return new StoreConflictError(
            table,
            object.id,
            `${capital(type)} ${what}: name "${name}" is already in use by ${what} "${holder}"`,
          );
        }
        namesClaimed.set(`${table}/${name}`, object.id);
      }
    }
    return undefined;
  }
}

function singular(table: TableName): string {
  return table.slice(0, -1);
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
