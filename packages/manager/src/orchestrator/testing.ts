// Builders and a compact action notation for the orchestrators' and updater's tests.
import { durationFromMs, pb, validateServiceSpec } from '@shoal/api';
import type { OrchestratorAction } from './orchestrator-action.js';

/** What a test service may set. */
export interface TestService {
  readonly replicas?: number;
  readonly global?: boolean;
  readonly specVersion?: number;
  readonly restart?: {
    condition?: pb.RestartPolicy_Condition;
    delayMs?: number;
    maxAttempts?: number;
    windowMs?: number;
  };
  readonly update?: Partial<Omit<pb.UpdateConfig, 'delay' | 'monitor'>> & {
    delayMs?: number;
    monitorMs?: number;
  };
  readonly rollback?: TestService['update'];
  readonly constraints?: string[];
  readonly image?: string;
  readonly updateStatus?: pb.UpdateStatus;
  readonly previousImage?: string;
}

function updateConfig(u: TestService['update']): pb.UpdateConfig | undefined {
  if (!u) return undefined;
  return {
    parallelism: u.parallelism ?? 1,
    failureAction: u.failureAction ?? pb.UpdateConfig_FailureAction.FAILURE_ACTION_PAUSE,
    maxFailureRatio: u.maxFailureRatio ?? 0,
    order: u.order ?? pb.UpdateConfig_Order.ORDER_STOP_FIRST,
    delay: durationFromMs(u.delayMs ?? 0),
    monitor: durationFromMs(u.monitorMs ?? 5000),
  };
}

function serviceSpec(s: TestService, image: string): pb.ServiceSpec {
  return validateServiceSpec({
    annotations: { name: 'web', labels: {} },
    mode: s.global
      ? { $case: 'global', global: {} }
      : { $case: 'replicated', replicated: { replicas: s.replicas ?? 1 } },
    task: {
      container: testContainerSpec(image),
      restart: s.restart && {
        condition: s.restart.condition ?? pb.RestartPolicy_Condition.CONDITION_ANY,
        delay: durationFromMs(s.restart.delayMs ?? 5000),
        maxAttempts: s.restart.maxAttempts ?? 0,
        window: durationFromMs(s.restart.windowMs ?? 0),
      },
      placement: { constraints: s.constraints ?? [], preferences: [], maxReplicas: 0 },
      networks: [],
      forceUpdate: 0,
    },
    update: updateConfig(s.update),
    rollback: updateConfig(s.rollback),
  });
}

/** A container spec with only an image and labels set. @internal */
export function testContainerSpec(
  image: string,
  labels: Record<string, string> = {},
): pb.ContainerSpec {
  return {
    image,
    labels,
    command: [],
    args: [],
    hostname: '',
    env: [],
    dir: '',
    user: '',
    mounts: [],
    stopSignal: '',
  };
}

/** A service `svc` named web for tests. @internal */
export function testService(s: TestService = {}): pb.Service {
  const service: pb.Service = {
    id: 'svc',
    spec: serviceSpec(s, s.image ?? 'app:v1'),
    specVersion: s.specVersion ?? 1,
  };
  if (s.previousImage) service.previousSpec = serviceSpec(s, s.previousImage);
  if (s.updateStatus) service.updateStatus = s.updateStatus;
  return service;
}

/** IDs new1, new2, … for created tasks. @internal */
export function sequentialIds(): () => string {
  let n = 0;
  return () => `new${++n}`;
}

/**
 * Actions in a short text form: `create 3 READY`, `create @node-a RUNNING`,
 * `t1 SHUTDOWN (task failed)`, `delete t1`. @internal
 */
export function describeActions(actions: readonly OrchestratorAction[]): string[] {
  return actions.map(describeAction);
}

function describeAction(a: OrchestratorAction): string {
  switch (a.type) {
    case 'createTask': {
      const where = a.task.nodeId ? `@${a.task.nodeId}` : `${a.task.slot}`;
      return `create ${where} ${stateName(a.task.desiredState)}`;
    }
    case 'setDesiredState':
      return `${a.taskId} ${stateName(a.desiredState)} (${a.reason})`;
    case 'deleteTask':
      return `delete ${a.taskId}`;
  }
}

function stateName(state: pb.TaskState): string {
  return pb.taskStateToJSON(state).replace('TASK_STATE_', '');
}
