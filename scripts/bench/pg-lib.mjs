// PostgreSQL plumbing for the pg-* benches: a throwaway PostgreSQL (the demo's own
// startThrowawayPostgres from dist/: initdb + pg_ctl on a free loopback port in a temp folder, as
// the `postgres` user when run as root), BullMQ's schema made by BullMQ's own migrations, BullMQ
// Queues on createPostgresBackend sharing one pg.Pool, timed addBulk, and finished jobs made by
// BullMQ's own SQL functions. Seeding goes through BullMQ (addBulk → its add_jobs_bulk function),
// so a seeded job is a real one, byte for byte.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { Queue, createPostgresBackend, runMigrations } from 'bullmq';
import { root } from './lib.mjs';

export const SCHEMA = 'bullmq';

/**
 * Starts a throwaway PostgreSQL with BullMQ's schema in it. `stop()` stops it and removes its folder;
 * a process 'exit' hook does the same if the bench dies before its `finally` runs.
 */
export async function startPostgres() {
  const { findPostgresBinDir, startThrowawayPostgres } = await import(pathToFileURL(join(root, 'dist/demo/postgres-server.js')).href);
  const binDir = await findPostgresBinDir();
  if (!binDir) throw new Error('initdb and pg_ctl were not found (PATH, pg_config --bindir, /usr/lib/postgresql/*/bin): install PostgreSQL, e.g. `apt-get install postgresql`');
  const server = await startThrowawayPostgres(binDir, { prefix: 'queuectl-bench-pg-' });
  // If the bench dies before its `finally` runs (an uncaught error, Ctrl-C, kill), the server must
  // not outlive it: 'exit' stops it synchronously; a signal that comes while the `finally` is
  // already stopping it waits for that stop (else the folder could be left behind).
  let stopping;
  const onExit = () => server.stopSync();
  const onSignal = (signal) => {
    process.stderr.write(`bench: ${signal}: stopping the throwaway PostgreSQL\n`);
    const code = signal === 'SIGINT' ? 130 : 143;
    if (stopping) void stopping.finally(() => process.exit(code));
    else process.exit(code);
  };
  process.on('exit', onExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const stop = () => (stopping ??= server.stop().finally(() => {
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }));
  try {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      await runMigrations(client, SCHEMA);
      const version = (await client.query('SHOW server_version')).rows[0].server_version;
      return { url: server.url, shownUrl: server.shownUrl, port: server.port, dataDir: server.dataDir, version, stop };
    } finally {
      await client.end();
    }
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One pg.Pool pinned to BullMQ's schema, shared by every Queue a bench opens (BullMQ accepts a pool). */
export function bullmqPool(url, max = 8) {
  const pool = new pg.Pool({ connectionString: url, max, options: `-c search_path=${SCHEMA}` });
  pool.setMaxListeners(0); // every Queue on it adds an error listener
  return pool;
}

/** A BullMQ Queue on createPostgresBackend over `pool` (closing it leaves the pool open). */
export const pgQueue = (pool, name) => new Queue(name, { connection: pool }, createPostgresBackend);

/** Runs one statement with a short-lived client. */
export async function sql(url, text, params) {
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${SCHEMA}` });
  await client.connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * BullMQ's addBulk of `batches` ([{ queue, jobs: [{ name, data, opts }] }], 1,000 jobs a call is
 * the anchor), `inFlight` calls at a time; resolves with the wall time in ms.
 */
export async function addBulkTimed(pool, batches, inFlight = 4) {
  const queues = new Map();
  const queueFor = (name) => queues.get(name) ?? queues.set(name, pgQueue(pool, name)).get(name);
  for (const b of batches) await queueFor(b.queue).waitUntilReady();
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < batches.length) {
      const b = batches[next++];
      await queueFor(b.queue).addBulk(b.jobs);
    }
  }));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  await Promise.all([...queues.values()].map((q) => q.close()));
  return ms;
}

/**
 * Finishes the first `count` waiting jobs of `queue` the way a BullMQ worker does, through
 * BullMQ's own SQL functions (move_to_active, then move_to_completed or move_to_failed with the
 * worker's default "keep everything"), in one server-side loop instead of a worker's round trips.
 * A job to fail should have `attempts: 1`, or BullMQ retries it instead.
 */
export async function finishJobs(client, queue, count, outcome) {
  const finish = outcome === 'completed'
    ? `PERFORM move_to_completed(q, j.id, tok, '"done"'::jsonb, now_ms, false, NULL, NULL);`
    : `PERFORM move_to_failed(q, j.id, tok, 'upstream timeout', '["Error: upstream timeout\\n    at work (worker.js:1:1)"]'::jsonb, now_ms, false, NULL, NULL);`;
  await client.query(`DO $$
DECLARE q text := ${pg.escapeLiteral(queue)}; tok text := 'bench-seed'; now_ms bigint; j job;
BEGIN
  FOR i IN 1..${Number(count)} LOOP
    now_ms := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
    SELECT * INTO j FROM move_to_active(q, tok, 30000, now_ms, NULL, NULL, NULL);
    EXIT WHEN j.id IS NULL;
    ${finish}
  END LOOP;
END $$`);
}
