// The control API for services and tasks, independent of transport (the TLS gRPC
// server and the local unix socket both call it). Reads wait on a store barrier first;
// every write is one store transaction that either applies whole or not at all, and
// every refusal happens before it, so an invalid request changes nothing.
import { pb, ShoalError, validateServiceSpec } from '@shoal/api';
import { generateRandomId } from '../ca/random-id.js';
import type { SecureRng } from '../ca/secure-rng.js';
import { removeTasks } from '../orchestrator/remove-tasks.js';
import { rollbackService } from '../orchestrator/updater.js';
import { ORCHESTRATION_BATCH_SIZE } from '../services/orchestration-driver.js';
import { randomServiceName } from '../services/random-name.js';
import { ChangeSet, writeChange } from '../services/task-changes.js';
import type { ClusterStore } from '../store/cluster-store.js';
import { resolveObject } from './resolve.js';

/** What the service API needs. */
export interface ServiceApiOptions {
  readonly store: ClusterStore;
  /** Wall clock for object timestamps and update status times. */
  readonly now: () => Date;
  /** Randomness for service IDs and names. */
  readonly rng: SecureRng;
}

/** Why each networking setting is refused for now, in the CLI's words. */
const NOT_YET = {
  network: 'overlay networks arrive with the networking issue',
  publish: 'published ports arrive with the routing mesh',
  endpointMode: 'virtual IPs and DNS round robin arrive with service discovery',
} as const;

// Random names collide rarely; a few draws make a collision with a taken name unlikely.
const NAME_ATTEMPTS = 10;

/**
 * Services and tasks: create, inspect, list, update (and roll back), remove.
 *
 * @example
 * const services = new ServiceApi({ store, now: () => new Date(), rng: CRYPTO_RNG });
 * const { service } = await services.createService({ spec });
 */
export class ServiceApi {
  readonly #o: ServiceApiOptions;

  constructor(options: ServiceApiOptions) {
    this.#o = options;
  }

  /**
   * Creates a service: networking refused, a random name when none is given, the spec
   * validated with Docker's defaults filled in, the name free.
   */
  async createService(request: pb.CreateServiceRequest): Promise<pb.CreateServiceResponse> {
    const action = 'Create service';
    if (!request.spec) throw new ShoalError('SHOAL_INVALID_ARGUMENT', `${action}: no spec given`);
    refuseNetworking(request.spec, action);
    await this.#o.store.barrier();
    const state = this.#o.store.state;
    let name = request.spec.annotations?.name ?? '';
    if (name === '') name = this.#freeName();
    const spec = validateServiceSpec(
      { ...request.spec, annotations: { labels: {}, ...request.spec.annotations, name } },
      { action },
    );
    const holder = serviceNamed(state.list('services'), name);
    if (holder) {
      throw new ShoalError(
        'SHOAL_ALREADY_EXISTS',
        `${action}: name "${name}" is already in use by service "${holder.id}"`,
      );
    }
    const now = this.#o.now();
    const service: pb.Service = {
      id: generateRandomId(this.#o.rng),
      meta: { version: 0, createdAt: now, updatedAt: now },
      spec,
      specVersion: 1,
    };
    await this.#o.store.update((tx) => tx.create('services', service));
    return { service: state.get('services', service.id) };
  }

  /** The service named by ID, name or unique ID prefix. */
  async getService(request: pb.GetServiceRequest): Promise<pb.GetServiceResponse> {
    await this.#o.store.barrier();
    return {
      service: resolveObject(this.#o.store.state, 'services', request.serviceId, 'Inspect service'),
    };
  }

  /** Services matching every filter given (names, ID prefixes, labels), by name. */
  async listServices(request: pb.ListServicesRequest): Promise<pb.ListServicesResponse> {
    await this.#o.store.barrier();
    const f = request.filters;
    const services = this.#o.store.state.list('services', (service) => {
      const name = service.spec?.annotations?.name ?? '';
      if (f?.names.length && !f.names.includes(name)) return false;
      if (f?.idPrefixes.length && !f.idPrefixes.some((p) => service.id.startsWith(p))) return false;
      for (const [key, value] of Object.entries(f?.labels ?? {})) {
        // Docker's label filter: `key` alone matches any value.
        const labels = service.spec?.annotations?.labels ?? {};
        if (!(key in labels) || (value !== '' && labels[key] !== value)) return false;
      }
      return true;
    });
    services.sort((a, b) => compare(nameOf(a), nameOf(b)) || compare(a.id, b.id));
    return { services };
  }

  /**
   * Applies a new spec (the old one becomes the previous spec, the update status is
   * cleared, so a paused update starts again), or with `rollback` goes back to the
   * previous spec. A non-zero `serviceVersion` must be the stored version.
   */
  async updateService(request: pb.UpdateServiceRequest): Promise<pb.UpdateServiceResponse> {
    const action = request.rollback ? 'Roll back service' : 'Update service';
    if (!request.rollback) {
      if (!request.spec) throw new ShoalError('SHOAL_INVALID_ARGUMENT', `${action}: no spec given`);
      refuseNetworking(request.spec, action);
    }
    await this.#o.store.barrier();
    const state = this.#o.store.state;
    const current = resolveObject(state, 'services', request.serviceId, action);
    const version = current.meta?.version ?? 0;
    if (request.serviceVersion !== 0 && request.serviceVersion !== version) {
      throw new ShoalError(
        'SHOAL_FAILED_PRECONDITION',
        `${action} "${nameOf(current)}": update out of sequence: read at version ${request.serviceVersion}, stored version is ${version}: inspect it again and retry`,
      );
    }
    const now = this.#o.now();
    let updated: pb.Service;
    if (request.rollback) {
      if (!current.previousSpec) {
        throw new ShoalError(
          'SHOAL_FAILED_PRECONDITION',
          `${action} "${nameOf(current)}": the service has no previous spec to roll back to`,
        );
      }
      updated = rollbackService(current, now);
    } else {
      const spec = this.#checkUpdate(current, request.spec!, action);
      const { updateStatus: _cleared, ...rest } = current;
      updated = { ...rest, spec, previousSpec: current.spec };
    }
    updated = {
      ...updated,
      specVersion: current.specVersion + 1,
      meta: { ...current.meta!, updatedAt: now },
    };
    await this.#o.store.update((tx) => tx.update('services', updated));
    return { service: state.get('services', current.id) };
  }

  /** Deletes the service; its tasks are told to stop (REMOVE) or deleted when finished. */
  async removeService(request: pb.RemoveServiceRequest): Promise<pb.RemoveServiceResponse> {
    await this.#o.store.barrier();
    const state = this.#o.store.state;
    const service = resolveObject(state, 'services', request.serviceId, 'Remove service');
    const tasks = new Map(
      state.list('tasks', (t) => t.serviceId === service.id).map((t) => [t.id, t] as const),
    );
    const now = this.#o.now();
    const changes = new ChangeSet(tasks, now);
    changes.apply(removeTasks([...tasks.values()], 'service removed'));
    // The service goes in one transaction with its first tasks' removal; the
    // orchestration driver sees tasks without a service and removes the rest (a
    // service of 10,000 replicas would otherwise make one oversized Raft entry), then
    // deletes them all as they stop.
    const [first = []] = changes.chunks(ORCHESTRATION_BATCH_SIZE);
    await this.#o.store.update((tx) => {
      const fresh = tx.get('services', service.id);
      if (fresh) tx.delete('services', fresh);
      for (const change of first) writeChange(tx, change, now);
    });
    return {};
  }

  /** The task named by ID or unique ID prefix. */
  async getTask(request: pb.GetTaskRequest): Promise<pb.GetTaskResponse> {
    await this.#o.store.barrier();
    return { task: resolveObject(this.#o.store.state, 'tasks', request.taskId, 'Inspect task') };
  }

  /**
   * Tasks matching every filter given: service (ID or name), node ID, desired state, ID
   * prefix. Sorted as `service ps` lists them: by service name, slot (node for global
   * tasks), then newest first.
   */
  async listTasks(request: pb.ListTasksRequest): Promise<pb.ListTasksResponse> {
    await this.#o.store.barrier();
    const f = request.filters;
    const services = new Set(f?.serviceIds ?? []);
    const nodes = new Set(f?.nodeIds ?? []);
    const desired = new Set(f?.desiredStates ?? []);
    const tasks = this.#o.store.state.list('tasks', (task) => {
      if (
        services.size > 0 &&
        !services.has(task.serviceId) &&
        !services.has(task.serviceAnnotations?.name ?? '')
      ) {
        return false;
      }
      if (nodes.size > 0 && !nodes.has(task.nodeId)) return false;
      if (desired.size > 0 && !desired.has(task.desiredState)) return false;
      if (f?.idPrefixes.length && !f.idPrefixes.some((p) => task.id.startsWith(p))) return false;
      return true;
    });
    tasks.sort(
      (a, b) =>
        compare(
          a.serviceAnnotations?.name ?? a.serviceId,
          b.serviceAnnotations?.name ?? b.serviceId,
        ) ||
        a.slot - b.slot ||
        compare(a.nodeId, b.nodeId) ||
        (b.meta?.createdAt?.getTime() ?? 0) - (a.meta?.createdAt?.getTime() ?? 0) ||
        compare(a.id, b.id),
    );
    return { tasks };
  }

  // Docker refuses a rename and a mode change; an empty name keeps the current one.
  #checkUpdate(current: pb.Service, requested: pb.ServiceSpec, action: string): pb.ServiceSpec {
    const name = nameOf(current);
    const wanted = requested.annotations?.name || name;
    if (wanted !== name) {
      throw new ShoalError(
        'SHOAL_INVALID_ARGUMENT',
        `${action} "${name}": renaming services is not supported: create a service named "${wanted}" instead`,
      );
    }
    const spec = validateServiceSpec(
      { ...requested, annotations: { labels: {}, ...requested.annotations, name } },
      { action: `${action} "${name}"` },
    );
    const from = current.spec?.mode?.$case ?? 'replicated';
    const to = spec.mode?.$case ?? 'replicated';
    if (from !== to) {
      throw new ShoalError(
        'SHOAL_INVALID_ARGUMENT',
        `${action} "${name}": invalid mode "${to}": the mode of a service cannot change from "${from}": remove the service and create it again`,
      );
    }
    return spec;
  }

  #freeName(): string {
    const taken = new Set(this.#o.store.state.list('services').map(nameOf));
    let name = randomServiceName(this.#o.rng);
    for (let i = 1; i < NAME_ATTEMPTS && taken.has(name); i += 1) {
      name = randomServiceName(this.#o.rng);
    }
    return name;
  }
}

/**
 * Refuses what needs the allocator and the data plane: networks to attach, published
 * ports, and DNS round-robin endpoints, naming Docker's flag.
 */
function refuseNetworking(spec: pb.ServiceSpec, action: string): void {
  const refuse = (flag: string, value: string, why: string): never => {
    throw new ShoalError(
      'SHOAL_NOT_IMPLEMENTED',
      `${action}: ${flag} "${value}" is not supported yet: ${why}`,
    );
  };
  // Specs built in-process may leave repeated fields out.
  const network = spec.task?.networks?.[0];
  if (network) refuse('--network', network.target, NOT_YET.network);
  const port = spec.endpoint?.ports?.[0];
  if (port) {
    const published = port.publishedPort === 0 ? '' : `${port.publishedPort}:`;
    const protocol = pb.portConfig_ProtocolToJSON(port.protocol).replace('PROTOCOL_', '');
    refuse(
      '--publish',
      `${published}${port.targetPort}/${protocol.toLowerCase()}`,
      NOT_YET.publish,
    );
  }
  if (spec.endpoint?.mode === pb.EndpointSpec_ResolutionMode.RESOLUTION_MODE_DNSRR) {
    refuse('--endpoint-mode', 'dnsrr', NOT_YET.endpointMode);
  }
}

function serviceNamed(services: readonly pb.Service[], name: string): pb.Service | undefined {
  return services.find((s) => nameOf(s) === name);
}

function nameOf(service: pb.Service): string {
  return service.spec?.annotations?.name ?? '';
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
