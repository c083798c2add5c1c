// A linearizability checker for a map of registers (Wing & Gong search with Lowe's
// memoization, as in Porcupine; per-key partitions are checked independently because a
// map of registers is P-compositional). An operation whose outcome is unknown (timeout,
// crash) has `ret = Infinity`: it may take effect at any point after its call, or never.

/** One client operation on one key, with its invocation and completion times. */
export interface KvOperation {
  readonly client: number;
  readonly kind: 'put' | 'get' | 'cas';
  readonly key: string;
  /** put/cas: the value written. */
  readonly value?: string;
  /** cas: the value expected. */
  readonly expected?: string | null;
  /** get: the value read; cas: whether it swapped. Unset while unknown. */
  output?: string | null | boolean;
  readonly call: number;
  /** Completion time; Infinity when the outcome is unknown. */
  ret: number;
}

/** Outcome of {@link checkLinearizable}. */
export interface LinearizabilityResult {
  readonly ok: boolean;
  /** The key whose history has no linearization, when not ok. */
  readonly key?: string;
  /** True when the search hit its step bound before deciding (counted as ok). */
  readonly inconclusive: boolean;
}

type State = string | null;

interface Node {
  op: KvOperation | undefined;
  id: number;
  isCall: boolean;
  match: Node | undefined;
  prev: Node | undefined;
  next: Node | undefined;
}

function stepModel(state: State, op: KvOperation): { ok: boolean; next: State } {
  switch (op.kind) {
    case 'put':
      return { ok: true, next: op.value ?? null };
    case 'get':
      // A read with no answer constrains nothing.
      if (op.ret === Number.POSITIVE_INFINITY) return { ok: true, next: state };
      return { ok: op.output === state, next: state };
    case 'cas': {
      const swaps = state === op.expected;
      if (op.ret === Number.POSITIVE_INFINITY)
        return { ok: true, next: swaps ? (op.value ?? null) : state };
      if (op.output === true) return { ok: swaps, next: op.value ?? null };
      return { ok: !swaps, next: state };
    }
  }
}

function checkKey(ops: readonly KvOperation[], maxSteps: number): 'ok' | 'fail' | 'bound' {
  // Build the event list: calls and returns sorted by time, calls first on ties.
  const events: { time: number; isCall: boolean; id: number }[] = [];
  ops.forEach((op, id) => {
    events.push({ time: op.call, isCall: true, id });
    events.push({ time: op.ret, isCall: false, id });
  });
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1));
  const head: Node = {
    op: undefined,
    id: -1,
    isCall: false,
    match: undefined,
    prev: undefined,
    next: undefined,
  };
  let tail = head;
  const calls = new Map<number, Node>();
  for (const ev of events) {
    const node: Node = {
      op: ops[ev.id],
      id: ev.id,
      isCall: ev.isCall,
      match: undefined,
      prev: tail,
      next: undefined,
    };
    tail.next = node;
    tail = node;
    if (ev.isCall) calls.set(ev.id, node);
    else {
      const call = calls.get(ev.id)!;
      call.match = node;
    }
  }
  const words = Math.ceil(ops.length / 32);
  const linearized = new Uint32Array(words);
  const cache = new Set<string>();
  const stack: { node: Node; state: State }[] = [];
  let state: State = null;
  let entry = head.next;
  const lift = (n: Node): void => {
    n.prev!.next = n.next;
    if (n.next) n.next.prev = n.prev;
    const m = n.match!;
    m.prev!.next = m.next;
    if (m.next) m.next.prev = m.prev;
  };
  const unlift = (n: Node): void => {
    const m = n.match!;
    m.prev!.next = m;
    if (m.next) m.next.prev = m;
    n.prev!.next = n;
    if (n.next) n.next.prev = n;
  };
  for (let steps = 0; head.next !== undefined; steps++) {
    if (steps > maxSteps) return 'bound';
    if (entry === undefined) return 'fail';
    if (entry.isCall) {
      const res = stepModel(state, entry.op!);
      if (res.ok) {
        linearized[entry.id >> 5]! |= 1 << (entry.id & 31);
        const key = `${linearized.join(',')}|${res.next}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ node: entry, state });
          state = res.next;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized[entry.id >> 5]! &= ~(1 << (entry.id & 31));
      }
      entry = entry.next;
    } else {
      // A return whose call could not be linearized before it: backtrack.
      const top = stack.pop();
      if (top === undefined) return 'fail';
      state = top.state;
      linearized[top.node.id >> 5]! &= ~(1 << (top.node.id & 31));
      unlift(top.node);
      entry = top.node.next;
    }
  }
  return 'ok';
}

/**
 * Checks that `history` is linearizable for a map of registers starting empty (null).
 *
 * @example
 * checkLinearizable([{ client: 1, kind: 'put', key: 'a', value: 'x', call: 0, ret: 1 },
 *                    { client: 2, kind: 'get', key: 'a', output: 'x', call: 2, ret: 3 }]).ok; // true
 */
export function checkLinearizable(
  history: readonly KvOperation[],
  options: { maxSteps?: number } = {},
): LinearizabilityResult {
  const byKey = new Map<string, KvOperation[]>();
  for (const op of history) {
    const list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, [op]);
    else list.push(op);
  }
  let inconclusive = false;
  for (const [key, ops] of byKey) {
    const res = checkKey(ops, options.maxSteps ?? 2_000_000);
    if (res === 'fail') return { ok: false, key, inconclusive };
    if (res === 'bound') inconclusive = true;
  }
  return { ok: true, inconclusive };
}
