import { type ServiceError, status } from '@grpc/grpc-js';
import { pb } from '@shoal/api';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { testContainerSpec } from '../orchestrator/testing.js';
import { LocalClusterStore } from '../store/cluster-store.js';
import { MemoryStore } from '../store/memory-store.js';
import { ControlApi } from './control-api.js';
import { controlService } from './control-service.js';
import { ServiceApi } from './service-api.js';

type Handler = (
  call: { request: unknown },
  callback: (error: ServiceError | null, response?: unknown) => void,
) => void;

function call(
  service: ReturnType<typeof controlService>,
  method: string,
  request: unknown,
): Promise<{ error: ServiceError | null; response?: unknown }> {
  return new Promise((resolve) =>
    (service[method] as Handler)({ request }, (error, response) => resolve({ error, response })),
  );
}

describe('controlService', () => {
  const store = new LocalClusterStore(new MemoryStore());
  const services = new ServiceApi({
    store,
    now: () => new Date(),
    rng: { randomBytes: (n) => new Uint8Array(n).fill(1) },
  });
  const options = { store, now: () => new Date(), newJoinToken: () => 'token' };
  const control = new ControlApi({ ...options, services });
  const log = pino({ level: 'silent' });

  it("controlService: routes service and task calls to the control API's service API", async () => {
    const service = controlService(() => control, log);
    const spec = pb.ServiceSpec.fromPartial({
      annotations: { name: 'web', labels: {} },
      task: { container: testContainerSpec('app:v1') },
    });
    const created = await call(service, 'createService', { spec });
    expect(created.error).toBeNull();
    const listed = await call(service, 'listServices', {});
    expect((listed.response as pb.ListServicesResponse).services.map((s) => s.id)).toEqual([
      (created.response as pb.CreateServiceResponse).service?.id,
    ]);
    const networks = await call(service, 'listNetworks', {});
    expect(networks.error?.code).toBe(status.UNIMPLEMENTED);
    expect(networks.error?.details).toBe(
      'List networks: not supported yet: networks arrive with a later Shoal release',
    );
  });

  it('controlService: answers "not supported yet" for services when the control API has no service API', async () => {
    const service = controlService(() => new ControlApi(options), log);
    const { error } = await call(service, 'listTasks', {});
    expect(error?.code).toBe(status.UNIMPLEMENTED);
    expect(error?.details).toBe(
      'List tasks: not supported yet: services, tasks and networks arrive with a later Shoal release',
    );
  });
});
