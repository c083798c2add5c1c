// What a node keeps on disk about its swarm membership: a small JSON state file and its
// certificates, under `<data-dir>/swarm/`. Written with write-then-rename so a crash
// leaves the old or the new version, never a torn one.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ShoalError } from '@shoal/api';

/** A node's membership, as it survives restarts. */
export interface SwarmState {
  readonly clusterId: string;
  readonly nodeId: string;
  /** The role of the node's current certificate. */
  readonly role: 'worker' | 'manager';
  /** host:port the manager port binds, when this node is (or becomes) a manager. */
  readonly listenAddr: string;
  /** host:port others reach this node's manager port at. */
  readonly advertiseAddr: string;
  /** This manager's Raft ID, 0 for workers. */
  readonly raftId: number;
  /** Managers' addresses the agent can reach, most recent first. */
  readonly managers: readonly string[];
}

/** The node's certificate material, PEM. */
export interface SwarmCertificates {
  readonly rootCaPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

const STATE_FILE = 'state.json';
const ROOT_CA_FILE = 'swarm-root-ca.crt';
const CERT_FILE = 'swarm-node.crt';
const KEY_FILE = 'swarm-node.key';

async function writeAtomically(path: string, data: string, mode: number): Promise<void> {
  await writeFile(`${path}.tmp`, data, { mode });
  await rename(`${path}.tmp`, path);
}

/** The swarm part of a node's data directory. */
export class SwarmStateDir {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'swarm');
  }

  /** Where a manager's Raft WAL and snapshots live. */
  get raftDir(): string {
    return join(this.dir, 'raft');
  }

  /** The saved membership, or undefined when the node is in no swarm. */
  async load(): Promise<{ state: SwarmState; certificates: SwarmCertificates } | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.dir, STATE_FILE), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    let state: SwarmState;
    try {
      state = JSON.parse(text) as SwarmState;
    } catch (error) {
      throw new ShoalError(
        'SHOAL_INTERNAL',
        `Load swarm state: "${join(this.dir, STATE_FILE)}" is not valid JSON`,
        { cause: error },
      );
    }
    const certDir = join(this.dir, 'certificates');
    const [rootCaPem, certPem, keyPem] = await Promise.all(
      [ROOT_CA_FILE, CERT_FILE, KEY_FILE].map((name) => readFile(join(certDir, name), 'utf8')),
    );
    return { state, certificates: { rootCaPem: rootCaPem!, certPem: certPem!, keyPem: keyPem! } };
  }

  async saveState(state: SwarmState): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeAtomically(join(this.dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`, 0o600);
  }

  async saveCertificates(certificates: SwarmCertificates): Promise<void> {
    const certDir = join(this.dir, 'certificates');
    await mkdir(certDir, { recursive: true, mode: 0o700 });
    await writeAtomically(join(certDir, ROOT_CA_FILE), certificates.rootCaPem, 0o644);
    await writeAtomically(join(certDir, KEY_FILE), certificates.keyPem, 0o600);
    await writeAtomically(join(certDir, CERT_FILE), certificates.certPem, 0o644);
  }

  /** Forgets the swarm: state, certificates and Raft data. */
  async clear(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Forgets only the Raft data (a manager demoted to worker). */
  async clearRaft(): Promise<void> {
    await rm(this.raftDir, { recursive: true, force: true });
  }
}
