import { Queue, createPostgresBackend } from 'bullmq';
import type { Context } from '../context.js';
import { clientConfig } from '../backend/postgres/connection.js';
import { toPostgresError } from '../backend/postgres/errors.js';
import { quoteIdent } from '../backend/postgres/schema.js';
import { postgresInspectSource } from '../inspect/postgres-source.js';
import type { JobSite } from './site.js';

const factory = createPostgresBackend as never;

/** Which of the queues ($1) hold job $2: one primary-key (queue, id) probe per queue, in the order given. */
export const FIND_SQL = (s: string) => `
  SELECT q.name AS queue FROM unnest($1::text[]) WITH ORDINALITY AS q(name, n)
   WHERE EXISTS (SELECT 1 FROM ${s}.job j WHERE j.queue = q.name AND j.id = $2) ORDER BY q.n`;

/**
 * queue/job operations on BullMQ's PostgreSQL backend (the Redis twin is redis-site.ts). Every
 * query is index-backed: a job is found by primary key (queue, id) per queue, and clean's
 * candidates by job_finished_idx, with BullMQ's own clean.sql rule (state, finished_at_ms <= cutoff, seq order).
 */
export async function postgresJobSite(ctx: Context): Promise<JobSite> {
  const inspect = await postgresInspectSource(ctx); // a missing or other-version schema is exit 3 here
  const handle = await ctx.postgres();
  const { spec } = handle;
  const s = quoteIdent(spec.schema);
  const queues: Queue[] = [];
  const guard = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw toPostgresError(error, spec);
    }
  };
  return {
    kind: 'postgres',
    where: `${spec.redacted} (schema ${spec.schema})`,
    inspect,
    queue(name) {
      const queue = new Queue(name, { connection: { ...clientConfig(spec), schema: spec.schema } as never, skipMetasUpdate: true }, factory);
      queue.on('error', () => undefined);
      queues.push(queue);
      return queue;
    },
    findJob: (id, names) => guard(async () => {
      const rows = await handle.query<{ queue: string }>(FIND_SQL(s), [names, id]);
      return rows.map((r) => r.queue);
    }),
    cleanCandidates: (queue, state, cutoff, limit, sample) => guard(async () => {
      const [row] = await handle.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM ${s}.job WHERE queue = $1 AND state = $2 AND finished_at_ms <= $3`,
        [queue, state, cutoff],
      );
      const ids = await handle.query<{ id: string }>(
        `SELECT id FROM ${s}.job WHERE queue = $1 AND state = $2 AND finished_at_ms <= $3 ORDER BY seq LIMIT $4`,
        [queue, state, cutoff, Math.min(sample, limit ?? sample)],
      );
      return { count: Math.min(Number(row?.n ?? 0), limit ?? Infinity), ids: ids.map((r) => r.id) };
    }),
    guard,
    close: async () => {
      await Promise.allSettled(queues.splice(0).map((q) => q.close()));
    },
  };
}
