import { pb } from '@shoal/api';
import { describe, expect, it } from 'vitest';
import { AssignmentSet } from './assignment-set.js';

const { TYPE_COMPLETE, TYPE_INCREMENTAL } = pb.AssignmentsMessage_Type;
const { ACTION_UPDATE, ACTION_REMOVE } = pb.AssignmentChange_Action;

function change(id: string, action: pb.AssignmentChange_Action): pb.AssignmentChange {
  return { assignment: { item: { $case: 'task', task: pb.Task.fromPartial({ id }) } }, action };
}

function message(
  type: pb.AssignmentsMessage_Type,
  appliesTo: string,
  resultsIn: string,
  changes: pb.AssignmentChange[],
): pb.AssignmentsMessage {
  return { type, appliesTo, resultsIn, changes };
}

describe('AssignmentSet', () => {
  it('AssignmentSet: replaces the set then applies changes when messages follow each other', () => {
    const set = new AssignmentSet();
    set.apply(
      message(TYPE_COMPLETE, '', '5', [change('a', ACTION_UPDATE), change('b', ACTION_UPDATE)]),
    );
    expect(
      set.apply(
        message(TYPE_INCREMENTAL, '5', '7', [
          change('a', ACTION_REMOVE),
          change('c', ACTION_UPDATE),
        ]),
      ),
    ).toBe('applied');
    expect([...set.tasks.keys()]).toEqual(['b', 'c']);
    expect(set.version).toBe('7');
    set.apply(message(TYPE_COMPLETE, '', '9', [change('d', ACTION_UPDATE)]));
    expect([...set.tasks.keys()]).toEqual(['d']);
  });

  it('AssignmentSet: holds networks beside tasks when changes carry them', () => {
    const set = new AssignmentSet();
    const network = (id: string, action: pb.AssignmentChange_Action): pb.AssignmentChange => ({
      assignment: {
        item: { $case: 'network', network: pb.Network.fromPartial({ id, vni: 4097 }) },
      },
      action,
    });
    set.apply(
      message(TYPE_COMPLETE, '', '1', [
        change('a', ACTION_UPDATE),
        network('front', ACTION_UPDATE),
      ]),
    );
    expect([...set.networks.keys()]).toEqual(['front']);
    set.apply(message(TYPE_INCREMENTAL, '1', '2', [network('front', ACTION_REMOVE)]));
    expect(set.networks.size).toBe(0);
    expect([...set.tasks.keys()]).toEqual(['a']);
  });

  it('AssignmentSet: reports a gap and changes nothing when an increment skips a version', () => {
    const set = new AssignmentSet();
    expect(set.apply(message(TYPE_INCREMENTAL, '', '3', [change('a', ACTION_UPDATE)]))).toBe('gap');
    set.apply(message(TYPE_COMPLETE, '', '5', [change('a', ACTION_UPDATE)]));
    expect(set.apply(message(TYPE_INCREMENTAL, '6', '8', [change('a', ACTION_REMOVE)]))).toBe(
      'gap',
    );
    expect([...set.tasks.keys()]).toEqual(['a']);
    expect(set.version).toBe('5');
  });
});
