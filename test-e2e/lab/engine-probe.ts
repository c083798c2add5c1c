// Readiness probes for a node's daemons: Docker's /_ping over its unix socket, and a
// connect() to shoald's Local API socket. Both answer "not yet" instead of throwing, so
// callers can poll them.
import { request } from 'node:http';
import { connect } from 'node:net';

const PROBE_TIMEOUT_MS = 2_000;

/** Whether the Docker Engine on unix socket `socketPath` answers `GET /_ping` with 200. */
export function pingDocker(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { socketPath, path: '/_ping', method: 'GET', timeout: PROBE_TIMEOUT_MS },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Whether something accepts connections on unix socket `socketPath`. */
export function acceptsConnections(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path: socketPath });
    const timer = setTimeout(() => socket.destroy(), PROBE_TIMEOUT_MS);
    socket.on('connect', () => {
      clearTimeout(timer);
      socket.end();
      resolve(true);
    });
    socket.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}
