// The failover benchmark's client: one long-lived process holding a channel to every
// manager, writing a node label through the Control API in a loop. A failed call moves
// to the next manager at once. Prints one line per acknowledged write: `ack <epoch ms>`.
// Runs inside a lab node's namespace with a manager's certificate.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { pb } from '@shoal/api';
import { clientCredentials, MANAGER_CHANNEL_OPTIONS } from '@shoal/manager';

const [certDir = '', nodeId = '', durationText = '', ...managers] = process.argv.slice(2);
if (!certDir || !nodeId || !durationText || managers.length === 0) {
  process.stderr.write('usage: failover-client CERT_DIR NODE_ID SECONDS MANAGER...\n');
  process.exit(2);
}
const credentials = clientCredentials({
  rootCaPem: readFileSync(`${certDir}/swarm-root-ca.crt`, 'utf8'),
  certPem: readFileSync(`${certDir}/swarm-node.crt`, 'utf8'),
  keyPem: readFileSync(`${certDir}/swarm-node.key`, 'utf8'),
});
const clients = managers.map(
  (addr) =>
    new pb.ControlClient(addr, credentials, {
      ...MANAGER_CHANNEL_OPTIONS,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 500,
    }),
);

function call<Res>(
  invoke: (cb: (error: grpc.ServiceError | null, response: Res) => void) => void,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    invoke((error, response) => (error ? reject(error) : resolve(response))),
  );
}

async function main(): Promise<void> {
  const until = Date.now() + Number(durationText) * 1000;
  let current = 0;
  let spec: pb.NodeSpec | undefined;
  let counter = 0;
  while (Date.now() < until) {
    const client = clients[current]!;
    const options = { deadline: new Date(Date.now() + 1000) };
    try {
      if (!spec) {
        spec = (
          await call<pb.GetNodeResponse>((cb) =>
            client.getNode({ nodeId }, new grpc.Metadata(), options, cb),
          )
        ).node!.spec!;
      }
      counter += 1;
      const issuedAt = Date.now();
      const labels = { ...(spec.annotations?.labels ?? {}), 'bench.failover': String(counter) };
      await call<pb.UpdateNodeResponse>((cb) =>
        client.updateNode(
          {
            nodeId,
            nodeVersion: 0,
            spec: { ...spec!, annotations: { name: spec!.annotations?.name ?? '', labels } },
          },
          new grpc.Metadata(),
          options,
          cb,
        ),
      );
      process.stdout.write(`ack ${issuedAt} ${Date.now()}\n`);
    } catch {
      current = (current + 1) % clients.length;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  for (const client of clients) client.close();
}

void main();
