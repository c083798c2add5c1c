// Whether a task runs the service's current spec. Swarm compares specs, not versions: a
// spec version also changes with the replica count, which must not redeploy anything.
import { pb } from '@shoal/api';

/**
 * Whether two task specs are the same, whatever the order of their map keys.
 *
 * @example
 * isSameTaskSpec(task.spec, service.spec?.task); // false after `service update --image`
 */
export function isSameTaskSpec(a: pb.TaskSpec | undefined, b: pb.TaskSpec | undefined): boolean {
  return canonical(a) === canonical(b);
}

// Store objects are never changed in place, so a spec's canonical form is computed once
// for its object: passes over 10,000 tasks compare strings rather than build them.
const canonicalForms = new WeakMap<pb.TaskSpec, string>();

function canonical(spec: pb.TaskSpec | undefined): string {
  if (!spec) return '{}';
  let form = canonicalForms.get(spec);
  if (form === undefined) {
    // toJSON leaves out default values, so an absent field and its default compare equal.
    form = stableStringify(pb.TaskSpec.toJSON(spec));
    canonicalForms.set(spec, form);
  }
  return form;
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
