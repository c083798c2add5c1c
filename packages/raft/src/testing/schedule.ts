// A randomised fault schedule (hashicorp fuzzy / Jepsen style, reference §3.2 J): five
// members, client traffic, partitions and heals, crashes that lose unsynced writes,
// restarts, message drop/duplication/reordering/delay, one membership change (remove a
// member, add a new one as learner, promote it), then a quiet tail where the cluster must
// converge. Safety is checked after every step, linearizability at the end.

import { SeededRng } from '../core/rng.js';
import type { RaftId } from '../core/types.js';
import { mix } from './hash.js';
import { checkLinearizable, type KvOperation } from './linearizability.js';
import { SimCluster } from './sim-cluster.js';

/** Knobs of {@link runSchedule}; the defaults are the CI schedule. */
export interface ScheduleOptions {
  /** Total steps, the quiet tail included. @default 2000 */
  readonly steps?: number;
  /** Steps at the end with every fault healed. @default 250 */
  readonly quietSteps?: number;
  /** Concurrent clients. @default 5 */
  readonly clients?: number;
  /** Debug trace of the run (see SimClusterOptions.trace). */
  readonly trace?: (line: string) => void;
  /** Receives the client history at the end (debugging a linearizability failure). */
  readonly onHistory?: (history: readonly KvOperation[]) => void;
}

/** What one schedule did and which properties it violated (empty when none). */
export interface ScheduleResult {
  readonly seed: number;
  readonly violations: readonly string[];
  readonly operations: number;
  readonly completed: number;
  readonly leaderTerms: number;
  readonly crashes: number;
  readonly partitions: number;
  readonly membership: string;
  /** The linearizability search hit its bound (not counted as a violation). */
  readonly inconclusive: boolean;
}

const KEYS = ['a', 'b', 'c', 'd'];
const NEW_MEMBER: RaftId = 6;

type MembershipPhase = 'waiting' | 'remove' | 'addLearner' | 'catchUp' | 'promote' | 'done';

/** Runs one schedule for `seed`; deterministic for a given seed and options. */
export function runSchedule(seed: number, options: ScheduleOptions = {}): ScheduleResult {
  const steps = options.steps ?? 2000;
  const quiet = options.quietSteps ?? 250;
  const clients = options.clients ?? 5;
  const rng = new SeededRng(mix(seed, 99));
  // Half the schedules run with tight flow-control limits, so small windows, split
  // batches and refused proposals are exercised too.
  const tight = rng.chance(0.5);
  const sim = new SimCluster({
    seed,
    ...(options.trace ? { trace: options.trace } : {}),
    ...(tight
      ? {
          node: {
            maxSizePerMsg: 1 + rng.int(200),
            maxInflightMsgs: 1 + rng.int(4),
            maxInflightBytes: rng.chance(0.5) ? 0 : 100 + rng.int(400),
            maxUncommittedBytes: rng.chance(0.5) ? 0 : 500 + rng.int(2000),
            maxCommittedBytesPerReady: 1 + rng.int(300),
          },
        }
      : {}),
  });
  const all = (): RaftId[] => [...sim.members.keys()];
  let crashes = 0;
  let partitions = 0;

  // Membership: remove a random member, add member 6 as learner, promote it once caught up.
  let phase: MembershipPhase = 'waiting';
  const startAt = 150 + rng.int(400);
  const victim: RaftId = 1 + rng.int(5);
  let phaseSince = 0;
  let lastTry = -100;
  const applied = new Set<string>();
  sim.onConfApplied = (_id, cc) => applied.add(`${cc.type}:${cc.id}`);

  const membership = (): void => {
    const leader = sim.leader();
    if (phase === 'waiting') {
      if (sim.now >= startAt) phase = 'remove';
      return;
    }
    if (phase === 'done' || leader === 0 || sim.now - lastTry < 10) return;
    const conf = sim.get(leader).raw.status().conf;
    const step = (next: MembershipPhase): void => {
      phase = next;
      phaseSince = sim.now;
    };
    switch (phase) {
      case 'remove':
        if (!conf.voters.includes(victim)) {
          step('addLearner');
          return;
        }
        lastTry = sim.now;
        sim.proposeConfChange(leader, { type: 'remove', id: victim });
        return;
      case 'addLearner':
        if (conf.learners.includes(NEW_MEMBER) || conf.voters.includes(NEW_MEMBER)) {
          step('catchUp');
          return;
        }
        if (!sim.members.has(NEW_MEMBER)) sim.addMember(NEW_MEMBER);
        lastTry = sim.now;
        sim.proposeConfChange(leader, { type: 'addLearner', id: NEW_MEMBER });
        return;
      case 'catchUp': {
        const pr = sim.get(leader).raw.status().progress[NEW_MEMBER];
        const st = sim.get(leader).raw.status();
        if ((pr !== undefined && pr.match + 5 >= st.commit) || sim.now - phaseSince > 300)
          step('promote');
        return;
      }
      case 'promote':
        if (conf.voters.includes(NEW_MEMBER)) {
          step('done');
          return;
        }
        lastTry = sim.now;
        sim.proposeConfChange(leader, { type: 'promote', id: NEW_MEMBER });
        return;
    }
  };

  // Clients stick to the member that last served them, as real clients do, so a deposed
  // leader cut off with its clients keeps getting requests (the stale-read trap, I05).
  const sticky = new Map<number, RaftId>();

  const faults = (): void => {
    const members = all();
    const down = members.filter((id) => !sim.get(id).up);
    const upIds = members.filter((id) => sim.get(id).up);
    const leader = sim.leader();
    // Disks stall for a while: writes pile up unsynced, so a crash then loses them.
    for (const id of upIds) if (rng.chance(0.02)) sim.stallDisk(id, 1 + rng.int(10));
    // Clocks drift: a member's ticks slow down to a half or a third for a while.
    if (rng.chance(0.02)) {
      const id = leader !== 0 && rng.chance(0.7) ? leader : upIds[rng.int(upIds.length)];
      if (id !== undefined) sim.slowClock(id, 2 + rng.int(3), 20 + rng.int(100));
    }
    if (rng.chance(0.012) && down.length < 2) {
      // Crash one member, the leader half of the time.
      const id = leader !== 0 && rng.chance(0.5) ? leader : upIds[rng.int(upIds.length)];
      if (id !== undefined) {
        sim.crash(id);
        crashes++;
      }
    } else if (rng.chance(0.003) && down.length === 0) {
      // A rack loses power: two or three members at once.
      const n = 2 + rng.int(2);
      for (let i = 0; i < n; i++) {
        const alive = members.filter((id) => sim.get(id).up);
        sim.crash(alive[rng.int(alive.length)]!);
        crashes++;
      }
    }
    for (const id of down) if (rng.chance(0.06)) sim.restart(id);
    if (!sim.net.partitioned && leader !== 0 && rng.chance(0.003)) {
      // The stale-read trap (I05): the leader alone on one side, with a slow clock so it
      // notices late, while the others elect a new leader and take writes.
      partitions++;
      sim.net.partition(
        [leader],
        members.filter((id) => id !== leader),
      );
      sim.slowClock(leader, 4, 60);
      for (let i = 0; i < 2; i++) sticky.set(1 + rng.int(clients), leader);
    } else if (!sim.net.partitioned && rng.chance(0.006)) {
      partitions++;
      const leader = sim.leader();
      const group = members.filter(() => rng.chance(0.4));
      if (leader !== 0 && rng.chance(0.5) && !group.includes(leader)) group.push(leader);
      sim.net.partition(
        group,
        members.filter((id) => !group.includes(id)),
      );
    } else if (sim.net.partitioned && rng.chance(0.02)) {
      sim.net.heal();
    }
    if (rng.chance(0.01)) {
      // Weather changes: calm, lossy, or stormy network.
      const storm = rng.chance(0.2);
      sim.net.faults = {
        drop: storm ? 0.2 : rng.chance(0.5) ? 0.02 : 0,
        duplicate: rng.chance(0.5) ? 0.03 : 0,
        delay: rng.chance(0.5) ? 0.1 : 0.02,
        maxDelay: storm ? 8 : 3,
        reorder: 0.1,
      };
    }
  };

  const traffic = (): void => {
    for (let c = 1; c <= clients; c++) {
      if (!sim.isIdle(c) || !rng.chance(0.07)) continue;
      const leader = sim.leader();
      const members = all();
      let node = sticky.get(c);
      if (node === undefined || rng.chance(0.1)) {
        node = leader !== 0 && rng.chance(0.8) ? leader : members[rng.int(members.length)]!;
      }
      const key = KEYS[rng.int(KEYS.length)]!;
      const r = rng.next();
      const value = `${c}.${sim.now}`;
      let ok: boolean;
      if (r < 0.4) ok = sim.invoke(c, node, { kind: 'put', key, value });
      else if (r < 0.6) {
        const expected = rng.chance(0.3)
          ? null
          : `${1 + rng.int(clients)}.${Math.max(0, sim.now - rng.int(50))}`;
        ok = sim.invoke(c, node, { kind: 'cas', key, expected, value });
      } else ok = sim.invoke(c, node, { kind: 'get', key });
      if (ok) sticky.set(c, node);
      else sticky.delete(c);
    }
  };

  for (let i = 0; i < steps; i++) {
    const inQuiet = i >= steps - quiet;
    if (!inQuiet) {
      faults();
      sim.step({ skipTick: 0.02 });
    } else {
      if (i === steps - quiet) {
        sim.net.heal();
        sim.net.faults = { drop: 0, duplicate: 0, delay: 0, maxDelay: 1, reorder: 0 };
        for (const id of all()) sim.restart(id);
      }
      sim.step();
    }
    membership();
    if (i < steps - 40) traffic();
  }

  // Liveness after the quiet tail: one leader, and every member of its configuration applied
  // everything it committed.
  const violations = [...sim.oracle.violations];
  const leader = sim.findLeader();
  if (leader === 0) violations.push('Liveness: no leader after the quiet period');
  else {
    const st = sim.get(leader).raw.status();
    for (const id of [...st.conf.voters, ...st.conf.learners]) {
      const m = sim.get(id);
      if (m.appliedIndex < st.commit) {
        violations.push(
          `Liveness: member ${id} applied ${m.appliedIndex} of leader commit ${st.commit}`,
        );
      }
    }
  }
  sim.abandonPending();
  options.onHistory?.(sim.history);
  const lin = checkLinearizable(sim.history);
  if (!lin.ok) violations.push(`Linearizability: history of key ${lin.key} has no linearization`);
  return {
    seed,
    violations,
    operations: sim.history.length,
    completed: sim.history.filter((op) => op.ret !== Number.POSITIVE_INFINITY).length,
    leaderTerms: sim.oracle.leaderTerms,
    crashes,
    partitions,
    membership: phase,
    inconclusive: lin.inconclusive,
  };
}
