// @shoal/agent: what runs on every node. For now, the node's identity on its host.
export { loadOrCreateNodeIdentity, type NodeIdentity, newNodeId } from './node-identity.js';
