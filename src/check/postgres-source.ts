import type { Context } from '../context.js';
import { quoteIdent, requireCompatibleSchema } from '../backend/postgres/schema.js';
import type { PostgresHandle } from '../backend/postgres/types.js';
import { discoverQueues, matchWorkers, readNamedSessions, readQueues } from '../inspect/postgres-source.js';
import type { QueueTarget } from '../inspect/read-queues.js';
import { toNumber } from '../inspect/reads.js';
import { postgresScheduleReader } from '../schedules/postgres-reader.js';
import type { Topology } from '../topology/types.js';
import { samplingTargets } from './gather.js';
import { findMisroutedPostgres } from './postgres-names.js';
import type { CheckSource } from './source.js';
import type { MisroutedJobs, PostgresCheckFacts, WorkerConnection } from './types.js';

/**
 * check's reads on BullMQ's PostgreSQL backend (the Redis twin is redis-source.ts): queue counts and
 * `meta` as inspect reads them (inspect/postgres-source.ts), job names through the state indexes
 * (postgres-names.ts), workers from pg_stat_activity, and the server's own facts. SELECTs only, so
 * a role with USAGE on the schema and SELECT on its tables runs it. A missing or other-version
 * BullMQ schema is exit 3 before anything else is read.
 */
export async function postgresCheckSource(ctx: Context, topology: Topology): Promise<CheckSource> {
  const handle = await ctx.postgres();
  await requireCompatibleSchema(handle);
  const s = quoteIdent(handle.spec.schema);
  return {
    where: handle.spec.redacted,
    topology,
    driftOptions: { namespace: { store: 'PostgreSQL', kind: 'schema', name: handle.spec.schema } },
    gather: async (options) => {
      const targets: QueueTarget[] = [
        ...Object.keys(topology.queues).map((name) => ({ name, kind: 'declared' as const })),
        ...Object.keys(topology.legacy).filter((name) => !topology.queues[name] && !topology.legacy[name]?.table).map((name) => ({ name, kind: 'legacy' as const })), // table sources: src/table/check.ts
      ];
      const discovered = await discoverQueues(handle, s);
      const known = new Set(targets.map((t) => t.name));
      for (const name of discovered) if (!known.has(name)) targets.push({ name, kind: 'undeclared' });
      const queues = await readQueues(handle, s, targets);
      const workers = workerConnections(await readNamedSessions(handle), discovered);
      const postgres = await readServerFacts(handle, s);
      const schedulers = await postgresScheduleReader(handle, s).read(Object.keys(topology.queues));

      const sampled = samplingTargets(topology).filter((name) => queues.some((q) => q.name === name && q.exists));
      const misrouted: MisroutedJobs[] = [];
      // One session, one query at a time; --deep counts on the server, so memory stays flat.
      for (const name of sampled) {
        misrouted.push(...(await findMisroutedPostgres(handle, s, name, new Set(topology.queues[name]!.jobs), options)));
      }
      return { queues, postgres, misrouted, workers, deep: options.deep, schedulers };
    },
    emptyVerdict: async () => ({ warning: `no BullMQ queue exists in schema "${handle.spec.schema}" on ${handle.spec.redacted} yet` }),
  };
}

/**
 * BullMQ workers among the named sessions. application_name carries no prefix, so a plain name
 * (`<queue>`, an unnamed worker) counts only for a queue the schema knows — else every psql or
 * app session would read as a worker; `<queue>:w:<name>` is BullMQ's own mark and always counts.
 * Pure.
 */
export function workerConnections(sessions: { app: string; addr: string; idleSeconds: number }[], knownQueues: string[]): WorkerConnection[] {
  const named = sessions.filter((x) => x.app.includes(':w:')).map((x) => x.app.slice(0, x.app.indexOf(':w:')));
  const matched = matchWorkers(sessions, [...new Set([...knownQueues, ...named])]);
  return [...matched].flatMap(([queue, workers]) => workers.map((w) => ({ queue, name: w.name, addr: w.addr })));
}

/** Connections, other sessions' open transactions, and the job table's dead rows: catalog and statistics views only. */
async function readServerFacts(handle: PostgresHandle, s: string): Promise<PostgresCheckFacts> {
  const [server] = await handle.query<{ max: number; reserved: number; used: number; dead: string | null; live: string | null; vacuumed: string | null }>(
    `SELECT current_setting('max_connections')::int AS max,
            current_setting('superuser_reserved_connections')::int AS reserved,
            (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS used,
            t.n_dead_tup AS dead, t.n_live_tup AS live,
            to_char(GREATEST(t.last_autovacuum, t.last_vacuum) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS vacuumed
       FROM (SELECT 1) one
       LEFT JOIN pg_stat_user_tables t ON t.relid = to_regclass($1)`,
    [`${s}.job`],
  );
  const transactions = await handle.query<{ pid: number; age: number; state: string | null; app: string; usr: string | null }>(
    `SELECT pid, EXTRACT(EPOCH FROM now() - xact_start)::float8 AS age, state, application_name AS app, usename AS usr
       FROM pg_stat_activity
      WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND datname = current_database()
      ORDER BY xact_start
      LIMIT 10`,
  );
  return {
    where: handle.spec.redacted,
    schema: handle.spec.schema,
    maxConnections: server.max,
    reservedConnections: server.reserved,
    usedConnections: server.used,
    transactions: transactions.map((t) => ({ pid: t.pid, ageSeconds: t.age, state: t.state ?? 'unknown', applicationName: t.app, user: t.usr ?? 'unknown' })),
    jobTable: { liveRows: toNumber(server.live), deadRows: toNumber(server.dead), lastAutovacuum: server.vacuumed },
  };
}
