import { quoteIdent } from '../backend/postgres/schema.js';
import type { PostgresHandle } from '../backend/postgres/types.js';
import type { MovableState } from './keys.js';
import { addStay, addTo, type Plan } from './plan.js';

/** A job a batch left in place because a producer held its deduplication id's lock (moveBatch). */
export interface BusyJob {
  id: string;
  name: string;
  dest: string;
  state: MovableState;
}

function movableState(state: string, priority: number): MovableState | undefined {
  if (state === 'waiting') return priority > 0 ? 'prioritized' : 'wait';
  if (state === 'delayed' || state === 'failed') return state;
  return undefined;
}

/**
 * The re-read plan after a run cannot know that a job stayed only because its deduplication id was
 * busy (the plan tries no lock), so it counts it as still movable and verification would call it an
 * imbalance. Those still in the source, in the state they were left in, become what they are: a
 * `locked` stay headed for their destination, reported as such. One indexed lookup by id.
 */
export async function accountBusyStays(handle: PostgresHandle, from: string, busy: Map<string, BusyJob>, remaining: Plan): Promise<void> {
  if (busy.size === 0) return;
  const rows = await handle.query<{ id: string; state: string; priority: number }>(`SELECT id, state::text, priority FROM ${quoteIdent(handle.spec.schema)}.job WHERE queue = $1 AND id = ANY($2::text[])`, [from, [...busy.keys()]]);
  for (const row of rows) {
    const job = busy.get(row.id)!;
    const cell = remaining.moves[job.dest];
    if (movableState(row.state, row.priority) !== job.state || !cell?.[job.state]) continue;
    cell[job.state]! -= 1;
    addTo(remaining.routedStays, job.dest, job.state, 1);
    addStay(remaining, 'locked', 1, [job.id], job.name, job.state);
  }
}
