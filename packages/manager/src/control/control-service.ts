// The Control service as grpc-js handlers: nodes and the cluster through ControlApi,
// services and tasks through ServiceApi; networks answer "not supported yet" until
// their issue lands.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { type pb, ShoalError, unary } from '@shoal/api';
import type { Logger } from 'pino';
import type { ControlApi } from './control-api.js';
import type { ServiceApi } from './service-api.js';

/** Options of {@link controlService}. */
export interface ControlServiceOptions {
  /**
   * The service and task API, or a function that throws why this node has none; when
   * absent, service and task calls answer "not supported yet".
   */
  readonly services?: () => ServiceApi;
}

function notYet(api: () => ControlApi, action: string, what = 'services, tasks and networks') {
  return async (): Promise<never> => {
    api(); // A node that cannot serve the control API says so first.
    throw new ShoalError(
      'SHOAL_NOT_IMPLEMENTED',
      `${action}: not supported yet: ${what} arrive with a later Shoal release`,
    );
  };
}

function serviceCalls(
  services: () => ServiceApi,
  onUnexpected: (error: unknown) => void,
): UntypedServiceImplementation {
  return {
    getService: unary((r: pb.GetServiceRequest) => services().getService(r), onUnexpected),
    listServices: unary((r: pb.ListServicesRequest) => services().listServices(r), onUnexpected),
    createService: unary((r: pb.CreateServiceRequest) => services().createService(r), onUnexpected),
    updateService: unary((r: pb.UpdateServiceRequest) => services().updateService(r), onUnexpected),
    removeService: unary((r: pb.RemoveServiceRequest) => services().removeService(r), onUnexpected),
    getTask: unary((r: pb.GetTaskRequest) => services().getTask(r), onUnexpected),
    listTasks: unary((r: pb.ListTasksRequest) => services().listTasks(r), onUnexpected),
  };
}

/**
 * Builds the Control service implementation. `api` returns the control API to use, or
 * throws the error that explains why this node has none (a worker, say).
 */
export function controlService(
  api: () => ControlApi,
  log: Logger,
  options: ControlServiceOptions = {},
): UntypedServiceImplementation {
  const onUnexpected = (error: unknown) => log.error({ err: error }, 'control call failed');
  const services = options.services;
  return {
    getNode: unary((r: pb.GetNodeRequest) => api().getNode(r), onUnexpected),
    listNodes: unary((r: pb.ListNodesRequest) => api().listNodes(r), onUnexpected),
    updateNode: unary((r: pb.UpdateNodeRequest) => api().updateNode(r), onUnexpected),
    removeNode: unary((r: pb.RemoveNodeRequest) => api().removeNode(r), onUnexpected),
    getCluster: unary((r: pb.GetClusterRequest) => api().getCluster(r), onUnexpected),
    updateCluster: unary((r: pb.UpdateClusterRequest) => api().updateCluster(r), onUnexpected),
    ...(services
      ? serviceCalls(services, onUnexpected)
      : {
          getService: unary(notYet(api, 'Inspect service')),
          listServices: unary(notYet(api, 'List services')),
          createService: unary(notYet(api, 'Create service')),
          updateService: unary(notYet(api, 'Update service')),
          removeService: unary(notYet(api, 'Remove service')),
          getTask: unary(notYet(api, 'Inspect task')),
          listTasks: unary(notYet(api, 'List tasks')),
        }),
    getNetwork: unary(notYet(api, 'Inspect network', 'networks')),
    listNetworks: unary(notYet(api, 'List networks', 'networks')),
    createNetwork: unary(notYet(api, 'Create network', 'networks')),
    removeNetwork: unary(notYet(api, 'Remove network', 'networks')),
  };
}
