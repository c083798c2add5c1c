// The node's identity on this host: a random ID made on the daemon's first start and
// kept in the data directory, so the node is the same node across restarts. The CA
// takes it as the node's ID when the node first joins a swarm.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ShoalError } from '@shoal/api';

const IDENTITY_FILE = 'node-identity.json';
/** Node IDs are 25 lowercase base-36 characters, as Docker's are. */
const NODE_ID_PATTERN = /^[a-z0-9]{25}$/;

/** What identifies this node across restarts. */
export interface NodeIdentity {
  readonly nodeId: string;
}

/** A new node ID: 25 base-36 characters from 128 random bits. */
export function newNodeId(): string {
  const bits = BigInt(`0x${randomBytes(16).toString('hex')}`);
  return bits.toString(36).padStart(25, '0').slice(-25);
}

/**
 * Loads the node identity from `dataDir`, creating it on first start.
 *
 * @example
 * const { nodeId } = await loadOrCreateNodeIdentity('/var/lib/shoal');
 */
export async function loadOrCreateNodeIdentity(dataDir: string): Promise<NodeIdentity> {
  const path = join(dataDir, IDENTITY_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const identity: NodeIdentity = { nodeId: newNodeId() };
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    // Write then rename, so a crash never leaves a half-written identity behind.
    await writeFile(`${path}.tmp`, `${JSON.stringify(identity)}\n`, { mode: 0o600 });
    await rename(`${path}.tmp`, path);
    return identity;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ShoalError('SHOAL_INTERNAL', `Load node identity: "${path}" is not valid JSON`, {
      cause: error,
    });
  }
  const nodeId = (parsed as { nodeId?: unknown }).nodeId;
  if (typeof nodeId !== 'string' || !NODE_ID_PATTERN.test(nodeId)) {
    throw new ShoalError(
      'SHOAL_INTERNAL',
      `Load node identity: "${path}" holds no valid node ID: got ${JSON.stringify(nodeId)}`,
    );
  }
  return { nodeId };
}
