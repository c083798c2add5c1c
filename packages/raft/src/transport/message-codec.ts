// Core Message <-> wire RaftMessage. The wire `type` is a number from MESSAGE_TYPE_CODES;
// numbers are on the wire between members of different versions: never renumber.
import { pb } from '@shoal/api';
import type { Entry, Message, MessageType, Snapshot } from '../core/types.js';

/** Wire numbers of the core's message kinds. */
export const MESSAGE_TYPE_CODES: Readonly<Record<MessageType, number>> = {
  append: 1,
  appendResponse: 2,
  heartbeat: 3,
  heartbeatResponse: 4,
  vote: 5,
  voteResponse: 6,
  preVote: 7,
  preVoteResponse: 8,
  snapshot: 9,
  timeoutNow: 10,
  propose: 11,
  readIndex: 12,
  readIndexResponse: 13,
  transferLeader: 14,
};

const TYPE_BY_CODE = new Map<number, MessageType>(
  Object.entries(MESSAGE_TYPE_CODES).map(([k, v]) => [v, k as MessageType]),
);

const EMPTY = Buffer.alloc(0);

function bufferOf(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function entryToPb(e: Entry): pb.RaftEntry {
  return {
    term: e.term,
    index: e.index,
    type:
      e.type === 'confChange'
        ? pb.RaftEntryType.RAFT_ENTRY_TYPE_CONF_CHANGE
        : pb.RaftEntryType.RAFT_ENTRY_TYPE_NORMAL,
    data: bufferOf(e.data),
  };
}

function entryFromPb(e: pb.RaftEntry): Entry {
  let type: Entry['type'];
  if (e.type === pb.RaftEntryType.RAFT_ENTRY_TYPE_NORMAL) type = 'normal';
  else if (e.type === pb.RaftEntryType.RAFT_ENTRY_TYPE_CONF_CHANGE) type = 'confChange';
  else throw new RangeError(`Decode raft message: unknown entry type ${e.type}`);
  return { term: e.term, index: e.index, type, data: e.data };
}

function snapshotToPb(s: Snapshot): pb.RaftSnapshot {
  return {
    meta: {
      index: s.meta.index,
      term: s.meta.term,
      voters: [...s.meta.conf.voters],
      learners: [...s.meta.conf.learners],
    },
    data: bufferOf(s.data),
  };
}

/** Encodes one core message for the wire; fields a kind does not use stay at zero. */
export function messageToPb(m: Message): pb.RaftMessage {
  const out: pb.RaftMessage = {
    type: MESSAGE_TYPE_CODES[m.type],
    from: m.from,
    to: m.to,
    term: m.term,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    snapshot: undefined,
    reject: false,
    rejectHint: 0,
    context: EMPTY,
    hintTerm: 0,
    force: false,
    target: 0,
  };
  switch (m.type) {
    case 'append':
      out.index = m.index;
      out.logTerm = m.logTerm;
      out.entries = m.entries.map(entryToPb);
      out.commit = m.commit;
      break;
    case 'appendResponse':
      out.index = m.index;
      out.reject = m.reject;
      out.rejectHint = m.rejectHint;
      out.hintTerm = m.hintTerm;
      break;
    case 'heartbeat':
      out.commit = m.commit;
      out.context = bufferOf(m.context);
      break;
    case 'heartbeatResponse':
      out.context = bufferOf(m.context);
      break;
    case 'vote':
    case 'preVote':
      out.index = m.index;
      out.logTerm = m.logTerm;
      out.force = m.force;
      break;
    case 'voteResponse':
    case 'preVoteResponse':
      out.reject = m.reject;
      break;
    case 'snapshot':
      out.snapshot = snapshotToPb(m.snapshot);
      break;
    case 'timeoutNow':
      break;
    case 'propose':
      out.entries = m.entries.map(entryToPb);
      break;
    case 'readIndex':
      out.context = bufferOf(m.context);
      break;
    case 'readIndexResponse':
      out.index = m.index;
      out.context = bufferOf(m.context);
      break;
    case 'transferLeader':
      out.target = m.target;
      break;
  }
  return out;
}

/**
 * Decodes a wire message into the core's union.
 *
 * @throws RangeError for an unknown type or a snapshot message without a snapshot.
 */
export function messageFromPb(w: pb.RaftMessage): Message {
  const type = TYPE_BY_CODE.get(w.type);
  if (type === undefined) throw new RangeError(`Decode raft message: unknown type ${w.type}`);
  const base = { from: w.from, to: w.to, term: w.term };
  switch (type) {
    case 'append':
      return {
        ...base,
        type,
        index: w.index,
        logTerm: w.logTerm,
        entries: w.entries.map(entryFromPb),
        commit: w.commit,
      };
    case 'appendResponse':
      return {
        ...base,
        type,
        index: w.index,
        reject: w.reject,
        rejectHint: w.rejectHint,
        hintTerm: w.hintTerm,
      };
    case 'heartbeat':
      return { ...base, type, commit: w.commit, context: w.context };
    case 'heartbeatResponse':
      return { ...base, type, context: w.context };
    case 'vote':
    case 'preVote':
      return { ...base, type, index: w.index, logTerm: w.logTerm, force: w.force };
    case 'voteResponse':
    case 'preVoteResponse':
      return { ...base, type, reject: w.reject };
    case 'snapshot': {
      const s = w.snapshot;
      if (s?.meta === undefined)
        throw new RangeError('Decode raft message: snapshot message without snapshot');
      return {
        ...base,
        type,
        snapshot: {
          meta: {
            index: s.meta.index,
            term: s.meta.term,
            conf: { voters: s.meta.voters, learners: s.meta.learners },
          },
          data: s.data,
        },
      };
    }
    case 'timeoutNow':
      return { ...base, type };
    case 'propose':
      return { ...base, type, entries: w.entries.map(entryFromPb) };
    case 'readIndex':
      return { ...base, type, context: w.context };
    case 'readIndexResponse':
      return { ...base, type, index: w.index, context: w.context };
    case 'transferLeader':
      return { ...base, type, target: w.target };
  }
}
