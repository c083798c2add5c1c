// What a node's status and availability allow: new tasks only on ready, active nodes;
// existing tasks keep running on paused nodes and leave drained or down ones (Swarm's
// node availability, reference §5.4).
import { pb } from '@shoal/api';

/**
 * Whether the scheduler may place new tasks on `node`: ready and active.
 *
 * @example
 * nodes.filter(isNodeAcceptingTasks);
 */
export function isNodeAcceptingTasks(node: pb.Node): boolean {
  return (
    node.status?.state === pb.NodeStatus_State.STATE_READY &&
    (node.spec?.availability ?? pb.NodeAvailability.NODE_AVAILABILITY_ACTIVE) ===
      pb.NodeAvailability.NODE_AVAILABILITY_ACTIVE
  );
}

/**
 * Whether tasks already on `node` must move: the node is gone from the swarm, down, or
 * drained. Unknown and disconnected nodes keep their tasks: the dispatcher marks a node
 * down once it has really stopped heartbeating.
 *
 * @example
 * if (isNodeShedding(nodes.get(task.nodeId))) replace(task);
 */
export function isNodeShedding(node: pb.Node | undefined): boolean {
  return (
    node === undefined ||
    node.status?.state === pb.NodeStatus_State.STATE_DOWN ||
    node.spec?.availability === pb.NodeAvailability.NODE_AVAILABILITY_DRAIN
  );
}
