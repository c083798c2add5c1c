// Task logs from the node's Docker engine: `docker logs` of the container labelled with
// the task's ID, always with timestamps (the CLI decides whether to show them).
import type { Readable } from 'node:stream';
import { ShoalError } from '@shoal/api';
import Docker from 'dockerode';
import { TASK_LABELS } from '../executor/container-spec.js';
import { DockerLogDemuxer, type LogLine } from './docker-log-frames.js';
import type { TaskLogReadOptions, TaskLogSource } from './task-log-source.js';

/**
 * Reads task logs with dockerode.
 *
 * @example
 * const source = await DockerLogSource.connect({ engineHost: 'unix:///run/docker.sock' });
 * for await (const line of source.read(taskId, { follow: false, tail: -1, signal })) …
 */
export class DockerLogSource implements TaskLogSource {
  readonly #docker: Docker;

  private constructor(docker: Docker) {
    this.#docker = docker;
  }

  /** Resolves once the engine answers `/_ping`. */
  static async connect(options: { engineHost: string }): Promise<DockerLogSource> {
    const docker = new Docker({ socketPath: options.engineHost.replace(/^unix:\/\//, '') });
    await docker.ping();
    return new DockerLogSource(docker);
  }

  async *read(taskId: string, options: TaskLogReadOptions): AsyncIterable<readonly LogLine[]> {
    const found = await this.#docker.listContainers({
      all: true,
      filters: { label: [`${TASK_LABELS.TASK_ID}=${taskId}`] },
    });
    const summary = found[0];
    if (!summary) {
      throw new ShoalError(
        'SHOAL_NOT_FOUND',
        `Read logs: no container for task "${taskId}" on this node`,
      );
    }
    const container = this.#docker.getContainer(summary.Id);
    const demux = new DockerLogDemuxer({ timestamps: true });
    // No `tail` means the whole log.
    const common = {
      stdout: true,
      stderr: true,
      timestamps: true,
      ...(options.tail >= 0 ? { tail: options.tail } : {}),
    };
    if (!options.follow) {
      // dockerode answers a non-follow call with the whole body as one Buffer.
      const body = await container.logs({ ...common, follow: false });
      yield [...demux.push(Buffer.from(body)), ...demux.flush()];
      return;
    }
    const stream = (await container.logs({ ...common, follow: true })) as Readable;
    const onAbort = () => stream.destroy();
    options.signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (options.signal.aborted) return;
      for await (const chunk of stream) {
        const lines = demux.push(chunk as Buffer);
        if (lines.length) yield lines;
      }
      const rest = demux.flush();
      if (rest.length) yield rest;
    } catch (error) {
      if (!options.signal.aborted) throw error;
    } finally {
      options.signal.removeEventListener('abort', onAbort);
      stream.destroy();
    }
  }
}
