// What the node's container engine says about itself (version, engine labels), for the
// node description the scheduler and `node ls` use. One GET /info over the engine's
// unix socket.
import { request } from 'node:http';
import { ShoalError } from '@shoal/api';

/** The engine facts a node reports. */
export interface EngineFacts {
  readonly engineVersion: string;
  readonly labels: Record<string, string>;
}

const ENGINE_INFO_TIMEOUT_MS = 5000;

/** Reads the engine's version and labels from `unix:///path/docker.sock`. */
export function readEngineFacts(engineHost: string): Promise<EngineFacts> {
  const socketPath = engineHost.replace(/^unix:\/\//, '');
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, path: '/info', method: 'GET', timeout: ENGINE_INFO_TIMEOUT_MS },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => {
          try {
            const info = JSON.parse(body) as { ServerVersion?: string; Labels?: string[] | null };
            const labels: Record<string, string> = {};
            for (const label of info.Labels ?? []) {
              const eq = label.indexOf('=');
              if (eq > 0) labels[label.slice(0, eq)] = label.slice(eq + 1);
            }
            resolve({ engineVersion: info.ServerVersion ?? '', labels });
          } catch (error) {
            reject(
              new ShoalError(
                'SHOAL_UNAVAILABLE',
                `Read engine info from "${engineHost}": the answer is not JSON`,
                { cause: error },
              ),
            );
          }
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`no answer within ${ENGINE_INFO_TIMEOUT_MS} ms`)),
    );
    req.on('error', (error) =>
      reject(
        new ShoalError(
          'SHOAL_UNAVAILABLE',
          `Read engine info from "${engineHost}": ${error.message}`,
          { cause: error },
        ),
      ),
    );
    req.end();
  });
}
