import { pb } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import type { Message } from '../core/types.js';
import { MESSAGE_TYPE_CODES, messageFromPb, messageToPb } from './message-codec.js';

const ctx = Buffer.from('ctx-1');
const base = { from: 1, to: 2, term: 7 };
const entry = { term: 7, index: 11, type: 'normal' as const, data: Buffer.from('put k v') };
const cc = { term: 7, index: 12, type: 'confChange' as const, data: Buffer.from([1, 2]) };

const table: Array<{ name: string; input: Message; want: Partial<pb.RaftMessage> }> = [
  {
    name: 'append with entries',
    input: { ...base, type: 'append', index: 10, logTerm: 6, entries: [entry, cc], commit: 9 },
    want: { type: 1, index: 10, logTerm: 6, commit: 9 },
  },
  {
    name: 'rejected append response with hint',
    input: { ...base, type: 'appendResponse', index: 10, reject: true, rejectHint: 4, hintTerm: 3 },
    want: { type: 2, index: 10, reject: true, rejectHint: 4, hintTerm: 3 },
  },
  {
    name: 'heartbeat',
    input: { ...base, type: 'heartbeat', commit: 5, context: ctx },
    want: { type: 3, commit: 5, context: ctx },
  },
  {
    name: 'heartbeat response',
    input: { ...base, type: 'heartbeatResponse', context: ctx },
    want: { type: 4 },
  },
  {
    name: 'forced vote',
    input: { ...base, type: 'vote', index: 9, logTerm: 6, force: true },
    want: { type: 5, index: 9, logTerm: 6, force: true },
  },
  {
    name: 'vote response',
    input: { ...base, type: 'voteResponse', reject: true },
    want: { type: 6, reject: true },
  },
  {
    name: 'pre-vote',
    input: { ...base, type: 'preVote', index: 9, logTerm: 6, force: false },
    want: { type: 7, index: 9 },
  },
  {
    name: 'pre-vote response',
    input: { ...base, type: 'preVoteResponse', reject: false },
    want: { type: 8 },
  },
  {
    name: 'snapshot',
    input: {
      ...base,
      type: 'snapshot',
      snapshot: {
        meta: { index: 20, term: 6, conf: { voters: [1, 2, 3], learners: [4] } },
        data: Buffer.from('img'),
      },
    },
    want: { type: 9 },
  },
  { name: 'timeout now', input: { ...base, type: 'timeoutNow' }, want: { type: 10 } },
  { name: 'propose', input: { ...base, type: 'propose', entries: [entry] }, want: { type: 11 } },
  {
    name: 'read index',
    input: { ...base, type: 'readIndex', context: ctx },
    want: { type: 12, context: ctx },
  },
  {
    name: 'read index response',
    input: { ...base, type: 'readIndexResponse', index: 33, context: ctx },
    want: { type: 13, index: 33 },
  },
  {
    name: 'transfer leader',
    input: { ...base, type: 'transferLeader', target: 3 },
    want: { type: 14, target: 3 },
  },
];

describe('message-codec', () => {
  it('message-codec: gives every message kind its own wire number', () => {
    const codes = Object.values(MESSAGE_TYPE_CODES);
    expect(new Set(codes).size).toBe(codes.length);
    expect(table.map((t) => t.input.type).sort()).toEqual(Object.keys(MESSAGE_TYPE_CODES).sort());
  });

  for (const t of table) {
    it(`message-codec: encodes and round-trips ${t.name} through protobuf bytes`, () => {
      const wire = messageToPb(t.input);
      expect(wire).toMatchObject({ ...t.want, from: 1, to: 2, term: 7 });
      const bytes = pb.RaftBatch.encode({ messages: [wire] }).finish();
      const back = pb.RaftBatch.decode(bytes).messages[0]!;
      expect(messageFromPb(back)).toEqual(t.input);
    });
  }

  const errors: Array<{ name: string; input: Partial<pb.RaftMessage>; error: RegExp }> = [
    {
      name: 'an unknown type',
      input: { type: 99 },
      error: /^Decode raft message: unknown type 99$/,
    },
    { name: 'type 0', input: { type: 0 }, error: /unknown type 0/ },
    {
      name: 'a snapshot message without snapshot',
      input: { type: 9 },
      error: /^Decode raft message: snapshot message without snapshot$/,
    },
    {
      name: 'an unknown entry type',
      input: {
        type: 11,
        entries: [{ term: 1, index: 1, type: 7 as pb.RaftEntryType, data: Buffer.alloc(0) }],
      },
      error: /unknown entry type 7/,
    },
  ];
  for (const e of errors) {
    it(`message-codec: refuses ${e.name}`, () => {
      expect(() => messageFromPb(pb.RaftMessage.fromPartial(e.input))).toThrow(e.error);
    });
  }
});
