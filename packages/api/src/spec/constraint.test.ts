import { describe, expect, it } from 'vitest';
import { ShoalError } from '../errors.js';
import { type Constraint, parseConstraint, parsePlacementPreference } from './constraint.js';

describe('parseConstraint', () => {
  const cases: { name: string; input: string; want?: Constraint; error?: string }[] = [
    {
      name: 'parseConstraint: returns key, operator and value when a node label is compared',
      input: 'node.labels.zone==east',
      want: { key: 'node.labels.zone', op: '==', value: 'east' },
    },
    {
      name: 'parseConstraint: trims spaces around key and value when the text has them',
      input: ' node.role != manager ',
      want: { key: 'node.role', op: '!=', value: 'manager' },
    },
    {
      name: 'parseConstraint: lower-cases the prefix but keeps the label key when case is mixed',
      input: 'Engine.Labels.Disk==ssd',
      want: { key: 'engine.labels.Disk', op: '==', value: 'ssd' },
    },
    {
      name: 'parseConstraint: accepts node.hostname and node.id when compared',
      input: 'node.hostname==node-1',
      want: { key: 'node.hostname', op: '==', value: 'node-1' },
    },
    {
      name: 'parseConstraint: accepts platform keys when compared',
      input: 'node.platform.os==linux',
      want: { key: 'node.platform.os', op: '==', value: 'linux' },
    },
    {
      name: 'parseConstraint: fails when there is no operator',
      input: 'node.labels.zone=east',
      error:
        'Parse constraint: invalid --constraint "node.labels.zone=east": expected one operator from ==, !=',
    },
    {
      name: 'parseConstraint: fails when there are two operators',
      input: 'node.role==manager==worker',
      error:
        'Parse constraint: invalid --constraint "node.role==manager==worker": expected one operator from ==, !=',
    },
    {
      name: 'parseConstraint: fails when the key is not supported',
      input: 'node.ip==10.0.0.1',
      error:
        'Parse constraint: invalid --constraint "node.ip==10.0.0.1": key "node.ip" is not supported: want node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.<key> or engine.labels.<key>',
    },
    {
      name: 'parseConstraint: fails when a label prefix names no label',
      input: 'node.labels.==x',
      error:
        'Parse constraint: invalid --constraint "node.labels.==x": key "node.labels." names no label',
    },
    {
      name: 'parseConstraint: fails when the key is empty',
      input: '==x',
      error: 'Parse constraint: invalid --constraint "==x": key "" is invalid',
    },
    {
      name: 'parseConstraint: fails when the value is empty',
      input: 'node.labels.zone==',
      error: 'Parse constraint: invalid --constraint "node.labels.zone==": value "" is invalid',
    },
    {
      name: 'parseConstraint: fails when the role is neither manager nor worker',
      input: 'node.role==boss',
      error:
        'Parse constraint: invalid --constraint "node.role==boss": node.role "boss" is invalid: want manager or worker',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      if (c.error) {
        const error = (() => {
          try {
            parseConstraint(c.input);
          } catch (e) {
            return e;
          }
        })();
        expect(error).toBeInstanceOf(ShoalError);
        expect((error as ShoalError).code).toBe('SHOAL_INVALID_ARGUMENT');
        expect((error as ShoalError).message).toBe(c.error);
      } else {
        const got = parseConstraint(c.input);
        expect(got).toEqual(c.want);
        // Round trip: the canonical text parses to the same constraint.
        expect(parseConstraint(`${got.key}${got.op}${got.value}`)).toEqual(got);
      }
    });
  }
});

describe('parsePlacementPreference', () => {
  const cases: { name: string; input: string; want?: string; error?: string }[] = [
    {
      name: 'parsePlacementPreference: returns the descriptor when spreading over a node label',
      input: 'spread=node.labels.zone',
      want: 'node.labels.zone',
    },
    {
      name: 'parsePlacementPreference: returns the descriptor when spreading over an engine label',
      input: 'spread=engine.labels.rack',
      want: 'engine.labels.rack',
    },
    {
      name: 'parsePlacementPreference: fails when the strategy is not spread',
      input: 'binpack=node.labels.zone',
      error:
        'Parse placement preference: invalid --placement-pref "binpack=node.labels.zone": strategy "binpack" is not supported: want spread',
    },
    {
      name: 'parsePlacementPreference: fails when there is no descriptor',
      input: 'spread',
      error:
        'Parse placement preference: invalid --placement-pref "spread": want spread=<descriptor>',
    },
    {
      name: 'parsePlacementPreference: fails when the descriptor is not a label',
      input: 'spread=node.hostname',
      error:
        'Parse placement preference: invalid --placement-pref "spread=node.hostname": spread descriptor "node.hostname" is not supported: want node.labels.<key> or engine.labels.<key>',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      if (c.error) {
        expect(() => parsePlacementPreference(c.input)).toThrowError(
          expect.objectContaining({ code: 'SHOAL_INVALID_ARGUMENT', message: c.error }),
        );
        expect(() => parsePlacementPreference(c.input)).toThrow(ShoalError);
      } else {
        expect(parsePlacementPreference(c.input)).toEqual({ spreadDescriptor: c.want });
      }
    });
  }
});
