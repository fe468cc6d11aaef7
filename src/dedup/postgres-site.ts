import { randomBytes } from 'node:crypto';
import { Queue, QueueEvents, Worker, createPostgresBackend } from 'bullmq';
import { clientConfig } from '../backend/postgres/connection.js';
import { PostgresError } from '../backend/postgres/errors.js';
import { runBullmqMigrations } from '../backend/postgres/migrate.js';
import { quoteIdent } from '../backend/postgres/schema.js';
import type { PostgresHandle } from '../backend/postgres/types.js';
import type { DedupSite } from './site.js';

const CONNECTION_TROUBLE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|Connection terminated|timeout|password authentication|does not exist/i;
const factory = createPostgresBackend as never;

/**
 * dedup-check on BullMQ's PostgreSQL backend (the Redis twin is redis-site.ts). Every producer,
 * worker and listener is BullMQ's own on createPostgresBackend, each with its own pool. The
 * scratch namespace is a schema `queuectl_dedup_<random>` built by BullMQ's own migrations and
 * dropped afterwards: only that schema, which this run created.
 */
export function postgresDedupSite(handle: PostgresHandle): DedupSite {
  const { spec } = handle;
  const connection = (schema: string) => ({ ...clientConfig(spec, { boundQueries: false }), schema }) as never;
  const made = new Set<string>();
  return {
    nsKind: 'schema',
    producer: (queue, schema) => {
      const q = new Queue(queue, { connection: connection(schema), skipMetasUpdate: true }, factory);
      return { queue: q, close: () => q.close() };
    },
    worker: (queue, schema, processor, options) => new Worker(queue, processor, { ...options, connection: connection(schema) }, factory),
    events: (queue, schema, lastEventId) => new QueueEvents(queue, { connection: connection(schema), lastEventId }, factory),
    lastEventId: async (queue, schema) => {
      const [row] = await handle.query<{ id: string | null }>(`SELECT max(id)::text AS id FROM ${quoteIdent(schema)}.event WHERE queue = $1`, [queue]);
      return row?.id ?? '0';
    },
    duplicateReports: async (queue, schema, afterId, ids) => {
      const [row] = await handle.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM ${quoteIdent(schema)}.event
          WHERE queue = $1 AND id > $2::bigint AND event IN ('duplicated', 'deduplicated')
            AND ($3::text[] IS NULL OR data->>'jobId' = ANY($3) OR data->>'deduplicatedJobId' = ANY($3))`,
        [queue, afterId, ids ? [...ids] : null],
      );
      return Number(row?.n ?? 0);
    },
    dedupKey: async (queue, schema, id) => {
      const [row] = await handle.query<{ expire: string | null }>(`SELECT expire_at_ms AS expire FROM ${quoteIdent(schema)}.dedup WHERE queue = $1 AND dedup_id = $2`, [queue, id]);
      if (!row) return { exists: false, pttl: -2 };
      return { exists: true, pttl: row.expire === null ? -1 : Math.max(0, Number(row.expire) - Date.now()) };
    },
    makeScratch: async () => {
      const schema = `queuectl_dedup_${randomBytes(6).toString('hex')}`;
      made.add(schema);
      await runBullmqMigrations({ ...spec, schema });
      return schema;
    },
    // A queue's rows stay apart by its name; the schema goes whole at the end.
    clearScratch: async () => undefined,
    dropScratch: async (schema) => {
      if (!made.has(schema)) return;
      try {
        await handle.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
        made.delete(schema);
      } catch (error) {
        throw new PostgresError(`could not drop the scratch schema ${schema} (${error instanceof Error ? error.message : String(error)})`, `drop it with DROP SCHEMA ${quoteIdent(schema)} CASCADE`);
      }
    },
    // Removing a delayed job leaves nothing behind on PostgreSQL (no marker to restore).
    afterCanaries: async () => undefined,
    connectionTrouble: (queue, message) => (CONNECTION_TROUBLE.test(message) ? new PostgresError(`PostgreSQL failed during dedup-check of ${queue}: ${message}`, 'check --url and that the server is up') : undefined),
  };
}
