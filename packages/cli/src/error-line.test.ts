import { ShoalError } from '@shoal/api';
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { errorLine } from './error-line.js';

describe('errorLine', () => {
  const cases: { name: string; input: unknown; want: string }[] = [
    {
      name: 'a commander error',
      input: new CommanderError(1, 'commander.unknownOption', "error: unknown option '--x'"),
      want: "Error: Unknown option '--x'",
    },
    {
      name: 'a typed error',
      input: new ShoalError('SHOAL_NOT_FOUND', 'Inspect node: no such node: "w9"'),
      want: 'Error: Inspect node: no such node: "w9"',
    },
    {
      name: 'a multi-line message',
      input: new Error('first\n  second\nthird'),
      want: 'Error: First; second; third',
    },
    { name: 'a thrown string', input: 'boom', want: 'Error: Boom' },
    { name: 'an empty message', input: new Error(''), want: 'Error: unknown failure' },
  ];
  for (const c of cases) {
    it(`errorLine: prints one line for ${c.name}`, () => {
      expect(errorLine(c.input)).toBe(c.want);
    });
  }
});
