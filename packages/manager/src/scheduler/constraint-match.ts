// Whether a node satisfies placement constraints, with swarmkit's matching rules
// (manager/constraint/constraint.go): values compare case-insensitively, and a label
// the node does not have fails `==` and satisfies `!=`.
import { type Constraint, pb } from '@shoal/api';

/**
 * The node's value for a constraint key or spread descriptor (`node.labels.zone`), or
 * undefined when the node has no such attribute or label.
 *
 * @example
 * nodeAttribute(node, 'node.role'); // 'manager'
 */
export function nodeAttribute(node: pb.Node, key: string): string | undefined {
  switch (key) {
    case 'node.id':
      return node.id;
    case 'node.hostname':
      return node.description?.hostname;
    case 'node.role':
      return node.role === pb.NodeRole.NODE_ROLE_MANAGER ? 'manager' : 'worker';
    case 'node.platform.os':
      return node.description?.os;
    case 'node.platform.arch':
      return node.description?.arch;
  }
  if (key.startsWith('node.labels.')) {
    return node.spec?.annotations?.labels[key.slice('node.labels.'.length)];
  }
  if (key.startsWith('engine.labels.')) {
    return node.description?.engine?.labels[key.slice('engine.labels.'.length)];
  }
  return undefined;
}

/**
 * Whether `node` satisfies every constraint.
 *
 * @example
 * matchConstraints(node, [parseConstraint('node.labels.zone==east')]);
 */
export function matchConstraints(node: pb.Node, constraints: readonly Constraint[]): boolean {
  return constraints.every((c) => {
    const actual = nodeAttribute(node, c.key);
    const equal = actual !== undefined && actual.toLowerCase() === c.value.toLowerCase();
    return c.op === '==' ? equal : !equal;
  });
}
