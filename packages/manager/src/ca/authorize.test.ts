import type { PeerCertificate } from 'node:tls';
import { ShoalError } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import {
  type AuthorizeOptions,
  callerIdentity,
  checkIdentity,
  checkRpc,
  requireRole,
} from './authorize.js';
import type { NodeIdentity, NodeRoleName } from './node-identity.js';
import { thrownBy } from './testing.js';

const OPTIONS: AuthorizeOptions = { clusterId: 'c1', isRemoved: (id) => id === 'gone' };
const WORKER: NodeIdentity = { nodeId: 'w1', role: 'worker', clusterId: 'c1' };
const MANAGER: NodeIdentity = { nodeId: 'm1', role: 'manager', clusterId: 'c1' };

function fakeCall(
  subject: Record<string, string> | undefined,
  path = '/shoal.v1.Control/ListNodes',
) {
  return {
    getPath: () => path,
    getAuthContext: () =>
      subject === undefined
        ? {}
        : { sslPeerCertificate: { subject } as unknown as PeerCertificate },
  };
}

function denial(fn: () => unknown): string {
  const error = thrownBy(fn);
  expect(error).toBeInstanceOf(ShoalError);
  expect((error as ShoalError).code).toBe('SHOAL_PERMISSION_DENIED');
  return (error as ShoalError).message;
}

describe('checkIdentity', () => {
  const path = '/shoal.v1.Control/ListNodes';
  const table: {
    name: string;
    identity: NodeIdentity | undefined;
    roles: NodeRoleName[];
    error?: string;
  }[] = [
    { name: 'a manager calls a manager RPC', identity: MANAGER, roles: ['manager'] },
    { name: 'a worker calls a node RPC', identity: WORKER, roles: ['worker', 'manager'] },
    {
      name: 'there is no certificate',
      identity: undefined,
      roles: ['manager'],
      error: `Authorize "${path}": no valid client certificate: need a "swarm-manager" certificate`,
    },
    {
      name: 'there is no certificate for a node RPC',
      identity: undefined,
      roles: ['worker', 'manager'],
      error: `Authorize "${path}": no valid client certificate: need a "swarm-worker" or "swarm-manager" certificate`,
    },
    {
      name: 'a worker calls a manager RPC',
      identity: WORKER,
      roles: ['manager'],
      error: `Authorize "${path}": node "w1" has role "swarm-worker": need "swarm-manager"`,
    },
    {
      name: 'the certificate is from another cluster',
      identity: { ...MANAGER, clusterId: 'c2' },
      roles: ['manager'],
      error: `Authorize "${path}": node "m1" is from cluster "c2": this cluster is "c1"`,
    },
    {
      name: 'the node was removed',
      identity: { ...MANAGER, nodeId: 'gone' },
      roles: ['manager'],
      error: `Authorize "${path}": node "gone" was removed from the cluster`,
    },
  ];
  for (const { name, identity, roles, error } of table) {
    if (error === undefined) {
      it(`checkIdentity: admits the caller when ${name}`, () => {
        expect(checkIdentity(path, identity, roles, OPTIONS)).toBe(identity);
      });
    } else {
      it(`checkIdentity: throws SHOAL_PERMISSION_DENIED when ${name}`, () => {
        expect(denial(() => checkIdentity(path, identity, roles, OPTIONS))).toBe(error);
      });
    }
  }
});

describe('checkRpc', () => {
  it('checkRpc: applies the manager rule when a worker calls the control API', () => {
    expect(denial(() => checkRpc('/shoal.v1.Control/CreateService', WORKER, OPTIONS))).toBe(
      'Authorize "/shoal.v1.Control/CreateService": node "w1" has role "swarm-worker": need "swarm-manager"',
    );
    expect(checkRpc('/shoal.v1.Control/CreateService', MANAGER, OPTIONS)).toBe(MANAGER);
  });

  it('checkRpc: admits workers and managers when they call the dispatcher', () => {
    expect(checkRpc('/shoal.v1.Dispatcher/Session', WORKER, OPTIONS)).toBe(WORKER);
    expect(checkRpc('/shoal.v1.Dispatcher/Session', MANAGER, OPTIONS)).toBe(MANAGER);
  });

  it('checkRpc: admits anyone when the CA calls are open', () => {
    expect(checkRpc('/shoal.v1.CA/IssueNodeCertificate', undefined, OPTIONS)).toBeUndefined();
    expect(checkRpc('/shoal.v1.CA/NodeCertificateStatus', WORKER, OPTIONS)).toBe(WORKER);
  });

  it('checkRpc: refuses a method when it has no rule', () => {
    expect(denial(() => checkRpc('/shoal.v1.Control/Nuke', MANAGER, OPTIONS))).toBe(
      'Authorize "/shoal.v1.Control/Nuke": no access rule for this method',
    );
  });

  it('checkRpc: refuses a local RPC when it arrives on the cluster port', () => {
    expect(denial(() => checkRpc('/shoal.v1.Local/Info', MANAGER, OPTIONS))).toBe(
      'Authorize "/shoal.v1.Local/Info": served only on the local socket',
    );
  });
});

describe('callerIdentity and requireRole', () => {
  it('callerIdentity: reads the node from the peer certificate when there is one', () => {
    const call = fakeCall({ O: 'c1', OU: 'swarm-manager', CN: 'm1' });
    expect(callerIdentity(call)).toEqual(MANAGER);
  });

  it("callerIdentity: is undefined when there is no certificate or it is not a node's", () => {
    expect(callerIdentity(fakeCall(undefined))).toBeUndefined();
    expect(callerIdentity(fakeCall({ CN: 'www.example.com' }))).toBeUndefined();
  });

  it("requireRole: names the call's method when it refuses", () => {
    const call = fakeCall({ O: 'c1', OU: 'swarm-worker', CN: 'w1' }, '/shoal.v1.Raft/Propose');
    expect(denial(() => requireRole(call, ['manager'], OPTIONS))).toBe(
      'Authorize "/shoal.v1.Raft/Propose": node "w1" has role "swarm-worker": need "swarm-manager"',
    );
    expect(requireRole(call, ['worker'], OPTIONS)).toEqual(WORKER);
  });
});
