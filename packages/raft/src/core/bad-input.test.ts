import { describe, expect, it } from 'vitest';
import { TestNetwork } from '../testing/test-network.js';
import { MemoryStorage } from './memory-storage.js';
import { RawNode } from './raw-node.js';
import { SeededRng } from './rng.js';
import type { Message } from './types.js';
import { checkMessage } from './validate.js';

const ctx = new Uint8Array();
const base = { from: 1, to: 2, term: 1 } as const;
const appendOf = (entries: unknown[]) => ({
  ...base,
  type: 'append',
  index: 1,
  logTerm: 1,
  commit: 0,
  entries,
});

describe('bad input', () => {
  const cases: { name: string; msg: unknown; error: RegExp }[] = [
    {
      name: 'a negative term',
      msg: { ...base, type: 'heartbeat', term: -1, commit: 0, context: ctx },
      error: /term is not a natural number/,
    },
    {
      name: 'a fractional index',
      msg: { ...base, type: 'append', index: 1.5, logTerm: 1, commit: 0, entries: [] },
      error: /append index, logTerm or commit/,
    },
    {
      name: 'member id 0',
      msg: { ...base, from: 0, type: 'timeoutNow' },
      error: /from is not a member id/,
    },
    {
      name: 'another recipient',
      msg: { ...base, to: 3, type: 'timeoutNow' },
      error: /addressed to another member/,
    },
    {
      name: 'our own id as sender',
      msg: { ...base, from: 2, type: 'timeoutNow' },
      error: /claims to come from this member/,
    },
    { name: 'an unknown type', msg: { ...base, type: 'gossip' }, error: /unknown type/ },
    {
      name: 'gapped entries',
      msg: appendOf([{ index: 3, term: 1, type: 'normal', data: ctx }]),
      error: /not contiguous/,
    },
    {
      name: 'an entry term above the message term',
      msg: appendOf([{ index: 2, term: 5, type: 'normal', data: ctx }]),
      error: /monotonic/,
    },
    {
      name: 'entry data that is not bytes',
      msg: appendOf([{ index: 2, term: 1, type: 'normal', data: 'x' }]),
      error: /data is not bytes/,
    },
    {
      name: 'a vote with logTerm above its term',
      msg: { ...base, type: 'vote', index: 1, logTerm: 9, force: false },
      error: /logTerm is above/,
    },
    {
      name: 'a snapshot without conf',
      msg: { ...base, type: 'snapshot', snapshot: { meta: { index: 5, term: 1 }, data: ctx } },
      error: /snapshot conf is malformed/,
    },
    {
      name: 'a transfer to member 0',
      msg: { ...base, type: 'transferLeader', target: 0 },
      error: /target is not a member id/,
    },
  ];
  for (const c of cases) {
    it(`bad input: a message is refused when it has ${c.name}`, () => {
      expect(checkMessage(c.msg as Message, 2)).toMatch(c.error);
    });
  }

  it('bad input: state is untouched and each reason reported once when refused messages arrive', () => {
    const reasons: string[] = [];
    const node = RawNode.create({
      id: 2,
      storage: MemoryStorage.create({ voters: [1, 2, 3], learners: [] }),
      rng: new SeededRng(1),
      onRejected: (reason) => reasons.push(reason),
    });
    const before = node.status();
    for (const c of cases) node.step(c.msg as Message);
    node.step(cases[0]!.msg as Message);
    expect(node.status()).toMatchObject({
      term: before.term,
      commit: before.commit,
      lastIndex: before.lastIndex,
    });
    expect(reasons).toHaveLength(cases.length);
    expect(new Set(reasons).size).toBe(reasons.length);
    expect(node.hasReady()).toBe(false);
  });

  it('bad input: an append far beyond the log is rejected with a hint when a leader sends it', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    const from = net.sent.length;
    net.send({
      type: 'append',
      from: 1,
      to: 2,
      term: 1,
      index: 1000,
      logTerm: 1,
      entries: [],
      commit: 1000,
    });
    const r = net.sentOf('appendResponse', from).find((m) => m.from === 2);
    expect(r).toMatchObject({ reject: true, index: 1000 });
    expect(net.node(2).status().commit).toBe(2);
  });

  it('bad input: a heartbeat commit beyond the log is refused when a confused leader sends it', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.send({ type: 'heartbeat', from: 1, to: 2, term: 1, commit: 99, context: ctx });
    expect(net.node(2).status().commit).toBe(2);
    expect(net.get(2).rejected).toContain('heartbeat commit beyond the log');
  });

  it('bad input: an ack beyond the leader log is refused when a follower sends it', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.elect(1);
    net.send({
      type: 'appendResponse',
      from: 2,
      to: 1,
      term: 1,
      index: 50,
      reject: false,
      rejectHint: 0,
      hintTerm: 0,
    });
    expect(net.node(1).status().progress[2]?.match).toBe(2);
    expect(net.get(1).rejected).toContain('append ack beyond the leader log');
  });

  it('bad input: vote requests from a non-member are refused when the member has a configuration', () => {
    const net = new TestNetwork({ voters: [1, 2, 3] });
    net.send({ type: 'preVote', from: 7, to: 1, term: 5, index: 9, logTerm: 4, force: false });
    expect(net.get(1).rejected).toEqual(['preVote from a non-member']);
    expect(net.node(1).status().term).toBe(0);
  });
});

describe('options', () => {
  const storage = MemoryStorage.create({ voters: [1], learners: [] });
  const rng = new SeededRng(1);
  const bad: { name: string; options: Record<string, unknown>; error: string }[] = [
    {
      name: 'id is 0',
      options: { id: 0 },
      error: 'Create raft node failed: id must be an integer ≥ 1: got 0',
    },
    {
      name: 'electionTick is 1',
      options: { id: 1, electionTick: 1 },
      error: 'Create raft node failed: electionTick must be an integer ≥ 2: got 1',
    },
    {
      name: 'heartbeatTick reaches electionTick',
      options: { id: 1, electionTick: 3, heartbeatTick: 3 },
      error: 'Create raft node failed: heartbeatTick must be below electionTick 3: got 3',
    },
    {
      name: 'maxInflightMsgs is 0',
      options: { id: 1, maxInflightMsgs: 0 },
      error: 'Create raft node failed: maxInflightMsgs must be an integer ≥ 1: got 0',
    },
    {
      name: 'maxSizePerMsg is negative',
      options: { id: 1, maxSizePerMsg: -1 },
      error: 'Create raft node failed: maxSizePerMsg must be an integer ≥ 0: got -1',
    },
    {
      name: 'applied is beyond the commit',
      options: { id: 1, applied: 5 },
      error: 'Create raft node failed: applied must not exceed commit 1: got 5',
    },
  ];
  for (const c of bad) {
    it(`options: create throws RangeError when ${c.name}`, () => {
      const create = () => RawNode.create({ storage, rng, ...c.options } as never);
      expect(create).toThrow(RangeError);
      expect(create).toThrow(c.error);
    });
  }

  it('options: defaults are the project defaults when options are omitted', () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 100; seed++) {
      const node = RawNode.create({
        id: 1,
        storage: MemoryStorage.create({ voters: [1, 2], learners: [] }),
        rng: new SeededRng(seed),
      });
      let ticks = 0;
      while (node.status().role === 'follower' && ticks < 50) {
        node.tick();
        ticks++;
      }
      seen.add(ticks);
      // Pre-vote is on: campaigning does not bump the term.
      expect(node.status()).toMatchObject({ role: 'preCandidate', term: 0 });
    }
    expect([...seen].sort()).toEqual([5, 6, 7, 8, 9]);
  });
});
