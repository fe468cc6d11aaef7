import { randomBytes } from 'node:crypto';
import { Queue, Worker, createPostgresBackend } from 'bullmq';
import { clientConfig, connectPostgres } from '../backend/postgres/connection.js';
import { runBullmqMigrations } from '../backend/postgres/migrate.js';
import { quoteIdent } from '../backend/postgres/schema.js';
import type { PostgresHandle, PostgresSpec } from '../backend/postgres/types.js';
import { postgresSpecFromGlobals } from '../backend/postgres/url.js';
import type { GlobalOptions } from '../context.js';
import { redactUrl } from '../redis/url.js';
import type { DemoBullmq, DemoEnvironment } from './environment.js';
import { findPostgresBinDir, postgresMissing, startThrowawayPostgres } from './postgres-server.js';

const factory = createPostgresBackend as never;
/** BullMQ's default schema, used in the throwaway cluster (nobody else's data lives there). */
const THROWAWAY_SCHEMA = 'bullmq';

/** BullMQ's Queue and Worker on createPostgresBackend in `spec.schema`, each with a pool of its own. */
function postgresBullmq(spec: PostgresSpec): DemoBullmq {
  const connection = { ...clientConfig(spec, { boundQueries: false }), schema: spec.schema } as never;
  return {
    queue: (name, opts = {}) => new Queue(name, { connection, ...opts }, factory),
    worker: (name, processor, opts) => new Worker(name, processor, { ...opts, connection }, factory),
  };
}

function specFor(url: string, schema: string, globals: GlobalOptions): PostgresSpec {
  return postgresSpecFromGlobals(url, redactUrl(url), schema, globals);
}

/**
 * The demo on BullMQ's PostgreSQL backend. With --url: that server, in a fresh schema
 * `queuectl_demo_<random>` built by BullMQ's own migrations and dropped at the end (only that
 * schema, which this run created). Without: a throwaway PostgreSQL of our own (initdb + pg_ctl),
 * its schema built the same way, stopped and its folder removed at the end.
 */
export async function openPostgresEnvironment(globals: GlobalOptions): Promise<DemoEnvironment> {
  return globals.redis ? shared(globals, globals.redis) : throwaway(globals);
}

/** The connection for the children: the URL (it holds a password) goes through QUEUECTL_URL, never argv. */
function childConnection(url: string, schema: string, shownUrl: string, globals: GlobalOptions) {
  const extra = [
    ...(globals.passwordFile ? ['--password-file', globals.passwordFile] : []),
    ...(globals.tlsCa ? ['--tls-ca', globals.tlsCa] : []),
    ...(globals.tlsCert && globals.tlsKey ? ['--tls-cert', globals.tlsCert, '--tls-key', globals.tlsKey] : []),
    '--schema', schema,
  ];
  return { childArgs: extra, shownArgs: ['--url', shownUrl, ...extra], childEnv: { QUEUECTL_URL: url } };
}

async function throwaway(globals: GlobalOptions): Promise<DemoEnvironment> {
  const binDir = await findPostgresBinDir();
  if (!binDir) throw postgresMissing();
  const server = await startThrowawayPostgres(binDir, { prefix: 'queuectl-demo-pg-' });
  // Last resort: if the process ends without the cleanup running, the server must not outlive it.
  const onExit = () => server.stopSync();
  process.on('exit', onExit);
  try {
    const spec = specFor(server.url, THROWAWAY_SCHEMA, globals);
    await runBullmqMigrations(spec);
    return {
      kind: 'postgres',
      bullmq: postgresBullmq(spec),
      ...childConnection(server.url, THROWAWAY_SCHEMA, server.shownUrl, globals),
      where: `a throwaway PostgreSQL (${binDir}, pid ${server.pid}, data ${server.dataDir}) on ${server.shownUrl}, schema ${THROWAWAY_SCHEMA} made by BullMQ's own migrations: deleted at the end`,
      stop: async () => {
        await server.stop();
        process.off('exit', onExit);
      },
      stopped: 'Stopped the throwaway PostgreSQL and removed its folder.',
    };
  } catch (error) {
    await server.stop();
    process.off('exit', onExit);
    throw error;
  }
}

async function shared(globals: GlobalOptions, url: string): Promise<DemoEnvironment> {
  const schema = `queuectl_demo_${randomBytes(4).toString('hex')}`;
  const spec = specFor(url, schema, globals);
  // Connect first: a wrong URL fails here (exit 3) before anything is created.
  const handle = await connectPostgres(spec);
  let hadJournal = false;
  try {
    hadJournal = await journalExists(handle);
    await runBullmqMigrations(spec);
  } catch (error) {
    await handle.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`).catch(() => undefined);
    await handle.close();
    throw error;
  }
  return {
    kind: 'postgres',
    bullmq: postgresBullmq(spec),
    prefix: schema,
    ...childConnection(url, schema, spec.redacted, globals),
    where: `${spec.redacted}, in the schema ${schema} made by BullMQ's own migrations (dropped at the end; nothing else is touched)`,
    stop: async () => {
      try {
        await handle.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
        await forgetDemoRuns(handle, schema, hadJournal);
      } finally {
        await handle.close().catch(() => undefined);
      }
    },
    stopped: `Dropped the demo's schema ${schema}.`,
  };
}

/** migrate keeps its journal in a `queuectl` schema of the same database (src/migrate/postgres-journal.ts). */
async function journalExists(handle: PostgresHandle): Promise<boolean> {
  const [row] = await handle.query<{ ok: boolean }>(`SELECT to_regclass('queuectl.migrate_run') IS NOT NULL AS ok`);
  return Boolean(row?.ok);
}

/**
 * Removes the demo's migrate runs from the journal: the whole `queuectl` schema when the demo's
 * runs made it and it holds no other run, else only the rows of the demo's BullMQ schema.
 */
async function forgetDemoRuns(handle: PostgresHandle, schema: string, hadJournal: boolean): Promise<void> {
  if (!(await journalExists(handle))) return;
  const [other] = await handle.query<{ n: string }>('SELECT count(*)::text AS n FROM queuectl.migrate_run WHERE bullmq_schema <> $1', [schema]);
  if (!hadJournal && other?.n === '0') {
    await handle.query('DROP SCHEMA queuectl CASCADE');
    return;
  }
  const runs = 'SELECT id FROM queuectl.migrate_run WHERE bullmq_schema = $1';
  await handle.query(`DELETE FROM queuectl.migrate_moved WHERE run_id IN (${runs})`, [schema]);
  await handle.query(`DELETE FROM queuectl.migrate_renamed WHERE run_id IN (${runs})`, [schema]);
  await handle.query('DELETE FROM queuectl.migrate_run WHERE bullmq_schema = $1', [schema]);
}
