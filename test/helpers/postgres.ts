import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, inject } from 'vitest';
import { Queue, Worker, createPostgresBackend, runMigrations, type Processor, type QueueOptions } from 'bullmq';

/**
 * The run's throwaway PostgreSQL (test/setup/postgres-process.ts), superuser URL. Each test works
 * in a database of its own (freshDatabase), dropped after the file's tests: never the machine's.
 */
export function pgAdminUrl(): string {
  const url = inject('pgUrl');
  if (!url) throw new Error('no PostgreSQL for this test run: initdb/pg_ctl not found — install Debian\'s postgresql package (.ci/run does)');
  return url;
}

const created: string[] = [];
const openQueues: { close(): Promise<unknown> }[] = [];

afterAll(async () => {
  await Promise.allSettled(openQueues.splice(0).map((q) => q.close()));
  const names = created.splice(0);
  if (names.length === 0) return;
  const admin = new pg.Client({ connectionString: pgAdminUrl() });
  await admin.connect();
  try {
    // Only the databases this file created; FORCE ends sessions a failed test left open.
    for (const name of names) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
});

/** Replaces the database of a postgres:// URL (keeps user, password, host, port, parameters). */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** A new empty database on the run's PostgreSQL, dropped after the file's tests; returns its URL. */
export async function freshDatabase(): Promise<string> {
  const name = `qc_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgAdminUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
    created.push(name);
  } finally {
    await admin.end();
  }
  return withDatabase(pgAdminUrl(), name);
}

/** Runs one statement (or several, no parameters) on `url` with a short-lived client. */
export async function sql<T extends pg.QueryResultRow = any>(url: string, text: string, params?: unknown[]): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, params as never)).rows;
  } finally {
    await client.end();
  }
}

/** BullMQ's own migrations (runMigrations, the way an application would) into `schema`; returns the version. */
export async function migrateBullmq(url: string, schema = 'bullmq'): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await runMigrations(client as never, schema);
  } finally {
    await client.end();
  }
}

/** A real BullMQ Queue on createPostgresBackend (closed after the file's tests). */
export function pgQueue(url: string, name: string, schema = 'bullmq', opts: Partial<QueueOptions> = {}): Queue {
  const queue = new Queue(name, { ...opts, connection: { connectionString: url, schema } as never }, createPostgresBackend as never);
  openQueues.push(queue);
  return queue;
}

/**
 * Closes every queue and worker opened so far. A session reports its table statistics (n_tup_ins,
 * …) when it ends, or up to seconds later while idle: a test that compares those counters closes
 * the writers first, then waits for the counters to settle (settledWrites).
 */
export async function closeOpenQueues(): Promise<void> {
  await Promise.allSettled(openQueues.splice(0).map((q) => q.close()));
}

/** The schema's insert/update/delete counters once they stop changing (bounded: 30 s). */
export async function settledWrites(url: string, schema = 'bullmq'): Promise<{ ins: string; upd: string; del: string }[]> {
  const read = () => sql(url, `SELECT sum(n_tup_ins)::bigint AS ins, sum(n_tup_upd)::bigint AS upd, sum(n_tup_del)::bigint AS del
                                 FROM pg_stat_user_tables WHERE schemaname = $1`, [schema]);
  let last = JSON.stringify(await read());
  const deadline = Date.now() + 30_000;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1_200)); // past PostgreSQL's 1 s minimum between a session's stats reports
    const now = JSON.stringify(await read());
    if (now === last || Date.now() > deadline) return JSON.parse(now);
    last = now;
  }
}

/** A real BullMQ Worker on createPostgresBackend (closed after the file's tests). */
export function pgWorker(url: string, name: string, processor: Processor, schema = 'bullmq', opts: Record<string, unknown> = {}): Worker {
  const worker = new Worker(name, processor, { connection: { connectionString: url, schema } as never, ...opts }, createPostgresBackend as never);
  openQueues.push(worker);
  return worker;
}
