// Docker's multiplexed log stream, parsed without I/O. A non-TTY container's logs come
// as frames: an 8-byte header (stream type 0/1/2, three zero bytes, big-endian uint32
// payload length) then the payload (Docker Engine API, "Attach to a container: Stream
// format"). With `timestamps` each line starts with an RFC 3339 time and a space.

/** Which output a line came from. */
export type LogStreamName = 'stdout' | 'stderr';

/** One line of a container's output. */
export interface LogLine {
  readonly stream: LogStreamName;
  /** When Docker recorded it, if the stream carried timestamps. */
  readonly timestamp: Date | undefined;
  /** The line, without its trailing newline. */
  readonly data: Buffer;
}

const HEADER_BYTES = 8;

/**
 * Splits Docker's multiplexed stream into lines, across chunk boundaries.
 *
 * @example
 * const demux = new DockerLogDemuxer({ timestamps: true });
 * for (const line of demux.push(chunk)) write(line.stream, line.data);
 * demux.flush(); // a last line without a newline
 */
export class DockerLogDemuxer {
  readonly #timestamps: boolean;
  #buffer: Buffer = Buffer.alloc(0);
  /** A partial line of each stream, waiting for its newline. */
  readonly #partial: Record<LogStreamName, Buffer> = {
    stdout: Buffer.alloc(0),
    stderr: Buffer.alloc(0),
  };

  constructor(options: { timestamps: boolean }) {
    this.#timestamps = options.timestamps;
  }

  /** The complete lines `chunk` finishes. */
  push(chunk: Buffer): LogLine[] {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    const lines: LogLine[] = [];
    while (this.#buffer.length >= HEADER_BYTES) {
      const size = this.#buffer.readUInt32BE(4);
      if (this.#buffer.length < HEADER_BYTES + size) break;
      // 0 is stdin (never in logs); anything but 2 is treated as stdout.
      const stream: LogStreamName = this.#buffer[0] === 2 ? 'stderr' : 'stdout';
      const payload = this.#buffer.subarray(HEADER_BYTES, HEADER_BYTES + size);
      this.#buffer = this.#buffer.subarray(HEADER_BYTES + size);
      this.#takeLines(stream, payload, lines);
    }
    return lines;
  }

  /** Lines left without a newline at the end of the stream. */
  flush(): LogLine[] {
    const lines: LogLine[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.#partial[stream].length) lines.push(this.#line(stream, this.#partial[stream]));
      this.#partial[stream] = Buffer.alloc(0);
    }
    return lines;
  }

  #takeLines(stream: LogStreamName, payload: Buffer, out: LogLine[]): void {
    let data = this.#partial[stream].length
      ? Buffer.concat([this.#partial[stream], payload])
      : payload;
    for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10)) {
      out.push(this.#line(stream, data.subarray(0, nl)));
      data = data.subarray(nl + 1);
    }
    this.#partial[stream] = Buffer.from(data);
  }

  #line(stream: LogStreamName, raw: Buffer): LogLine {
    if (!this.#timestamps) return { stream, timestamp: undefined, data: Buffer.from(raw) };
    const space = raw.indexOf(32);
    const time = space > 0 ? new Date(raw.subarray(0, space).toString()) : undefined;
    if (!time || Number.isNaN(time.getTime())) {
      return { stream, timestamp: undefined, data: Buffer.from(raw) };
    }
    return { stream, timestamp: time, data: Buffer.from(raw.subarray(space + 1)) };
  }
}
