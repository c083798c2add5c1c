import { pb, ShoalError } from '@shoal/api';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import type { LocalApiClient } from '../client/cli-context.js';
import { parseTail, serviceLogsCommand } from './service-logs-command.js';
import { formatLogLine, logContextName } from './service-logs-format.js';

const SVC = 'websvc111111111111111111a';
const NODES = [
  pb.Node.fromPartial({ id: 'n1', description: { hostname: 'lab-w1' } }),
  pb.Node.fromPartial({ id: 'n2', description: { hostname: 'lab-w22' } }),
];
const TASKS = [
  pb.Task.fromPartial({
    id: 'abcdef1234567890aaaa',
    serviceId: SVC,
    slot: 1,
    nodeId: 'n1',
    serviceAnnotations: { name: 'web' },
  }),
  pb.Task.fromPartial({
    id: 'bbcdef1234567890bbbb',
    serviceId: SVC,
    slot: 2,
    nodeId: 'n2',
    serviceAnnotations: { name: 'web' },
  }),
];

function line(taskId: string, nodeId: string, text: string): pb.LogMessage {
  return {
    taskId,
    nodeId,
    serviceId: SVC,
    timestamp: new Date('2026-11-25T16:00:00.123Z'),
    stream: pb.LogMessage_Stream.STREAM_STDOUT,
    data: Buffer.from(text),
  };
}

function fake(messages: pb.LogMessage[]) {
  const requests: pb.ServiceLogsRequest[] = [];
  const client = {
    close: () => {},
    control: {
      getService: async (r: pb.GetServiceRequest) => {
        if (r.serviceId !== 'web')
          throw new ShoalError('SHOAL_NOT_FOUND', `No such service: "${r.serviceId}"`);
        return {
          service: pb.Service.fromPartial({ id: SVC, spec: { annotations: { name: 'web' } } }),
        };
      },
      listTasks: async () => ({ tasks: TASKS }),
      getTask: async (r: pb.GetTaskRequest) => {
        const task = TASKS.find((t) => t.id.startsWith(r.taskId));
        if (!task) throw new ShoalError('SHOAL_NOT_FOUND', `No such task: "${r.taskId}"`);
        return { task };
      },
      getNode: async (r: pb.GetNodeRequest) => ({ node: NODES.find((n) => n.id === r.nodeId) }),
      async *serviceLogs(request: pb.ServiceLogsRequest) {
        requests.push(request);
        yield* messages;
      },
    },
  } as unknown as LocalApiClient;
  const out: string[] = [];
  const run = async (...args: string[]) => {
    const program = new Command().exitOverride();
    program.addCommand(
      serviceLogsCommand({ out: (t) => out.push(t), env: {}, connect: async () => client }),
    );
    await program.parseAsync(['logs', ...args], { from: 'user' });
  };
  return { run, out, requests };
}

describe('shoal service logs', () => {
  it('shoal service logs: prefixes each line with the padded task name when reading a service', async () => {
    const f = fake([line(TASKS[0]!.id, 'n1', 'hello'), line(TASKS[1]!.id, 'n2', 'world')]);
    await f.run('web');
    expect(f.out.join('')).toBe(
      ['web.1.abcdef123456@lab-w1  | hello', 'web.2.bbcdef123456@lab-w22 | world', ''].join('\n'),
    );
    expect(f.requests).toEqual([
      { service: SVC, task: '', follow: false, tail: -1, timestamps: false },
    ]);
  });

  it('shoal service logs: passes -f, --tail and shows timestamps without task IDs when asked', async () => {
    const f = fake([line(TASKS[0]!.id, 'n1', 'hello')]);
    await f.run('-f', '--tail', '5', '--timestamps', '--no-task-ids', 'web');
    expect(f.out.join('')).toBe('2026-11-25T16:00:00.123Z web.1@lab-w1  | hello\n');
    expect(f.requests).toEqual([
      { service: SVC, task: '', follow: true, tail: 5, timestamps: true },
    ]);
  });

  it('shoal service logs: reads one task when the reference is a task', async () => {
    const f = fake([line(TASKS[1]!.id, 'n2', 'x')]);
    await f.run('--no-trunc', 'bbcdef');
    expect(f.out.join('')).toBe('web.2.bbcdef1234567890bbbb@lab-w22 | x\n');
    expect(f.requests[0]!.task).toBe(TASKS[1]!.id);
  });

  it('shoal service logs: fails with NOT_FOUND when neither a service nor a task matches', async () => {
    const f = fake([]);
    await expect(f.run('nope')).rejects.toMatchObject({
      code: 'SHOAL_NOT_FOUND',
      message: 'No such task: "nope"',
    });
  });
});

describe('service logs format', () => {
  it('logContextName: uses the node ID for the slot of a global service task', () => {
    expect(
      logContextName({
        serviceName: 'mon',
        slot: 0,
        taskId: 'x'.repeat(25),
        nodeId: 'node1',
        nodeName: 'lab-w1',
      }),
    ).toBe('mon.node1.xxxxxxxxxxxx@lab-w1');
  });

  it('formatLogLine: pads the prefix to the width given', () => {
    const context = {
      serviceName: 'web',
      slot: 1,
      taskId: 'abcdef1234567890',
      nodeId: 'n1',
      nodeName: 'lab-w1',
    };
    expect(formatLogLine(line('t', 'n1', 'hi'), context, { padTo: 28 })).toBe(
      'web.1.abcdef123456@lab-w1    | hi\n',
    );
  });

  const tails = [
    { name: 'all', input: 'all', want: -1 },
    { name: 'a count', input: '20', want: 20 },
    { name: 'zero', input: '0', want: 0 },
  ];
  for (const c of tails) {
    it(`parseTail: reads ${c.name}`, () => expect(parseTail(c.input)).toBe(c.want));
  }
  it('parseTail: refuses a negative number', () => {
    expect(() => parseTail('-3')).toThrow(
      'Read logs: --tail must be a number of lines or "all": got "-3"',
    );
  });
});
