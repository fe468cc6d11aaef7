import { readSchemaState } from '../backend/postgres/schema.js';
import type { PostgresHandle } from '../backend/postgres/types.js';
import type { PostgresDoctorFacts } from './postgres-checks.js';

/**
 * Doctor's PostgreSQL reads (the Redis twin is gather.ts). Only SELECTs of settings,
 * pg_stat_activity and BullMQ's migration ledger: it works, and writes nothing, as a role that
 * may only read. Other sessions' transactions are visible to superusers and pg_read_all_stats.
 */

const PINGS = 5;

export async function gatherPostgresFacts(handle: PostgresHandle): Promise<PostgresDoctorFacts> {
  const pingsMs: number[] = [];
  for (let i = 0; i < PINGS; i++) {
    const started = process.hrtime.bigint();
    await handle.query('SELECT 1');
    pingsMs.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  const [server] = await handle.query<{
    version: string; num: number; max: number; reserved: number; used: number; usr: string; db: string;
  }>(
    `SELECT current_setting('server_version') AS version,
            current_setting('server_version_num')::int AS num,
            current_setting('max_connections')::int AS max,
            current_setting('superuser_reserved_connections')::int AS reserved,
            (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS used,
            current_user AS usr, current_database() AS db`,
  );
  // This database's sessions only: a transaction elsewhere on the server holds back no vacuum of BullMQ's tables.
  const [oldest] = await handle.query<{ pid: number; age: number; state: string | null; app: string; usr: string | null }>(
    `SELECT pid, EXTRACT(EPOCH FROM now() - xact_start)::float8 AS age, state, application_name AS app, usename AS usr
       FROM pg_stat_activity
      WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND datname = current_database()
      ORDER BY xact_start
      LIMIT 1`,
  );
  const bullmq = await import('bullmq');
  return {
    redacted: handle.spec.redacted,
    user: server.usr,
    database: server.db,
    pingsMs,
    serverVersion: server.version,
    serverVersionNum: server.num,
    minimumMajor: bullmq.MINIMUM_POSTGRES_VERSION,
    recommendedMajor: bullmq.RECOMMENDED_POSTGRES_VERSION,
    maxConnections: server.max,
    reservedConnections: server.reserved,
    usedConnections: server.used,
    oldestTransaction: oldest
      ? { pid: oldest.pid, ageSeconds: oldest.age, state: oldest.state ?? 'unknown', applicationName: oldest.app, user: oldest.usr ?? 'unknown' }
      : undefined,
    schema: await readSchemaState(handle),
  };
}
