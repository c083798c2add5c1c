import { describe, expect, it } from 'vitest';
import { MemoryStorage } from './memory-storage.js';
import { RawNode } from './raw-node.js';
import { SeededRng } from './rng.js';
import type { Message } from './types.js';

describe('smoke', () => {
  it('elects and replicates', () => {
    const ids = [1, 2, 3];
    const stores = new Map(
      ids.map((id) => [id, MemoryStorage.create({ voters: ids, learners: [] })]),
    );
    const nodes = new Map(
      ids.map((id) => [
        id,
        RawNode.create({ id, storage: stores.get(id)!, rng: new SeededRng(id) }),
      ]),
    );
    const applied = new Map<number, string[]>(ids.map((id) => [id, []]));
    const net: Message[] = [];
    const pump = () => {
      for (let round = 0; round < 100; round++) {
        let any = false;
        for (const [id, n] of nodes) {
          while (n.hasReady()) {
            any = true;
            const rd = n.ready();
            const st = stores.get(id)!;
            st.append(rd.entries);
            if (rd.hardState) st.setHardState(rd.hardState);
            net.push(...rd.messages, ...rd.messagesAfterPersist);
            for (const e of rd.committedEntries)
              if (e.data.length) applied.get(id)!.push(new TextDecoder().decode(e.data));
            n.advance(rd);
          }
        }
        while (net.length) {
          any = true;
          const m = net.shift()!;
          nodes.get(m.to)!.step(m);
        }
        if (!any) return;
      }
    };
    nodes.get(1)!.campaign();
    pump();
    expect(nodes.get(1)!.status().role).toBe('leader');
    nodes.get(1)!.propose(new TextEncoder().encode('a'));
    nodes.get(2)!.propose(new TextEncoder().encode('b'));
    pump();
    for (let i = 0; i < 3; i++) {
      for (const n of nodes.values()) n.tick();
      pump();
    }
    for (const id of ids) expect(applied.get(id)).toEqual(['a', 'b']);
  });
});
