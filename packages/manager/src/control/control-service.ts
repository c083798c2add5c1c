// The Control service as grpc-js handlers: nodes and the cluster through ControlApi;
// services, tasks and networks answer "not supported yet" until their issues land.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { type pb, ShoalError, unary } from '@shoal/api';
import type { Logger } from 'pino';
import type { ControlApi } from './control-api.js';

function notYet(api: () => ControlApi, action: string) {
  return async (): Promise<never> => {
    api(); // A node that cannot serve the control API says so first.
    throw new ShoalError(
      'SHOAL_NOT_IMPLEMENTED',
      `${action}: not supported yet: services, tasks and networks arrive with a later Shoal release`,
    );
  };
}

/**
 * Builds the Control service implementation. `api` returns the control API to use, or
 * throws the error that explains why this node has none (a worker, say).
 */
export function controlService(api: () => ControlApi, log: Logger): UntypedServiceImplementation {
  const onUnexpected = (error: unknown) => log.error({ err: error }, 'control call failed');
  return {
    getNode: unary((r: pb.GetNodeRequest) => api().getNode(r), onUnexpected),
    listNodes: unary((r: pb.ListNodesRequest) => api().listNodes(r), onUnexpected),
    updateNode: unary((r: pb.UpdateNodeRequest) => api().updateNode(r), onUnexpected),
    removeNode: unary((r: pb.RemoveNodeRequest) => api().removeNode(r), onUnexpected),
    getCluster: unary((r: pb.GetClusterRequest) => api().getCluster(r), onUnexpected),
    updateCluster: unary((r: pb.UpdateClusterRequest) => api().updateCluster(r), onUnexpected),
    getService: unary(notYet(api, 'Inspect service')),
    listServices: unary(notYet(api, 'List services')),
    createService: unary(notYet(api, 'Create service')),
    updateService: unary(notYet(api, 'Update service')),
    removeService: unary(notYet(api, 'Remove service')),
    getTask: unary(notYet(api, 'Inspect task')),
    listTasks: unary(notYet(api, 'List tasks')),
    getNetwork: unary(notYet(api, 'Inspect network')),
    listNetworks: unary(notYet(api, 'List networks')),
    createNetwork: unary(notYet(api, 'Create network')),
    removeNetwork: unary(notYet(api, 'Remove network')),
  };
}
