// @shoal/raft/testing: deterministic fakes and the simulator, for this package's tests and
// for other packages that want to drive a Raft cluster without sockets or clocks.

export {
  decodeCommand,
  encodeCommand,
  type KvCommand,
  KvStateMachine,
} from './kv-state-machine.js';
export {
  checkLinearizable,
  type KvOperation,
  type LinearizabilityResult,
} from './linearizability.js';
export { SafetyOracle } from './safety-oracle.js';
export { runSchedule, type ScheduleOptions, type ScheduleResult } from './schedule.js';
export {
  describe as describeMessage,
  SimCluster,
  type SimClusterOptions,
  SimMember,
} from './sim-cluster.js';
export { SimDisk } from './sim-disk.js';
export { type NetworkFaults, NO_NETWORK_FAULTS, SimNetwork } from './sim-network.js';
export {
  bytes,
  type TestMember,
  TestNetwork,
  type TestNetworkOptions,
  type Verdict,
} from './test-network.js';
