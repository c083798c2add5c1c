// Placement constraints as Docker writes them (`--constraint node.labels.zone==east`),
// with the keys swarmkit's manager/constraint package accepts, minus `node.ip`.
import { ShoalError } from '../errors.js';

/** The operators a constraint may use. */
export type ConstraintOperator = '==' | '!=';

/** A parsed placement constraint: `key op value`. */
export interface Constraint {
  /** `node.id`, `node.hostname`, `node.role`, `node.platform.os|arch`, `node.labels.<k>` or `engine.labels.<k>`. */
  readonly key: string;
  readonly op: ConstraintOperator;
  readonly value: string;
}

/** Keys matched as a whole; label keys are matched by prefix. */
export const CONSTRAINT_KEYS = [
  'node.id',
  'node.hostname',
  'node.role',
  'node.platform.os',
  'node.platform.arch',
] as const;
/** Prefixes of label keys: operator-set node labels and daemon-set engine labels. */
export const CONSTRAINT_LABEL_PREFIXES = ['node.labels.', 'engine.labels.'] as const;

// swarmkit's patterns (manager/constraint/constraint.go): keys are dotted words, values
// a conservative character set so that a typo such as "zone=east" is caught early.
const KEY_PATTERN = /^[a-z_][a-z0-9\-_.]+$/i;
const VALUE_PATTERN = /^[a-z0-9:\-_\s.*()?+[\]\\^$|/]+$/i;

/**
 * Checks one constraint text; returns the constraint, or the reason it is invalid.
 *
 * @internal shared by parseConstraint and the service spec validator
 */
export function checkConstraint(text: string): Constraint | string {
  const eq = text.indexOf('==');
  const ne = text.indexOf('!=');
  const at = eq >= 0 && (ne < 0 || eq < ne) ? eq : ne;
  if (at < 0) return 'expected one operator from ==, !=';
  const op: ConstraintOperator = at === eq ? '==' : '!=';
  const key = text.slice(0, at).trim();
  const value = text.slice(at + 2).trim();
  if (value.includes('==') || value.includes('!=')) return 'expected one operator from ==, !=';
  if (!KEY_PATTERN.test(key)) return `key "${key}" is invalid`;
  if (!VALUE_PATTERN.test(value)) return `value "${value}" is invalid`;
  const lower = key.toLowerCase();
  const label = CONSTRAINT_LABEL_PREFIXES.find((p) => lower.startsWith(p));
  if (label) {
    if (key.length === label.length) return `key "${key}" names no label`;
    // Label keys keep their case: labels are case-sensitive, the prefix is not.
    return { key: label + key.slice(label.length), op, value };
  }
  if (!(CONSTRAINT_KEYS as readonly string[]).includes(lower)) {
    return `key "${key}" is not supported: want ${CONSTRAINT_KEYS.join(', ')}, node.labels.<key> or engine.labels.<key>`;
  }
  if (lower === 'node.role' && !['manager', 'worker'].includes(value.toLowerCase())) {
    return `node.role "${value}" is invalid: want manager or worker`;
  }
  return { key: lower, op, value };
}

/**
 * Parses a placement constraint such as `node.labels.zone==east`.
 *
 * @throws ShoalError `SHOAL_INVALID_ARGUMENT` naming the constraint and what is wrong
 * @example
 * parseConstraint('node.role!=manager'); // { key: 'node.role', op: '!=', value: 'manager' }
 */
export function parseConstraint(text: string): Constraint {
  const result = checkConstraint(text);
  if (typeof result === 'string') {
    throw new ShoalError(
      'SHOAL_INVALID_ARGUMENT',
      `Parse constraint: invalid --constraint "${text}": ${result}`,
    );
  }
  return result;
}

/**
 * Checks a spread descriptor (`node.labels.<k>` or `engine.labels.<k>`); returns the
 * reason it is invalid, if it is.
 *
 * @internal
 */
export function checkSpreadDescriptor(descriptor: string): string | undefined {
  const label = CONSTRAINT_LABEL_PREFIXES.find((p) => descriptor.startsWith(p));
  if (!label || descriptor.length === label.length || !KEY_PATTERN.test(descriptor)) {
    return `spread descriptor "${descriptor}" is not supported: want node.labels.<key> or engine.labels.<key>`;
  }
  return undefined;
}

/**
 * Parses a placement preference as Docker writes it: `spread=node.labels.zone`.
 *
 * @throws ShoalError `SHOAL_INVALID_ARGUMENT` naming the preference and what is wrong
 * @example
 * parsePlacementPreference('spread=node.labels.zone'); // { spreadDescriptor: 'node.labels.zone' }
 */
export function parsePlacementPreference(text: string): { spreadDescriptor: string } {
  const at = text.indexOf('=');
  const strategy = at < 0 ? text : text.slice(0, at);
  const fail = (reason: string): never => {
    throw new ShoalError(
      'SHOAL_INVALID_ARGUMENT',
      `Parse placement preference: invalid --placement-pref "${text}": ${reason}`,
    );
  };
  if (at < 0) return fail('want spread=<descriptor>');
  if (strategy !== 'spread') return fail(`strategy "${strategy}" is not supported: want spread`);
  const descriptor = text.slice(at + 1);
  const problem = checkSpreadDescriptor(descriptor);
  if (problem) return fail(problem);
  return { spreadDescriptor: descriptor };
}
