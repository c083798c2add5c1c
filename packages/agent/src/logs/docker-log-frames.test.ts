import { describe, expect, it } from 'vitest';
import { DockerLogDemuxer } from './docker-log-frames.js';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

function lines(demux: DockerLogDemuxer, chunks: Buffer[]) {
  const out = chunks.flatMap((chunk) => demux.push(chunk)).concat(demux.flush());
  return out.map((l) => [l.stream, l.timestamp?.toISOString(), l.data.toString()]);
}

describe('DockerLogDemuxer', () => {
  const cases: Array<{ name: string; timestamps: boolean; input: Buffer[]; want: unknown[] }> = [
    {
      name: 'splits frames of both streams into lines',
      timestamps: false,
      input: [Buffer.concat([frame(1, 'a\n'), frame(2, 'b\n'), frame(1, 'c\nd\n')])],
      want: [
        ['stdout', undefined, 'a'],
        ['stderr', undefined, 'b'],
        ['stdout', undefined, 'c'],
        ['stdout', undefined, 'd'],
      ],
    },
    {
      name: 'joins a frame cut across chunks',
      timestamps: false,
      input: (() => {
        const all = frame(1, 'hello\n');
        return [all.subarray(0, 3), all.subarray(3, 10), all.subarray(10)];
      })(),
      want: [['stdout', undefined, 'hello']],
    },
    {
      name: 'joins a line cut across frames and flushes a last line without newline',
      timestamps: false,
      input: [frame(1, 'par'), frame(1, 'tial\nend')],
      want: [
        ['stdout', undefined, 'partial'],
        ['stdout', undefined, 'end'],
      ],
    },
    {
      name: 'parses the timestamp Docker puts before each line',
      timestamps: true,
      input: [frame(2, '2026-11-25T16:00:00.123456789Z oops\n')],
      want: [['stderr', '2026-11-25T16:00:00.123Z', 'oops']],
    },
    {
      name: 'keeps a line whole when its timestamp does not parse',
      timestamps: true,
      input: [frame(1, 'not-a-time x\n')],
      want: [['stdout', undefined, 'not-a-time x']],
    },
  ];
  for (const c of cases) {
    it(`DockerLogDemuxer: ${c.name}`, () => {
      expect(lines(new DockerLogDemuxer({ timestamps: c.timestamps }), c.input)).toEqual(c.want);
    });
  }
});
