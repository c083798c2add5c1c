// Options of the Dispatcher, validated once (STYLE 24).
import type * as grpc from '@grpc/grpc-js';
import type { pb } from '@shoal/api';
import type { Rng } from '@shoal/raft';
import type { Logger } from 'pino';
import type { ClusterStore } from '../store/cluster-store.js';
import { type DispatcherClock, SYSTEM_DISPATCHER_CLOCK } from './dispatcher-clock.js';

/** Any call the dispatcher serves; what `identify` reads the certificate from. */
export type DispatcherCall =
  | grpc.ServerUnaryCall<unknown, unknown>
  | grpc.ServerWritableStream<unknown, unknown>
  | grpc.ServerReadableStream<unknown, unknown>
  | grpc.ServerDuplexStream<unknown, unknown>;

/** Who is calling, read from the caller's certificate. */
export interface CallerIdentity {
  readonly nodeId: string;
  readonly role: 'worker' | 'manager';
}

/** Heartbeat period of a new cluster: a dead node is marked down within 3 s. */
export const DEFAULT_HEARTBEAT_PERIOD_MS = 1000;
/** A node is down after this many periods without a heartbeat: one lost beat plus slack. */
export const DEFAULT_DOWN_TIMEOUT_FACTOR = 2.5;

/** Options of {@link Dispatcher.create}. */
export interface DispatcherOptions {
  readonly store: ClusterStore;
  /**
   * The caller's node ID and role from its mTLS certificate (the CA's `callerIdentity`);
   * undefined refuses the call. Never taken from the request.
   */
  readonly identify: (call: DispatcherCall) => CallerIdentity | undefined;
  /** The managers to hand to agents, read whenever a session starts or may have changed. */
  readonly managers: () => pb.WeightedPeer[];
  /** The leader's address, named in refusals while this dispatcher is stopped. */
  readonly leaderAddr?: () => string | undefined;
  readonly log: Logger;
  /** @default SYSTEM_DISPATCHER_CLOCK */
  readonly clock?: DispatcherClock;
  /** Heartbeat jitter. @default Math.random */
  readonly rng?: Rng;
  /** From the cluster's `spec.dispatcher.heartbeatPeriod`. @default 1000 */
  readonly heartbeatPeriodMs?: number;
  /** Down after `heartbeatPeriodMs × downTimeoutFactor` without a heartbeat. @default 2.5 */
  readonly downTimeoutFactor?: number;
  /**
   * How long a new leader waits for nodes it has not heard from before marking them
   * down. @default twice the down timeout (5 s at the default period), read at `start()`
   */
  readonly graceMs?: number;
  /** How often deadlines are checked. @default period / 5 */
  readonly sweepIntervalMs?: number;
  /**
   * Task status updates wait at most this long for their store update, gathering the
   * reports of one burst; under load, reports gather while writes are in flight.
   * @default 10
   */
  readonly statusFlushMs?: number;
  /**
   * Task status updates written by one store update at most: about 0.5 MB of Raft entry
   * at 1,000, and 10,000 tasks starting (50,000 reports) take 50 writes. @default 1000
   */
  readonly statusBatchSize?: number;
  /** Task status store updates in flight at once. @default 4 */
  readonly statusFlushConcurrency?: number;
  /** Task status updates queued before new ones are refused (UNAVAILABLE). @default 10_000 */
  readonly statusQueueCapacity?: number;
  /**
   * Longest an assignments stream holds a change while more may come: long enough to
   * send one store transaction's changes in one message. @default 10
   */
  readonly assignmentsBatchMs?: number;
  /** Changes that make an assignments stream send at once. @default 100 */
  readonly assignmentsBatchSize?: number;
  /** Nodes marked down by one store update at most. @default 500 */
  readonly downBatchSize?: number;
  /** Attempts of a store update that meets StoreConflictError. @default 5 */
  readonly storeAttempts?: number;
}

/** {@link DispatcherOptions} with defaults filled in. */
export interface CompiledDispatcherOptions
  extends Required<Omit<DispatcherOptions, 'graceMs' | 'sweepIntervalMs' | 'leaderAddr'>> {
  readonly leaderAddr: () => string | undefined;
  readonly graceMs: number | undefined;
  readonly sweepIntervalMs: number | undefined;
}

const MATH_RNG: Rng = { int: (n) => Math.floor(Math.random() * n) };

/**
 * Validates `options` once and fills in defaults.
 *
 * @example
 * const o = compileDispatcherOptions({ store, identify, managers, log });
 * o.heartbeatPeriodMs; // 1000
 */
export function compileDispatcherOptions(options: DispatcherOptions): CompiledDispatcherOptions {
  const o: CompiledDispatcherOptions = {
    ...options,
    leaderAddr: options.leaderAddr ?? (() => undefined),
    clock: options.clock ?? SYSTEM_DISPATCHER_CLOCK,
    rng: options.rng ?? MATH_RNG,
    heartbeatPeriodMs: options.heartbeatPeriodMs ?? DEFAULT_HEARTBEAT_PERIOD_MS,
    downTimeoutFactor: options.downTimeoutFactor ?? DEFAULT_DOWN_TIMEOUT_FACTOR,
    graceMs: options.graceMs,
    sweepIntervalMs: options.sweepIntervalMs,
    statusFlushMs: options.statusFlushMs ?? 10,
    statusBatchSize: options.statusBatchSize ?? 1000,
    statusFlushConcurrency: options.statusFlushConcurrency ?? 4,
    statusQueueCapacity: options.statusQueueCapacity ?? 10_000,
    assignmentsBatchMs: options.assignmentsBatchMs ?? 10,
    assignmentsBatchSize: options.assignmentsBatchSize ?? 100,
    downBatchSize: options.downBatchSize ?? 500,
    storeAttempts: options.storeAttempts ?? 5,
  };
  checkPeriod('heartbeatPeriodMs', o.heartbeatPeriodMs);
  if (!(o.downTimeoutFactor >= 1)) {
    throw new RangeError(
      `Create dispatcher: downTimeoutFactor must be at least 1: got ${o.downTimeoutFactor}`,
    );
  }
  for (const name of [
    'statusFlushMs',
    'statusBatchSize',
    'statusFlushConcurrency',
    'statusQueueCapacity',
    'assignmentsBatchMs',
    'assignmentsBatchSize',
    'downBatchSize',
    'storeAttempts',
  ] as const) {
    if (!Number.isInteger(o[name]) || o[name] < 1) {
      throw new RangeError(
        `Create dispatcher: ${name} must be a whole number of at least 1: got ${o[name]}`,
      );
    }
  }
  if (o.graceMs !== undefined && !(o.graceMs >= 0)) {
    throw new RangeError(`Create dispatcher: graceMs must be at least 0: got ${o.graceMs}`);
  }
  if (o.sweepIntervalMs !== undefined) checkPeriod('sweepIntervalMs', o.sweepIntervalMs);
  return o;
}

/** Checks a period in milliseconds (also used by `setHeartbeatPeriod`). */
export function checkPeriod(name: string, ms: number): void {
  if (!Number.isInteger(ms) || ms < 10) {
    throw new RangeError(`Set ${name}: must be a whole number of at least 10 ms: got ${ms}`);
  }
}

/**
 * The heartbeat period a cluster object asks for, if it sets one.
 *
 * @example
 * dispatcher.setHeartbeatPeriod(heartbeatPeriodOf(cluster) ?? DEFAULT_HEARTBEAT_PERIOD_MS);
 */
export function heartbeatPeriodOf(cluster: pb.Cluster | undefined): number | undefined {
  const period = cluster?.spec?.dispatcher?.heartbeatPeriod;
  if (!period) return undefined;
  const ms = Number(period.seconds) * 1000 + Math.round(period.nanos / 1e6);
  return ms > 0 ? ms : undefined;
}
