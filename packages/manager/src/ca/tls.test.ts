// In-process tests on 127.0.0.1:0: a real grpc-js server with the cluster port's
// credentials and authorisation, called by clients holding different certificates.
import type { PeerCertificate } from 'node:tls';
import {
  type ChannelCredentials,
  type Client,
  Metadata,
  Server,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { ERROR_CODE_TRAILER, fromServiceError, pb, ShoalError, toServiceError } from '@shoal/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuthorizeOptions,
  authorizationInterceptor,
  callerIdentity,
  requireRole,
} from './authorize.js';
import { generateJoinToken } from './join-token.js';
import { verifyRootAgainstToken } from './node-keys.js';
import { RootCA } from './root-ca.js';
import { fakeSecureRng, issueTestNode } from './testing.js';
import {
  checkManagerIdentity,
  clientCredentials,
  insecureCaBootstrapCredentials,
  MANAGER_CHANNEL_OPTIONS,
  serverCredentials,
} from './tls.js';

const CLUSTER = 'c1';
const AUTH: AuthorizeOptions = { clusterId: CLUSTER, isRemoved: (id) => id === 'm9' };
const DEADLINE_MS = 5_000;

type Material = { certPem: string; keyPem: string };

let ours: RootCA;
let server: Server;
let address: string;
const certs: Record<string, Material> = {};
const clients: Client[] = [];

function unary<Req, Res>(
  client: Client,
  method: (
    req: Req,
    md: Metadata,
    opts: { deadline: Date },
    cb: (e: ServiceError | null, r?: Res) => void,
  ) => unknown,
  request: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(
      client,
      request,
      new Metadata(),
      { deadline: new Date(Date.now() + DEADLINE_MS) },
      (error, response) => (error ? reject(error) : resolve(response as Res)),
    );
  });
}

function caClient(credentials: ChannelCredentials): pb.CAClient {
  const client = new pb.CAClient(address, credentials, MANAGER_CHANNEL_OPTIONS);
  clients.push(client);
  return client;
}

function controlClient(credentials: ChannelCredentials): pb.ControlClient {
  const client = new pb.ControlClient(address, credentials, MANAGER_CHANNEL_OPTIONS);
  clients.push(client);
  return client;
}

function mtls(name: string, rootCaPem = ours.certPem): ChannelCredentials {
  return clientCredentials({ rootCaPem, ...certs[name]! });
}

/** The caller's node ID as the open `IssueNodeCertificate` stub reports it. */
async function whoAmI(credentials: ChannelCredentials): Promise<string> {
  const client = caClient(credentials);
  const response = await unary(
    client,
    client.issueNodeCertificate,
    pb.IssueNodeCertificateRequest.fromPartial({}),
  );
  return response.nodeId;
}

/** Calls the manager-only `NodeCertificateStatus` stub. */
async function managerOnly(credentials: ChannelCredentials): Promise<string> {
  const client = caClient(credentials);
  const response = await unary(client, client.nodeCertificateStatus, { nodeId: '' });
  return response.err;
}

async function rejection(promise: Promise<unknown>): Promise<ServiceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as ServiceError;
}

beforeAll(async () => {
  ours = await RootCA.create();
  const theirs = await RootCA.create();
  certs.server = await issueTestNode(ours, { nodeId: 'm0', role: 'manager', clusterId: CLUSTER });
  certs.manager = await issueTestNode(ours, { nodeId: 'm1', role: 'manager', clusterId: CLUSTER });
  certs.worker = await issueTestNode(ours, { nodeId: 'w1', role: 'worker', clusterId: CLUSTER });
  certs.removed = await issueTestNode(ours, { nodeId: 'm9', role: 'manager', clusterId: CLUSTER });
  certs.otherCluster = await issueTestNode(ours, {
    nodeId: 'm2',
    role: 'manager',
    clusterId: 'c2',
  });
  certs.foreign = await issueTestNode(theirs, {
    nodeId: 'm1',
    role: 'manager',
    clusterId: CLUSTER,
  });
  certs.foreignServer = await issueTestNode(theirs, {
    nodeId: 'x0',
    role: 'manager',
    clusterId: CLUSTER,
  });
  certs.theirRoot = { certPem: theirs.certPem, keyPem: '' };

  server = new Server({ interceptors: [authorizationInterceptor(AUTH)] });
  const ca: pb.CAServer = {
    getRootCaCertificate: (_call, callback) =>
      callback(null, { certificate: Buffer.from(ours.certPem) }),
    // Open, as in RPC_ROLES: reports who called, or '' for no certificate.
    issueNodeCertificate: (call, callback) =>
      callback(null, { nodeId: callerIdentity(call)?.nodeId ?? '' }),
    // Treated as manager-only here, to exercise requireRole inside a handler.
    nodeCertificateStatus: (call, callback) => {
      try {
        const caller = requireRole(call, ['manager'], AUTH);
        callback(null, { state: 0, err: caller.nodeId, certificate: undefined });
      } catch (error) {
        callback(toServiceError(error));
      }
    },
  };
  server.addService(pb.CAService, ca);
  // No Control handlers: a call that passes authorisation ends UNIMPLEMENTED.
  server.addService(pb.ControlService, {});
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      '127.0.0.1:0',
      serverCredentials({ rootCaPem: ours.certPem, ...certs.server! }),
      (e, p) => (e ? reject(e) : resolve(p)),
    ),
  );
  address = `127.0.0.1:${port}`;
});

afterAll(() => {
  for (const client of clients) client.close();
  server?.forceShutdown();
});

describe('cluster port (in-process gRPC over TLS)', () => {
  it('cluster port: admits a manager certificate when it calls a manager-only RPC', async () => {
    expect(await managerOnly(mtls('manager'))).toBe('m1');
  });

  it('cluster port: refuses a worker certificate when it calls a manager-only RPC', async () => {
    const error = await rejection(managerOnly(mtls('worker')));
    expect(error.code).toBe(status.PERMISSION_DENIED);
    const typed = fromServiceError(error);
    expect(typed).toBeInstanceOf(ShoalError);
    expect(typed.code).toBe('SHOAL_PERMISSION_DENIED');
    expect(typed.message).toBe(
      'Authorize "/shoal.v1.CA/NodeCertificateStatus": node "w1" has role "swarm-worker": need "swarm-manager"',
    );
  });

  it('cluster port: refuses a removed node when its certificate is still valid', async () => {
    const error = await rejection(managerOnly(mtls('removed')));
    expect(fromServiceError(error).message).toBe(
      'Authorize "/shoal.v1.CA/NodeCertificateStatus": node "m9" was removed from the cluster',
    );
  });

  it('cluster port: refuses a certificate of our root when it names another cluster', async () => {
    // Told to expect cluster c1, so that the client's own check lets the call through.
    const credentials = clientCredentials({
      rootCaPem: ours.certPem,
      ...certs.otherCluster!,
      clusterId: CLUSTER,
    });
    const error = await rejection(managerOnly(credentials));
    expect(fromServiceError(error).message).toBe(
      'Authorize "/shoal.v1.CA/NodeCertificateStatus": node "m2" is from cluster "c2": this cluster is "c1"',
    );
  });

  it("clientCredentials: fails the handshake when the manager is not in the client's cluster", async () => {
    const error = await rejection(managerOnly(mtls('otherCluster')));
    expect(error.code).toBe(status.UNAVAILABLE);
    expect(error.details).toMatch(
      /Check server certificate: node "m0" is in cluster "c1": want "c2"/,
    );
  });

  it('cluster port: reaches only the open RPCs when the caller has no certificate', async () => {
    const anonymous = clientCredentials({ rootCaPem: ours.certPem });
    expect(await whoAmI(anonymous)).toBe('');
    const error = await rejection(managerOnly(anonymous));
    expect(error.code).toBe(status.PERMISSION_DENIED);
    expect(fromServiceError(error).message).toBe(
      'Authorize "/shoal.v1.CA/NodeCertificateStatus": no valid client certificate: need a "swarm-manager" certificate',
    );
  });

  it('cluster port: fails the TLS handshake when the client belongs to another CA', async () => {
    // The other cluster's node trusts only its own root, so our server's certificate
    // does not verify and no call is made.
    const credentials = mtls('foreign', certs.theirRoot!.certPem);
    const error = await rejection(whoAmI(credentials));
    expect(error.code).toBe(status.UNAVAILABLE);
  });

  it('cluster port: treats a foreign client certificate as none when the client trusts our root', async () => {
    // Node's TLS server cannot refuse a bad certificate while admitting none (see tls.ts):
    // the certificate yields no identity, so only the open RPCs answer.
    const credentials = mtls('foreign');
    expect(await whoAmI(credentials)).toBe('');
    const error = await rejection(managerOnly(credentials));
    expect(fromServiceError(error).message).toMatch(/no valid client certificate/);
  });

  it('cluster port: serves the root to a joining node when it dials without verification', async () => {
    const client = caClient(insecureCaBootstrapCredentials());
    const response = await unary(client, client.getRootCaCertificate, {});
    const token = generateJoinToken(ours.digest(), fakeSecureRng());
    expect(() => verifyRootAgainstToken(response.certificate.toString(), token)).not.toThrow();
  });

  it('authorizationInterceptor: refuses the control API with the error trailer when a worker calls it', async () => {
    const client = controlClient(mtls('worker'));
    const error = await rejection(unary(client, client.listNodes, {}));
    expect(error.code).toBe(status.PERMISSION_DENIED);
    expect(error.metadata.get(ERROR_CODE_TRAILER)).toEqual(['SHOAL_PERMISSION_DENIED']);
    expect(error.details).toBe(
      'Authorize "/shoal.v1.Control/ListNodes": node "w1" has role "swarm-worker": need "swarm-manager"',
    );
  });

  it('authorizationInterceptor: lets a manager through to the handler when it calls the control API', async () => {
    const client = controlClient(mtls('manager'));
    const error = await rejection(unary(client, client.listNodes, {}));
    // Authorised: the (absent) handler answers.
    expect(error.code).toBe(status.UNIMPLEMENTED);
  });
});

describe('NodeServerCredentials', () => {
  it('NodeServerCredentials: serves the new certificate on new connections when updated', async () => {
    const credentials = serverCredentials({ rootCaPem: ours.certPem, ...certs.server! });
    const second = new Server();
    const handlers: Pick<pb.CAServer, 'getRootCaCertificate'> = {
      getRootCaCertificate: (_call, callback) => callback(null, { certificate: Buffer.alloc(0) }),
    };
    second.addService(pb.CAService, handlers);
    const port = await new Promise<number>((resolve, reject) =>
      second.bindAsync('127.0.0.1:0', credentials, (e, p) => (e ? reject(e) : resolve(p))),
    );
    try {
      const call = () => {
        const client = new pb.CAClient(
          `127.0.0.1:${port}`,
          clientCredentials({ rootCaPem: ours.certPem }),
          MANAGER_CHANNEL_OPTIONS,
        );
        clients.push(client);
        return unary(client, client.getRootCaCertificate, {});
      };
      await call();
      // A worker certificate: clients must now refuse the server.
      credentials.updateCertificate({ rootCaPem: ours.certPem, ...certs.worker! });
      const error = await rejection(call());
      expect(error.code).toBe(status.UNAVAILABLE);
      expect(error.details).toMatch(/node "w1" is not a manager/);
    } finally {
      second.forceShutdown();
    }
  });
});

describe('checkManagerIdentity', () => {
  const peer = (subject: Record<string, string>) => ({ subject }) as unknown as PeerCertificate;

  it('checkManagerIdentity: accepts a manager of the cluster', () => {
    expect(
      checkManagerIdentity(peer({ O: 'c1', OU: 'swarm-manager', CN: 'm1' }), 'c1'),
    ).toBeUndefined();
    expect(
      checkManagerIdentity(peer({ O: 'c9', OU: 'swarm-manager', CN: 'm1' }), undefined),
    ).toBeUndefined();
  });

  it('checkManagerIdentity: returns an error when the server is a worker', () => {
    expect(
      checkManagerIdentity(peer({ O: 'c1', OU: 'swarm-worker', CN: 'w1' }), 'c1')?.message,
    ).toBe('Check server certificate: node "w1" is not a manager: role "worker"');
  });

  it('checkManagerIdentity: returns an error when the server is in another cluster', () => {
    expect(
      checkManagerIdentity(peer({ O: 'c2', OU: 'swarm-manager', CN: 'm1' }), 'c1')?.message,
    ).toBe('Check server certificate: node "m1" is in cluster "c2": want "c1"');
  });

  it("checkManagerIdentity: returns an error when the subject is not a node's", () => {
    expect(checkManagerIdentity(peer({ CN: 'www.example.com' }), 'c1')?.message).toBe(
      "Read node certificate: subject is not a node's: no O",
    );
  });
});

describe('clientCredentials', () => {
  it('clientCredentials: throws RangeError when only the certificate is given', () => {
    expect(() => clientCredentials({ rootCaPem: 'x', certPem: 'y' })).toThrow(
      new RangeError('Create client credentials: give both certPem and keyPem, or neither'),
    );
  });
});
