import type { Cluster, Redis } from 'ioredis';
import { queuePrefix, type MovableState } from './keys.js';
import type { Moves } from './apply.js';
import type { Plan } from './plan.js';

/** destination → state → jobs in that state (LLEN / ZCARD). */
export type Counts = Record<string, Partial<Record<MovableState, number>>>;

export async function countDestinations(client: Redis | Cluster, prefix: string, dests: string[], states: MovableState[]): Promise<Counts> {
  const pipe = client.pipeline();
  for (const d of dests) for (const s of states) (s === 'wait' ? pipe.llen(queuePrefix(prefix, d) + s) : pipe.zcard(queuePrefix(prefix, d) + s));
  const replies = (await pipe.exec()) ?? [];
  const counts: Counts = {};
  let i = 0;
  for (const d of dests) {
    counts[d] = {};
    for (const s of states) counts[d][s] = Number(replies[i++]?.[1] ?? 0);
  }
  return counts;
}

export interface VerifyInput {
  planned: Plan;
  moved: Moves;
  /** Legacy copies removed as duplicates of jobs the destination holds (they leave the source, the destination does not grow). */
  removed?: Moves;
  /** The plan re-read after the run: what is still movable in the source. */
  after: Plan;
  before: Counts;
  afterCounts: Counts;
  /** With --follow, producers and workers run meanwhile: only "nothing movable left" can hold. */
  follow: boolean;
}

export interface Verification {
  verified: boolean;
  /** One line per cell that does not balance, saying exactly what is off. */
  problems: string[];
}

/**
 * Per destination and state: the jobs headed there (movable or staying) before the run = moved +
 * those headed there after it, and the destination grew by exactly what moved. Counting the ones
 * that stay on both sides lets the plan be cheaper than the move: a job the plan counted as moving
 * that the move's own checks kept in place (a flow key, an id the destination holds) balances.
 * Pure: takes counts, returns the verdict.
 */
export function verify(input: VerifyInput): Verification {
  const problems: string[] = [];
  const cells = new Set<string>();
  const removed = input.removed ?? {};
  for (const m of [input.planned.moves, input.moved, input.after.moves, input.planned.routedStays, input.after.routedStays, input.planned.duplicates, removed]) for (const [d, row] of Object.entries(m)) for (const s of Object.keys(row)) cells.add(`${d}\u0000${s}`);
  for (const cell of [...cells].sort()) {
    const [d, s] = cell.split('\u0000') as [string, MovableState];
    // Duplicates removed count as leaving the source, like moves; the destination does not grow by them.
    const dups = removed[d]?.[s] ?? 0;
    const moved = (input.moved[d]?.[s] ?? 0) + dups;
    const left = (input.after.moves[d]?.[s] ?? 0) + (input.after.duplicates?.[d]?.[s] ?? 0);
    // Jobs the move itself kept in place count on both sides (see above).
    const planned = (input.planned.moves[d]?.[s] ?? 0) + (input.planned.duplicates?.[d]?.[s] ?? 0) + (input.planned.routedStays[d]?.[s] ?? 0) - (input.after.routedStays[d]?.[s] ?? 0);
    const grew = (input.afterCounts[d]?.[s] ?? 0) - (input.before[d]?.[s] ?? 0);
    if (input.follow) {
      if (left > 0) problems.push(`${d} ${s}: ${left} job(s) still waiting to move in ${input.planned.from}`);
      continue;
    }
    if (moved + left !== planned) {
      problems.push(`${d} ${s}: planned ${planned}, moved ${moved}, still to move ${left} — ${planned - moved - left > 0 ? `${planned - moved - left} left the source another way (an old worker or a removal)` : `${moved + left - planned} arrived during the run`}`);
    } else if (left > 0) {
      problems.push(`${d} ${s}: ${left} job(s) not moved`);
    }
    if (grew !== moved - dups) problems.push(`${d} ${s}: moved ${moved - dups} but the queue grew by ${grew} (its own producers or workers ran meanwhile?)`);
  }
  return { verified: problems.length === 0, problems };
}
