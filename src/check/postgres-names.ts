import { InterruptedError } from '../errors.js';
import type { PostgresHandle } from '../backend/postgres/types.js';
import { toNumber } from '../inspect/reads.js';
import type { SampleOptions } from './sample-names.js';
import type { MisroutedJobs } from './types.js';

/**
 * The PostgreSQL twin of sample-names.ts: jobs in `queue` whose name the queue does not own, in the
 * states migrate moves or a worker would run next (waiting, prioritized = waiting with a priority,
 * delayed, active, failed). The sample's branches each name one state, so each is served by that
 * state's partial index of BullMQ's `job` table (job_ready_idx, job_delayed_idx, job_active_idx,
 * job_finished_idx); --deep walks the primary key. Never a sequential scan.
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

/**
 * --deep: every job of the queue, one batch of `$3` rows at a time along the primary key (queue, id)
 * from the id after `$2`, so each query touches a bounded number of rows (within --timeout however
 * large the queue) and Ctrl-C is heard between batches. The server counts the batch's misrouted
 * jobs per name; the first row also says where the batch ended (`last_id`; NULL: the queue is done).
 */
export const DEEP_BATCH_SQL = (s: string) => `
  WITH batch AS (
    SELECT id, name, state FROM ${s}.job WHERE queue = $1 AND id > $2 ORDER BY id LIMIT $3
  ), misrouted AS (
    SELECT id, name, state FROM batch
     WHERE state IN ('waiting', 'delayed', 'active', 'failed') AND name <> ALL($4::text[])
  )
  SELECT (SELECT max(id) FROM batch) AS last_id, (SELECT count(*) FROM batch)::int AS size,
         m.name, count(m.id)::bigint AS count,
         count(*) FILTER (WHERE m.state = 'active')::bigint AS active,
         count(*) FILTER (WHERE m.state = 'failed')::bigint AS failed,
         (array_agg(m.id ORDER BY m.id))[1:$5] AS examples
    FROM (SELECT 1) one LEFT JOIN misrouted m ON true
   GROUP BY m.name`;

interface DeepRow {
  last_id: string | null; size: number; name: string | null;
  count: string; active: string; failed: string; examples: string[] | null;
}

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
    const byName = new Map<string, MisroutedJobs>();
    const batch = options.batch ?? 5000;
    // '' sorts before every id: the first batch starts at the queue's first job.
    for (let after: string | null = ''; after !== null;) {
      if (options.signal?.aborted) throw new InterruptedError('topology check interrupted', 'it wrote nothing; rerun it');
      const rows: DeepRow[] = await handle.query<DeepRow & Record<string, unknown>>(DEEP_BATCH_SQL(s), [queue, after, batch, owned, keep]);
      for (const row of rows) {
        if (row.name === null) continue;
        const entry = byName.get(row.name) ?? { queue, name: row.name, count: 0, active: 0, failed: 0, examples: [] };
        entry.count += toNumber(row.count);
        entry.active += toNumber(row.active);
        entry.failed = (entry.failed ?? 0) + toNumber(row.failed);
        // Batches go in id order: the first ids found are the examples kept (memory stays flat).
        entry.examples = [...entry.examples, ...(row.examples ?? [])].slice(0, keep);
        byName.set(row.name, entry);
      }
      after = rows[0] && rows[0].size === batch ? rows[0].last_id : null;
    }
    found.push(...byName.values());
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
