import { InterruptedError } from '../errors.js';
import type { PostgresHandle } from '../backend/postgres/types.js';
import { toNumber } from '../inspect/reads.js';
import type { SampleOptions } from './sample-names.js';
import type { MisroutedJobs } from './types.js';

/**
 * The PostgreSQL twin of sample-names.ts: jobs in `queue` whose name the queue does not own, in the
 * states migrate moves or a worker would run next (waiting, prioritized = waiting with a priority,
 * delayed, active, failed). Every branch names one state, so each is served by that state's
 * partial index of BullMQ's `job` table (job_ready_idx, job_delayed_idx, job_active_idx,
 * job_finished_idx), never a sequential scan.
 */

/** Sampled: the first and last `$2` of each state in the index's order (misrouting starts at a deploy). */
export const SAMPLE_NAMES_SQL = (s: string) => {
  const ends = (state: string, order: string, desc: string) => `
    (SELECT id, name, state FROM ${s}.job WHERE queue = $1 AND state = '${state}' ORDER BY ${order} LIMIT $2)
    UNION
    (SELECT id, name, state FROM ${s}.job WHERE queue = $1 AND state = '${state}' ORDER BY ${desc} LIMIT $2)`;
  return `
  SELECT id, name, state::text AS state FROM (
    ${ends('waiting', 'priority, seq', 'priority DESC, seq DESC')}
    UNION ${ends('delayed', 'process_at_ms', 'process_at_ms DESC')}
    UNION ${ends('active', 'locked_until_ms', 'locked_until_ms DESC')}
    UNION ${ends('failed', 'finished_at_ms', 'finished_at_ms DESC')}
  ) picked
  WHERE name <> ALL($3::text[])`;
};

/** --deep: every job, counted by the server per name (memory stays flat on both sides). */
export const DEEP_NAMES_SQL = (s: string) => `
  SELECT name, count(*)::bigint AS count,
         count(*) FILTER (WHERE state = 'active')::bigint AS active,
         count(*) FILTER (WHERE state = 'failed')::bigint AS failed
    FROM (
      SELECT name, state FROM ${s}.job WHERE queue = $1 AND state = 'waiting' AND name <> ALL($2::text[])
      UNION ALL SELECT name, state FROM ${s}.job WHERE queue = $1 AND state = 'delayed' AND name <> ALL($2::text[])
      UNION ALL SELECT name, state FROM ${s}.job WHERE queue = $1 AND state = 'active' AND name <> ALL($2::text[])
      UNION ALL SELECT name, state FROM ${s}.job WHERE queue = $1 AND state = 'failed' AND name <> ALL($2::text[])
    ) misrouted
   GROUP BY name`;

/** A few ids of one misrouted name (each branch stops at $3 rows of its index). */
export const EXAMPLES_SQL = (s: string) => `
  SELECT id FROM (
    (SELECT id FROM ${s}.job WHERE queue = $1 AND state = 'waiting' AND name = $2 LIMIT $3)
    UNION ALL (SELECT id FROM ${s}.job WHERE queue = $1 AND state = 'delayed' AND name = $2 LIMIT $3)
    UNION ALL (SELECT id FROM ${s}.job WHERE queue = $1 AND state = 'active' AND name = $2 LIMIT $3)
    UNION ALL (SELECT id FROM ${s}.job WHERE queue = $1 AND state = 'failed' AND name = $2 LIMIT $3)
  ) found LIMIT $3`;

export async function findMisroutedPostgres(
  handle: PostgresHandle,
  s: string,
  queue: string,
  owns: ReadonlySet<string>,
  options: SampleOptions,
): Promise<MisroutedJobs[]> {
  if (options.signal?.aborted) throw new InterruptedError('topology check interrupted', 'it wrote nothing; rerun it');
  const keep = options.examples ?? 3;
  const owned = [...owns];
  const found: MisroutedJobs[] = [];
  if (options.deep) {
    const rows = await handle.query<{ name: string; count: string; active: string; failed: string }>(DEEP_NAMES_SQL(s), [queue, owned]);
    for (const row of rows) {
      const examples = (await handle.query<{ id: string }>(EXAMPLES_SQL(s), [queue, row.name, keep])).map((r) => r.id);
      found.push({ queue, name: row.name, count: toNumber(row.count), active: toNumber(row.active), failed: toNumber(row.failed), examples });
    }
  } else {
    const rows = await handle.query<{ id: string; name: string; state: string }>(SAMPLE_NAMES_SQL(s), [queue, options.sample, owned]);
    const byName = new Map<string, MisroutedJobs>();
    for (const { id, name, state } of rows) {
      const entry = byName.get(name) ?? { queue, name, count: 0, active: 0, failed: 0, examples: [] };
      entry.count++;
      if (state === 'active') entry.active++;
      if (state === 'failed') entry.failed = (entry.failed ?? 0) + 1;
      entry.examples.push(id);
      byName.set(name, entry);
    }
    found.push(...byName.values());
  }
  for (const entry of found) {
    entry.examples = entry.examples.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).slice(0, keep);
  }
  return found.sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
}
