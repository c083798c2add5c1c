import { pb } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import { RPC_ROLES } from './rpc-roles.js';

/** Every method path of every service definition the generated API exports. */
function generatedMethodPaths(): string[] {
  const paths: string[] = [];
  for (const [name, value] of Object.entries(pb)) {
    if (!name.endsWith('Service') || typeof value !== 'object' || value === null) continue;
    for (const method of Object.values(value)) {
      const path = (method as { path?: unknown }).path;
      if (typeof path === 'string') paths.push(path);
    }
  }
  return paths.sort();
}

describe('RPC_ROLES', () => {
  it('RPC_ROLES: has a rule for every RPC when the proto services are read', () => {
    const paths = generatedMethodPaths();
    // Guards the reader itself: the services of proto/shoal/v1 hold at least this many.
    expect(paths.length).toBeGreaterThanOrEqual(30);
    const missing = paths.filter((path) => !Object.hasOwn(RPC_ROLES, path));
    expect(missing, 'add these RPCs to RPC_ROLES in rpc-roles.ts').toEqual([]);
  });

  it('RPC_ROLES: names no RPC that the protos do not have', () => {
    const paths = new Set(generatedMethodPaths());
    const stale = Object.keys(RPC_ROLES).filter((path) => !paths.has(path));
    expect(stale).toEqual([]);
  });

  it('RPC_ROLES: keeps the control API and Raft for managers and opens only the CA calls', () => {
    for (const [path, rule] of Object.entries(RPC_ROLES)) {
      const service = path.split('/')[1];
      if (
        ['shoal.v1.Control', 'shoal.v1.Raft', 'shoal.v1.RaftMembership'].includes(service ?? '')
      ) {
        expect(rule, path).toEqual({ type: 'roles', roles: ['manager'] });
      } else if (service === 'shoal.v1.Dispatcher') {
        expect(rule, path).toEqual({ type: 'roles', roles: ['worker', 'manager'] });
      } else if (service === 'shoal.v1.CA') {
        expect(rule, path).toEqual({ type: 'open' });
      } else {
        expect(rule, path).toEqual({ type: 'local' });
      }
    }
  });
});
