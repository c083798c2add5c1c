// The Control service as grpc-js handlers: nodes and the cluster through ControlApi,
// services and tasks through the ServiceApi it carries; networks answer "not supported
// yet" until their issue lands.
import { once } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { type pb, ShoalError, toServiceError, unary } from '@shoal/api';
import type { Logger } from 'pino';
import type { ServiceLogs } from '../logs/service-logs.js';
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
 *
 * `options.logs` serves ServiceLogs (see packages/manager/README.md "Logs"); without
 * it the call answers "not supported yet".
 */
export function controlService(
  api: () => ControlApi,
  log: Logger,
  options: { logs?: () => ServiceLogs } = {},
): UntypedServiceImplementation {
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
    serviceLogs: (call: grpc.ServerWritableStream<pb.ServiceLogsRequest, pb.LogMessage>) => {
      streamLogs(call, () => {
        api();
        if (!options.logs) throw notYetError('Read logs', 'service logs');
        return options.logs();
      }).catch(onUnexpected);
    },
  };
}

/**
 * Writes the logs to `call`, waiting for 'drain' when grpc-js's buffer is full; the
 * caller cancelling aborts the read (and so the broker's subscription).
 */
async function streamLogs(
  call: grpc.ServerWritableStream<pb.ServiceLogsRequest, pb.LogMessage>,
  logs: () => ServiceLogs,
): Promise<void> {
  const controller = new AbortController();
  const onCancel = () => controller.abort(new Error('Read logs: the caller cancelled'));
  call.on('cancelled', onCancel);
  try {
    for await (const message of logs().read(call.request, controller.signal)) {
      if (controller.signal.aborted) break;
      if (!call.write(message)) {
        await Promise.race([once(call, 'drain'), once(controller.signal, 'abort')]);
      }
    }
    if (!call.cancelled) call.end();
  } catch (error) {
    if (!call.cancelled && !call.writableEnded) call.emit('error', toServiceError(error));
  } finally {
    call.off('cancelled', onCancel);
    controller.abort();
  }
}
