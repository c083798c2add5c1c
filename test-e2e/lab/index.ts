// The lab's public API, for the e2e suites, the demo and the benchmarks.
export { type KillCgroupOptions, killCgroup, listCgroupPids } from './cgroup-tree.js';
export {
  LAB_SYSTEM_ERROR_CODES,
  LAB_USER_ERROR_CODES,
  LabError,
  type LabErrorCode,
} from './errors.js';
export {
  hasShoald,
  Lab,
  type LabCreateOptions,
  type LabExecOptions,
  type LabKillOptions,
  type LabNodeStatus,
  type LabNodesOptions,
  type LabOpenOptions,
  type LabStatus,
  type LabStopOptions,
} from './lab.js';
export {
  compileLabLayout,
  LAB_BRIDGE,
  LAB_CGROUP,
  LAB_LINK_PREFIX,
  LAB_NETNS_PREFIX,
  type LabLayout,
  type LabLayoutOptions,
  type NodePaths,
  nodePaths,
} from './lab-layout.js';
export type {
  LabDaemon,
  LabNodeRecord,
  LabStateRecord,
  NodeCapacity,
  NodeRole,
} from './lab-state.js';
export { listMountsUnder, type TeardownReport } from './lab-teardown.js';
export { parseCapacityFlag, parseLabelFlag, parseMemorySize } from './node-flags.js';
export type { CommandResult } from './run-command.js';
export { TASK_IMAGE } from './task-image.js';
export { DEFAULT_UNDERLAY_CIDR, parseUnderlaySubnet } from './underlay-subnet.js';
