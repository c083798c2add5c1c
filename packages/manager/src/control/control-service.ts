// The Control service as grpc-js handlers: nodes and the cluster through ControlApi,
// services and tasks through the ServiceApi it carries; networks answer "not supported
// yet" until their issue lands.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { type pb, ShoalError, unary } from '@shoal/api';
import type { Logger } from 'pino';
import type { ControlApi } from './control-api.js';
import type { ServiceApi } from './service-api.js';

function notYetError(action: string, what: string): ShoalError {
  return new ShoalError(
    'SHOAL_NOT_IMPLEMENTED',
    `${action}: not supported yet: ${what} arrive with a later Shoal release`,
  );
}

function notYet(api: () => ControlApi, action: string) {
  return async (): Promise<never> => {
    api(); // A node that cannot serve the control API says so first.
    throw notYetError(action, 'networks');
  };
}

/**
 * Builds the Control service implementation. `api` returns the control API to use, or
 * throws the error that explains why this node has none (a worker, say). Service and
 * task calls go to `api().services`; a control API without one answers them "not
 * supported yet".
 *
 * @example
 * server.addService(pb.ControlService, controlService(() => manager.control, log));
 */
export function controlService(api: () => ControlApi, log: Logger): UntypedServiceImplementation {
  const onUnexpected = (error: unknown) => log.error({ err: error }, 'control call failed');
  const services = (action: string) => (): ServiceApi => {
    const found = api().services;
    if (!found) throw notYetError(action, 'services, tasks and networks');
    return found;
  };
  const inspectService = services('Inspect service');
  const listServices = services('List services');
  const createService = services('Create service');
  const updateService = services('Update service');
  const removeService = services('Remove service');
  const inspectTask = services('Inspect task');
  const listTasks = services('List tasks');
  return {
    getNode: unary((r: pb.GetNodeRequest) => api().getNode(r), onUnexpected),
    listNodes: unary((r: pb.ListNodesRequest) => api().listNodes(r), onUnexpected),
    updateNode: unary((r: pb.UpdateNodeRequest) => api().updateNode(r), onUnexpected),
    removeNode: unary((r: pb.RemoveNodeRequest) => api().removeNode(r), onUnexpected),
    getCluster: unary((r: pb.GetClusterRequest) => api().getCluster(r), onUnexpected),
    updateCluster: unary((r: pb.UpdateClusterRequest) => api().updateCluster(r), onUnexpected),
    getService: unary((r: pb.GetServiceRequest) => inspectService().getService(r), onUnexpected),
    listServices: unary(
      (r: pb.ListServicesRequest) => listServices().listServices(r),
      onUnexpected,
    ),
    createService: unary(
      (r: pb.CreateServiceRequest) => createService().createService(r),
      onUnexpected,
    ),
    updateService: unary(
      (r: pb.UpdateServiceRequest) => updateService().updateService(r),
      onUnexpected,
    ),
    removeService: unary(
      (r: pb.RemoveServiceRequest) => removeService().removeService(r),
      onUnexpected,
    ),
    getTask: unary((r: pb.GetTaskRequest) => inspectTask().getTask(r), onUnexpected),
    listTasks: unary((r: pb.ListTasksRequest) => listTasks().listTasks(r), onUnexpected),
    getNetwork: unary(notYet(api, 'Inspect network')),
    listNetworks: unary(notYet(api, 'List networks')),
    createNetwork: unary(notYet(api, 'Create network')),
    removeNetwork: unary(notYet(api, 'Remove network')),
  };
}
