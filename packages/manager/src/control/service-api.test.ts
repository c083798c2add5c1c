import { durationFromMs, pb, ShoalError } from '@shoal/api';
import { beforeEach, describe, expect, it } from 'vitest';
import { testContainerSpec } from '../orchestrator/testing.js';
import { LocalClusterStore } from '../store/cluster-store.js';
import { MemoryStore } from '../store/memory-store.js';
import { ServiceApi } from './service-api.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const S = pb.TaskState;
const U = pb.UpdateStatus_State;

/** A counter-based RNG: every call returns different bytes, the same in every run. */
function countingRng() {
  let n = 0;
  return {
    randomBytes: (length: number) => {
      n += 1;
      return Uint8Array.from({ length }, (_, i) => (n * 31 + i * 7) % 256);
    },
  };
}

function spec(extra: Partial<pb.ServiceSpec> = {}, image = 'app:v1'): pb.ServiceSpec {
  return pb.ServiceSpec.fromPartial({
    annotations: { name: 'web', labels: {} },
    task: { container: testContainerSpec(image) },
    mode: { $case: 'replicated', replicated: { replicas: 2 } },
    ...extra,
  });
}

async function failure(promise: Promise<unknown>): Promise<ShoalError> {
  // A promise that resolves yields its value here, which the assertion refuses.
  const error: unknown = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ShoalError);
  return error as ShoalError;
}

describe('ServiceApi', () => {
  let store: LocalClusterStore;
  let api: ServiceApi;

  beforeEach(() => {
    store = new LocalClusterStore(new MemoryStore());
    api = new ServiceApi({ store, now: () => NOW, rng: countingRng() });
  });

  it('createService: stores the validated spec with defaults, a 25-character ID and timestamps', async () => {
    const { service } = await api.createService({ spec: spec() });
    expect(service?.id).toMatch(/^[0-9a-z]{25}$/);
    expect(service?.specVersion).toBe(1);
    expect(service?.meta?.createdAt).toEqual(NOW);
    expect(service?.spec?.update?.parallelism).toBe(1);
    expect(service?.spec?.task?.restart?.delay).toEqual(durationFromMs(5000));
    expect(store.state.get('services', service!.id)).toEqual(service);
  });

  it('createService: picks a free adjective_surname name when none is given', async () => {
    const first = (
      await api.createService({ spec: spec({ annotations: { name: '', labels: {} } }) })
    ).service!;
    const second = (await api.createService({ spec: spec({ annotations: undefined }) })).service!;
    const names = [first, second].map((s) => s.spec?.annotations?.name);
    for (const name of names) expect(name).toMatch(/^[a-z]+_[a-z]+$/);
    expect(names[0]).not.toBe(names[1]);
  });

  it('createService: refuses a taken name and writes nothing', async () => {
    const { service } = await api.createService({ spec: spec() });
    const version = store.state.version;
    const error = await failure(api.createService({ spec: spec() }));
    expect(error.code).toBe('SHOAL_ALREADY_EXISTS');
    expect(error.message).toBe(
      `Create service: name "web" is already in use by service "${service!.id}"`,
    );
    expect(store.state.version).toBe(version);
  });

  const invalid: { name: string; spec: pb.ServiceSpec; code: string; message: string }[] = [
    {
      name: 'an image missing',
      spec: spec({ task: { networks: [], forceUpdate: 0 } }),
      code: 'SHOAL_INVALID_ARGUMENT',
      message: 'Create service: an image is required',
    },
    {
      name: 'a bad constraint',
      spec: spec({
        task: {
          container: testContainerSpec('app:v1'),
          placement: { constraints: ['node.colour==red'], preferences: [], maxReplicas: 0 },
          networks: [],
          forceUpdate: 0,
        },
      }),
      code: 'SHOAL_INVALID_ARGUMENT',
      message: 'Create service: invalid --constraint "node.colour==red"',
    },
    {
      name: 'a network',
      spec: spec({
        task: {
          container: testContainerSpec('app:v1'),
          networks: [{ target: 'backend', aliases: [] }],
          forceUpdate: 0,
        },
      }),
      code: 'SHOAL_NOT_IMPLEMENTED',
      message:
        'Create service: --network "backend" is not supported yet: overlay networks arrive with the networking issue',
    },
    {
      name: 'a published port',
      spec: spec({
        endpoint: {
          mode: pb.EndpointSpec_ResolutionMode.RESOLUTION_MODE_VIP,
          ports: [
            pb.PortConfig.fromPartial({
              targetPort: 80,
              publishedPort: 8080,
              protocol: pb.PortConfig_Protocol.PROTOCOL_TCP,
            }),
          ],
        },
      }),
      code: 'SHOAL_NOT_IMPLEMENTED',
      message:
        'Create service: --publish "8080:80/tcp" is not supported yet: published ports arrive with the routing mesh',
    },
    {
      name: 'dnsrr endpoint mode',
      spec: spec({
        endpoint: { mode: pb.EndpointSpec_ResolutionMode.RESOLUTION_MODE_DNSRR, ports: [] },
      }),
      code: 'SHOAL_NOT_IMPLEMENTED',
      message:
        'Create service: --endpoint-mode "dnsrr" is not supported yet: virtual IPs and DNS round robin arrive with service discovery',
    },
  ];
  for (const c of invalid) {
    it(`createService: refuses ${c.name} with one error and writes nothing`, async () => {
      const version = store.state.version;
      const error = await failure(api.createService({ spec: c.spec }));
      expect(error.code).toBe(c.code);
      expect(error.message.startsWith(c.message)).toBe(true);
      expect(store.state.version).toBe(version);
      expect(store.state.list('services')).toEqual([]);
    });
  }

  it('getService and listServices: find by ID, name or prefix; list sorted and filtered', async () => {
    const web = (await api.createService({ spec: spec() })).service!;
    const db = (
      await api.createService({
        spec: spec({ annotations: { name: 'db', labels: { tier: 'data' } } }),
      })
    ).service!;
    expect((await api.getService({ serviceId: 'web' })).service?.id).toBe(web.id);
    expect((await api.getService({ serviceId: db.id.slice(0, 6) })).service?.id).toBe(db.id);
    const missing = await failure(api.getService({ serviceId: 'nope' }));
    expect(missing.code).toBe('SHOAL_NOT_FOUND');
    expect(missing.message).toBe('Inspect service: no such service: "nope"');
    const all = await api.listServices({});
    expect(all.services.map((s) => s.spec?.annotations?.name)).toEqual(['db', 'web']);
    const labelled = await api.listServices({
      filters: { names: [], idPrefixes: [], labels: { tier: '' } },
    });
    expect(labelled.services.map((s) => s.id)).toEqual([db.id]);
  });

  it('updateService: keeps the old spec as previous, bumps the spec version and clears the update status', async () => {
    const created = (await api.createService({ spec: spec() })).service!;
    await store.update((tx) =>
      tx.update('services', {
        ...tx.get('services', created.id)!,
        updateStatus: { state: U.STATE_PAUSED, message: 'update paused' },
      }),
    );
    const current = store.state.get('services', created.id)!;
    const updated = (
      await api.updateService({
        serviceId: 'web',
        serviceVersion: current.meta!.version,
        spec: spec({}, 'app:v2'),
        rollback: false,
      })
    ).service!;
    expect(updated.spec?.task?.container?.image).toBe('app:v2');
    expect(updated.previousSpec?.task?.container?.image).toBe('app:v1');
    expect(updated.specVersion).toBe(2);
    expect(updated.updateStatus).toBeUndefined();
  });

  it('updateService: refuses a stale version, a rename, a mode change and networking, changing nothing', async () => {
    const created = (await api.createService({ spec: spec() })).service!;
    const version = created.meta!.version;
    await api.updateService({ serviceId: 'web', serviceVersion: 0, spec: spec(), rollback: false });
    const storeVersion = store.state.version;
    const cases: [pb.UpdateServiceRequest, string, string][] = [
      [
        { serviceId: 'web', serviceVersion: version, spec: spec(), rollback: false },
        'SHOAL_FAILED_PRECONDITION',
        `Update service "web": update out of sequence: read at version ${version}, stored version is ${storeVersion}: inspect it again and retry`,
      ],
      [
        {
          serviceId: 'web',
          serviceVersion: 0,
          spec: spec({ annotations: { name: 'api', labels: {} } }),
          rollback: false,
        },
        'SHOAL_INVALID_ARGUMENT',
        'Update service "web": renaming services is not supported: create a service named "api" instead',
      ],
      [
        {
          serviceId: 'web',
          serviceVersion: 0,
          spec: spec({ mode: { $case: 'global', global: {} } }),
          rollback: false,
        },
        'SHOAL_INVALID_ARGUMENT',
        'Update service "web": invalid mode "global": the mode of a service cannot change from "replicated": remove the service and create it again',
      ],
      [
        {
          serviceId: 'web',
          serviceVersion: 0,
          spec: spec({
            mode: { $case: 'replicated', replicated: { replicas: -1 } },
          }),
          rollback: false,
        },
        'SHOAL_INVALID_ARGUMENT',
        'Update service "web": invalid --replicas "-1": replicas must be a whole number, 0 or more',
      ],
      [
        {
          serviceId: 'web',
          serviceVersion: 0,
          spec: spec({
            endpoint: { mode: pb.EndpointSpec_ResolutionMode.RESOLUTION_MODE_DNSRR, ports: [] },
          }),
          rollback: false,
        },
        'SHOAL_NOT_IMPLEMENTED',
        'Update service: --endpoint-mode "dnsrr" is not supported yet: virtual IPs and DNS round robin arrive with service discovery',
      ],
    ];
    for (const [request, code, message] of cases) {
      const error = await failure(api.updateService(request));
      expect([error.code, error.message]).toEqual([code, message]);
    }
    expect(store.state.version).toBe(storeVersion);
  });

  it('updateService: rollback swaps the specs, or is refused when there is no previous spec', async () => {
    await api.createService({ spec: spec() });
    const none = await failure(
      api.updateService({ serviceId: 'web', serviceVersion: 0, rollback: true }),
    );
    expect(none.code).toBe('SHOAL_FAILED_PRECONDITION');
    expect(none.message).toBe(
      'Roll back service "web": the service has no previous spec to roll back to',
    );
    await api.updateService({
      serviceId: 'web',
      serviceVersion: 0,
      spec: spec({}, 'app:v2'),
      rollback: false,
    });
    const rolled = (
      await api.updateService({ serviceId: 'web', serviceVersion: 0, rollback: true })
    ).service!;
    expect(rolled.spec?.task?.container?.image).toBe('app:v1');
    expect(rolled.previousSpec?.task?.container?.image).toBe('app:v2');
    expect(rolled.updateStatus?.state).toBe(U.STATE_ROLLBACK_STARTED);
    expect(rolled.updateStatus?.message).toBe('manually requested rollback');
    expect(rolled.specVersion).toBe(3);
  });

  it('removeService: deletes the service, marks running tasks REMOVE and deletes finished ones', async () => {
    const service = (await api.createService({ spec: spec() })).service!;
    const task = (id: string, state: pb.TaskState, desired: pb.TaskState): pb.Task =>
      pb.Task.fromPartial({
        id,
        serviceId: service.id,
        slot: 1,
        nodeId: 'n1',
        status: { state },
        desiredState: desired,
      });
    await store.update((tx) => {
      tx.create('tasks', task('running', S.TASK_STATE_RUNNING, S.TASK_STATE_RUNNING));
      tx.create('tasks', task('old', S.TASK_STATE_SHUTDOWN, S.TASK_STATE_SHUTDOWN));
    });
    await api.removeService({ serviceId: 'web' });
    expect(store.state.list('services')).toEqual([]);
    expect(store.state.get('tasks', 'old')).toBeUndefined();
    expect(store.state.get('tasks', 'running')?.desiredState).toBe(S.TASK_STATE_REMOVE);
  });

  it('getTask and listTasks: resolve a task by prefix; filter by service, node, desired state and prefix', async () => {
    const make = (id: string, serviceId: string, name: string, slot: number, nodeId: string) =>
      pb.Task.fromPartial({
        id,
        serviceId,
        serviceAnnotations: { name, labels: {} },
        slot,
        nodeId,
        desiredState: S.TASK_STATE_RUNNING,
        meta: { version: 0, createdAt: new Date(slot * 1000) },
      });
    await store.update((tx) => {
      tx.create('tasks', make('aaa1', 's1', 'web', 2, 'n1'));
      tx.create('tasks', make('aab2', 's1', 'web', 1, 'n2'));
      tx.create('tasks', {
        ...make('bbb3', 's2', 'api', 1, 'n1'),
        desiredState: S.TASK_STATE_SHUTDOWN,
      });
    });
    expect((await api.getTask({ taskId: 'bb' })).task?.id).toBe('bbb3');
    const ids = async (filters: Partial<pb.ListTasksRequest_Filters>) =>
      (
        await api.listTasks({ filters: pb.ListTasksRequest_Filters.fromPartial(filters) })
      ).tasks.map((t) => t.id);
    expect(await ids({})).toEqual(['bbb3', 'aab2', 'aaa1']);
    expect(await ids({ serviceIds: ['s1'] })).toEqual(['aab2', 'aaa1']);
    expect(await ids({ serviceIds: ['web'] })).toEqual(['aab2', 'aaa1']);
    expect(await ids({ nodeIds: ['n1'] })).toEqual(['bbb3', 'aaa1']);
    expect(await ids({ desiredStates: [S.TASK_STATE_RUNNING] })).toEqual(['aab2', 'aaa1']);
    expect(await ids({ idPrefixes: ['aa'] })).toEqual(['aab2', 'aaa1']);
  });
});
