// Which manager the agent talks to next. Pure: the session loop reports how a session
// ended and reads the next address; the rules (leader hint first, then the list in
// order, no waiting on the first move) live here so tests need no sockets.
import { status } from '@grpc/grpc-js';

/**
 * Trailer naming the leader's address on an UNAVAILABLE answer from a manager that is
 * not the leader. Same name as the dispatcher's LEADER_ADDR_TRAILER in @shoal/manager.
 */
export const LEADER_ADDR_TRAILER = 'shoal-leader-addr';

/**
 * What to do after a session ended:
 * `move`: try another manager (the leader named in the answer, else the next one);
 * `retry`: open a new session on the same manager (the session was stale);
 * `fatal`: stop (this node is not, or no longer, a member of the cluster).
 */
export type SessionVerdict =
  | { readonly action: 'move'; readonly leaderAddr: string | undefined }
  | { readonly action: 'retry' }
  | { readonly action: 'fatal' };

/**
 * The verdict on a session that ended with gRPC status `code` (OK when the manager ended
 * the stream), and the leader named in its trailers if any.
 *
 * @example
 * verdictOf(status.UNAVAILABLE, '10.0.0.2:2377'); // { action: 'move', leaderAddr: '10.0.0.2:2377' }
 */
export function verdictOf(code: status, leaderAddr?: string): SessionVerdict {
  switch (code) {
    case status.PERMISSION_DENIED:
    case status.UNAUTHENTICATED:
      return { action: 'fatal' };
    // A stale session ID, or a node marked down while its stream lived: same leader.
    case status.NOT_FOUND:
    case status.ABORTED:
      return { action: 'retry' };
    default:
      // UNAVAILABLE (not the leader, or unreachable), DEADLINE_EXCEEDED (a silent
      // host), an ended stream and anything unexpected: another manager may serve.
      return { action: 'move', leaderAddr: leaderAddr || undefined };
  }
}

/**
 * The managers the agent knows and the one it uses.
 *
 * @example
 * const rotation = new ManagerRotation(['10.0.0.1:2377', '10.0.0.2:2377']);
 * rotation.move('10.0.0.2:2377'); // the leader named in a refusal
 * rotation.current; // '10.0.0.2:2377'
 */
export class ManagerRotation {
  #list: string[];
  #index = 0;

  constructor(managers: readonly string[]) {
    if (managers.length === 0) {
      throw new RangeError('Start agent session: no manager address given: pass at least one');
    }
    this.#list = dedupe(managers);
  }

  /** The manager to use now. */
  get current(): string {
    return this.#list[this.#index]!;
  }

  get list(): readonly string[] {
    return this.#list;
  }

  /**
   * Moves to `leaderAddr` when given (added to the list if unknown: the leader may be a
   * manager promoted since), else to the next manager in the list that `isUnreachable`
   * does not rule out: during an election the dead old leader is skipped, so attempts
   * go to managers that answer and one of which is about to lead. When all are ruled
   * out, the current one if it is not, else simply the next one.
   */
  move(leaderAddr?: string, isUnreachable: (addr: string) => boolean = () => false): string {
    if (leaderAddr && leaderAddr !== this.current) {
      let index = this.#list.indexOf(leaderAddr);
      if (index < 0) {
        this.#list.push(leaderAddr);
        index = this.#list.length - 1;
      }
      this.#index = index;
      return this.current;
    }
    const count = this.#list.length;
    for (let step = 1; step < count; step++) {
      const index = (this.#index + step) % count;
      if (!isUnreachable(this.#list[index]!)) {
        this.#index = index;
        return this.current;
      }
    }
    // Every other manager is ruled out: stay if this one is not, else plain round robin.
    if (isUnreachable(this.current)) this.#index = (this.#index + 1) % count;
    return this.current;
  }

  /**
   * Replaces the list with the managers a session message named, keeping the current
   * one in use (it serves the session). Returns whether the list changed.
   */
  replace(managers: readonly string[]): boolean {
    const current = this.current;
    const next = dedupe(managers.length > 0 ? managers : [current]);
    if (!next.includes(current)) next.unshift(current);
    const changed = next.length !== this.#list.length || next.some((m, i) => m !== this.#list[i]);
    this.#list = next;
    this.#index = next.indexOf(current);
    return changed;
  }
}

function dedupe(managers: readonly string[]): string[] {
  return [...new Set(managers)];
}
