import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/**
 * The WorkerJob application of test/fixtures/table-queues/workerjob.sql, run as its comments
 * describe: a producer inserting rows (an existing idempotencyKey keeps the existing row), workers
 * claiming with the design's own UPDATE … (SELECT … FOR UPDATE SKIP LOCKED), failing with its
 * backoff (2^attempts · 5 s) or completing, and the stuck-row recovery. Tests move the table into
 * BullMQ while all of it runs, and check every row ran exactly once, never early.
 */

export function fixtureSql(name: 'workerjob' | 'jobqueue'): string {
  return readFileSync(fileURLToPath(new URL(`../fixtures/table-queues/${name}.sql`, import.meta.url)), 'utf8');
}

export const WORKER_JOB_TYPES = ['INTERPRET_EVENT', 'DETECT_PATTERNS', 'GENERATE_INSIGHTS', 'GENERATE_REVIEW', 'GENERATE_TOMORROW_PLAN', 'SUGGEST_UOM_UPDATE'] as const;

/** The table, a user for the foreign key, and a trigger logging each row's due time as it leaves. */
export async function createWorkerJobTable(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(fixtureSql('workerjob'));
    await c.query(`INSERT INTO "User" (id) VALUES ('u1')`);
    // Test bookkeeping only (public.test_left): when a row left the table, and what was due then.
    await c.query(`CREATE TABLE test_left (k text, due_ms bigint, last_error text, attempts int);
      CREATE FUNCTION test_log_left() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        INSERT INTO test_left VALUES (OLD.payload->>'k', (extract(epoch FROM OLD."availableAt"::timestamptz) * 1000)::bigint, OLD."lastError", OLD.attempts);
        RETURN OLD; END $$;
      CREATE TRIGGER test_left AFTER DELETE ON "WorkerJob" FOR EACH ROW EXECUTE FUNCTION test_log_left();`);
  } finally {
    await c.end();
  }
}

export interface SeedRow {
  k: string;
  type: string;
  priority?: number;
  /** Seconds from now (negative: overdue). */
  dueIn?: number;
  /** The application's worker fails it on its first attempt (it retries 10 s later). */
  failOnce?: boolean;
  idempotencyKey?: string;
  status?: 'PENDING' | 'PROCESSING' | 'DEAD_LETTER';
  lockedMinutesAgo?: number;
  attempts?: number;
  lastError?: string;
}

export function cuid(): string {
  return `c${randomBytes(12).toString('hex')}`;
}

/** Inserts rows as the application's enqueue does (ON CONFLICT on idempotencyKey: the existing row stays). */
export async function insertRows(c: pg.Client | pg.Pool, rows: SeedRow[]): Promise<void> {
  if (rows.length === 0) return;
  await c.query(
    `INSERT INTO "WorkerJob" (id, type, payload, status, priority, "availableAt", attempts, "lastError", "lockedAt", "lockedBy", "idempotencyKey", "userId")
     SELECT u.id, u.type::"JobType", jsonb_build_object('k', u.k, 'eventId', u.k, 'userId', 'u1', 'failOnce', u.fail), u.status::"JobStatus", u.priority,
            now() + make_interval(secs => u.due), u.attempts, u.err,
            CASE WHEN u.locked IS NULL THEN NULL ELSE now() - make_interval(mins => u.locked) END,
            CASE WHEN u.locked IS NULL THEN NULL ELSE 'old-worker' END, u.ikey, 'u1'
       FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::text[], $6::int[], $7::float8[], $8::int[], $9::text[], $10::int[], $11::text[])
            AS u(id, k, type, fail, status, priority, due, attempts, err, locked, ikey)
     ON CONFLICT ("idempotencyKey") DO NOTHING`,
    [rows.map(() => cuid()), rows.map((r) => r.k), rows.map((r) => r.type), rows.map((r) => Boolean(r.failOnce)), rows.map((r) => r.status ?? 'PENDING'),
      rows.map((r) => r.priority ?? 0), rows.map((r) => r.dueIn ?? 0), rows.map((r) => r.attempts ?? 0), rows.map((r) => r.lastError ?? null),
      rows.map((r) => r.lockedMinutesAgo ?? null), rows.map((r) => r.idempotencyKey ?? `key:${r.k}:x`)],
  );
}

export interface Run {
  k: string;
  by: string;
  at: number;
  ok: boolean;
}

/** The application: `workers` claim loops, the stuck recovery, and (optionally) a producer. */
export function startWorkerJobApp(url: string, options: { workers?: number; produce?: (n: number) => SeedRow[] | undefined; runs: Run[]; errors: string[] }) {
  const pool = new pg.Pool({ connectionString: url, max: (options.workers ?? 2) + 3 });
  pool.on('error', () => undefined);
  let stopped = false;
  const loops: Promise<void>[] = [];
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  for (let w = 0; w < (options.workers ?? 2); w++) {
    const me = `app-${w}`;
    loops.push((async () => {
      while (!stopped) {
        try {
          const { rows } = await pool.query(
            `UPDATE "WorkerJob" SET status = 'PROCESSING', "lockedAt" = now(), "lockedBy" = $1, "startedAt" = now(), attempts = attempts + 1
              WHERE id = (SELECT id FROM "WorkerJob" WHERE status = 'PENDING' AND "availableAt" <= now()
                          ORDER BY priority DESC, "availableAt" ASC LIMIT 1 FOR UPDATE SKIP LOCKED)
              RETURNING id, type, payload, attempts, "maxAttempts", "userId"`, [me]);
          const job = rows[0];
          if (!job) {
            await pause(30);
            continue;
          }
          await pause(2);
          const fail = job.payload.failOnce && job.attempts === 1;
          const done = fail
            ? await pool.query(
              `UPDATE "WorkerJob" SET status = CASE WHEN attempts < "maxAttempts" THEN 'PENDING'::"JobStatus" ELSE 'DEAD_LETTER'::"JobStatus" END,
                      "availableAt" = now() + make_interval(secs => power(2, attempts) * 5), "lastError" = $2, "lockedAt" = NULL, "lockedBy" = NULL
                WHERE id = $1 AND "lockedBy" = $3`, [job.id, `boom on attempt ${job.attempts}`, me])
            : await pool.query(`UPDATE "WorkerJob" SET status = 'COMPLETED', "completedAt" = now(), "lockedAt" = NULL, "lockedBy" = NULL WHERE id = $1 AND "lockedBy" = $2`, [job.id, me]);
          // The row it claimed must still be there and still its own: a move never takes a claimed row.
          if (done.rowCount !== 1) options.errors.push(`${me}: row ${job.id} (${job.payload.k}) vanished while claimed`);
          options.runs.push({ k: job.payload.k, by: me, at: Date.now(), ok: !fail });
        } catch (error) {
          if (!stopped) options.errors.push(`${me}: ${(error as Error).message}`);
          await pause(50);
        }
      }
    })());
  }
  // Stuck recovery (every 5 min in the application; often here): PROCESSING locked > 10 min → PENDING.
  loops.push((async () => {
    while (!stopped) {
      await pool.query(`UPDATE "WorkerJob" SET status = 'PENDING', "lockedAt" = NULL, "lockedBy" = NULL, "lastError" = 'Recovered from stuck state after 10 minutes'
                         WHERE status = 'PROCESSING' AND "lockedAt" < now() - interval '10 minutes'`).catch((e) => !stopped && options.errors.push(`recovery: ${e.message}`));
      await pause(100);
    }
  })());
  if (options.produce) {
    loops.push((async () => {
      for (let n = 0; !stopped; n++) {
        const rows = options.produce!(n);
        if (!rows) break;
        await insertRows(pool, rows).catch((e) => !stopped && options.errors.push(`producer: ${e.message}`));
        await pause(20);
      }
    })());
  }
  return {
    pool,
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.allSettled(loops);
      await pool.end();
    },
  };
}

/** Every key completed exactly once across the application and BullMQ, and none is missing. */
export function exactlyOnce(runs: Run[], keys: string[]): { missing: string[]; twice: string[] } {
  const count = new Map<string, number>();
  for (const r of runs) if (r.ok) count.set(r.k, (count.get(r.k) ?? 0) + 1);
  return { missing: keys.filter((k) => !count.has(k)), twice: [...count].filter(([, n]) => n > 1).map(([k]) => k) };
}

/** The topology's queues for the WorkerJob families (one queue takes two; uom removes completed jobs). */
export const WORKER_JOB_QUEUES = `
  interpret: { jobs: [INTERPRET_EVENT], jobId: "{idempotencyKey}" }
  patterns: { jobs: [DETECT_PATTERNS], dedup: none }
  insights: { jobs: [GENERATE_INSIGHTS], dedup: none }
  planning: { jobs: [GENERATE_REVIEW, GENERATE_TOMORROW_PLAN], dedup: none }
  uom: { jobs: [SUGGEST_UOM_UPDATE], dedup: none, removeOnComplete: true }`;


/** A mixed backlog: every family, priorities 0..3, overdue and due in 1–3 s, some failing once, a few stuck and dead. */
export function backlog(n: number, tag: string): SeedRow[] {
  const rows: SeedRow[] = [];
  for (let i = 0; i < n; i++) {
    const retried = i % 50 === 1 ? { attempts: 1, lastError: `earlier failure of ${tag}-${i}` } : {};
    rows.push({ k: `${tag}-${i}`, type: WORKER_JOB_TYPES[i % 6], priority: i % 4, dueIn: i % 5 === 0 ? 1 + (i % 3) : -(i % 7), failOnce: i % 37 === 0, ...retried });
  }
  for (let i = 0; i < 3; i++) rows.push({ k: `${tag}-stuck-${i}`, type: 'DETECT_PATTERNS', status: 'PROCESSING', lockedMinutesAgo: 20, attempts: 1, dueIn: -1200 });
  return rows;
}

