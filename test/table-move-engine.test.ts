import { describe, expect, it, onTestFinished } from 'vitest';
import { Queue, Worker, type Job } from 'bullmq';
import { loadTopologyFile } from '../src/topology/load.js';
import { buildRouting } from '../src/migrate/routing.js';
import { postgresDestination, redisDestination, tableMarkKey } from '../src/migrate/table-dest.js';
import { nameFilter, runTableMove } from '../src/migrate/table-engine.js';
import { ensureTableJournal, openTableRun, pendingOutbox, PER_BATCH, writeOutbox } from '../src/migrate/table-journal.js';
import { priorityRanks } from '../src/migrate/table-jobs.js';
import { freshDatabase, migrateBullmq, pgWorker, sql } from './helpers/postgres.js';
import { bullConnection, uniqueName } from './helpers/redis.js';
import { backlog, createWorkerJobTable, exactlyOnce, insertRows, startWorkerJobApp, WORKER_JOB_QUEUES, WORKER_JOB_TYPES, type Run } from './helpers/table-app.js';
import { pgHandle, workerJobSource } from './helpers/table-source.js';
import { tempFile } from './helpers/temp.js';
import { until } from './helpers/wait.js';
import { Redis } from 'ioredis';

/**
 * The table move's engine (src/migrate/table-engine.ts) in process, with the WorkerJob
 * application running: its producer, claim/fail workers and stuck recovery keep going during the
 * move, real BullMQ workers consume the destination queues meanwhile (one with removeOnComplete),
 * and every row runs exactly once, never before it was due.
 */

const QUEUE_OF: Record<string, string> = { INTERPRET_EVENT: 'interpret', DETECT_PATTERNS: 'patterns', GENERATE_INSIGHTS: 'insights', GENERATE_REVIEW: 'planning', GENERATE_TOMORROW_PLAN: 'planning', SUGGEST_UOM_UPDATE: 'uom' };

async function topology(prefix: string) {
  const file = tempFile('tmove', 'queuectl.yaml', `version: 1\nprefix: "${prefix}"\nqueues:${WORKER_JOB_QUEUES}\nworkers:\n  w: { queues: [interpret, patterns, insights, planning, uom] }\nlegacy:\n  worker-jobs: { note: the WorkerJob table }\n`);
  return (await loadTopologyFile(file)).topology;
}

describe('table move engine (WorkerJob → BullMQ)', () => {
  it('into BullMQ on Redis while the application keeps claiming and producing: every row once, none early, last errors and priorities kept', async () => {
    const url = await freshDatabase();
    await createWorkerJobTable(url);
    const prefix = uniqueName('tm');
    const topo = await topology(prefix);
    const seed = backlog(600, 'a');
    await insertRows(await pgClient(url), seed);
    await insertRows(await pgClient(url), [{ k: 'dead-1', type: 'GENERATE_REVIEW', status: 'DEAD_LETTER', attempts: 3, lastError: 'gave up' }]);
    const keys = seed.map((s) => s.k);

    const runs: Run[] = [];
    const errors: string[] = [];
    let produced = 0;
    const app = startWorkerJobApp(url, {
      workers: 2, runs, errors,
      produce: (n) => {
        if (n >= 30) return undefined;
        const rows = backlog(10, `p${n}`).slice(0, 10);
        produced += rows.length;
        keys.push(...rows.map((r) => r.k));
        return rows;
      },
    });
    onTestFinished(() => app.stop());

    // BullMQ workers on every destination queue, consuming during the move.
    const early: string[] = [];
    const seen: { k: string; queue: string; priority?: number; failedReason?: string; attempts?: number }[] = [];
    const workers = ['interpret', 'patterns', 'insights', 'planning', 'uom'].map((q) => new Worker(q, async (job: Job) => {
      runs.push({ k: job.data.k, by: `bullmq:${q}`, at: Date.now(), ok: true });
      seen.push({ k: job.data.k, queue: q, priority: job.opts.priority, failedReason: job.failedReason, attempts: job.opts.attempts });
      const due = job.timestamp + (job.opts.delay ?? 0);
      if (Date.now() < due) early.push(job.data.k);
    }, { connection: bullConnection(), prefix, concurrency: 20 }));
    onTestFinished(async () => {
      await Promise.allSettled(workers.map((w) => w.close()));
    });

    const db = await pgHandle(url);
    onTestFinished(() => db.close());
    const redis = new Redis(bullConnection());
    onTestFinished(async () => void (await redis.quit()));
    const source = workerJobSource(db);
    await ensureTableJournal(db);
    const routing = buildRouting(topo, { from: 'worker-jobs' });
    const ranks = priorityRanks([0, 1, 2, 3], 'higher-first');
    await openTableRun(db, { id: 'run1', intent: 'run1', source: 'worker-jobs', table: '"WorkerJob"', dest: 'redis', states: ['ready', 'scheduled'], planned: 0, ranks });
    const dest = redisDestination(redis, prefix, 'redis');
    onTestFinished(() => dest.close());
    const result = await runTableMove({
      source, dest, topology: topo, routing, ranks, runId: 'run1', states: ['ready', 'scheduled'], batch: 50,
      follow: { quietMs: 1500 }, signal: new AbortController().signal,
      onProgress: (p) => process.env.TM_DEBUG && console.log('progress', p),
    });
    if (process.env.TM_DEBUG) {
      console.log('moved', result);
      const q = new Queue('interpret', { connection: bullConnection(), prefix });
      console.log('counts', await q.getJobCounts(), await redis.keys(`${prefix}:interpret:*`).then((k) => k.slice(0, 8)));
      const [j] = await q.getJobs(['waiting', 'prioritized', 'delayed'], 0, 0);
      console.log('job', j?.toJSON());
      await q.close();
    }
    expect(result.claimed).toBeGreaterThan(300);
    expect(result.delivered).toBe(result.claimed);

    // The application's workers finish what they held; every key completes exactly once, by someone.
    await until(() => exactlyOnce(runs, keys).missing.length === 0, 'every row completed', 60_000, 100).catch((e) => {
      throw new Error(`${e.message}: missing ${exactlyOnce(runs, keys).missing.slice(0, 10).join(',')} errors ${errors.slice(0, 3).join(' | ')}`);
    });
    await new Promise((r) => setTimeout(r, 500)); // a duplicate would show up now: nothing more may run
    const verdict = exactlyOnce(runs, keys);
    expect(verdict.twice).toEqual([]);
    expect(errors).toEqual([]);
    expect(early).toEqual([]);
    // None early against the row's own due time as it left the table.
    const left = await sql<{ k: string; due_ms: string; last_error: string | null }>(url, 'SELECT k, due_ms::text, last_error, attempts FROM test_left');
    const ranAt = new Map(runs.filter((r) => r.by.startsWith('bullmq')).map((r) => [r.k, r.at]));
    for (const l of left) expect(ranAt.get(l.k)! + 5, l.k).toBeGreaterThanOrEqual(Number(l.due_ms));
    expect(left.length).toBe(result.claimed);
    // Failed-once rows moved with their last error; stuck rows recovered by the application carry theirs.
    const withError = left.filter((l) => l.last_error);
    expect(withError.length).toBeGreaterThan(5);
    for (const l of withError) expect(seen.find((s) => s.k === l.k)?.failedReason, l.k).toBe(l.last_error);
    // Attempts left = maxAttempts (3) − attempts made.
    for (const l of left) expect(seen.find((s) => s.k === l.k)?.attempts, l.k).toBe(Math.max(1, 3 - Number((l as unknown as { attempts: number }).attempts)));
    // Priority by rank: table priority 3 (most urgent) → BullMQ 1 … 0 → 4.
    for (const s of seen.filter((x) => x.k.startsWith('a-') && !x.k.includes('stuck'))) {
      const i = Number(s.k.slice(2));
      expect(s.priority, s.k).toBe(4 - (i % 4));
      expect(s.queue).toBe(QUEUE_OF[WORKER_JOB_TYPES[i % 6]]);
    }
    // The dead row was not in --states: still in the table. The run's mark covers every delivery.
    expect((await sql(url, `SELECT id FROM "WorkerJob" WHERE status = 'DEAD_LETTER'`)).length).toBe(1);
    expect(Number(await redis.hget(tableMarkKey(prefix, 'run1'), 'hwm'))).toBeGreaterThan(0);
    // removeOnComplete: the uom queue keeps no completed jobs.
    const uom = new Queue('uom', { connection: bullConnection(), prefix });
    onTestFinished(() => uom.close());
    expect((await uom.getJobCounts('completed')).completed).toBe(0);
    expect(produced).toBe(300);
  }, 120_000);
});

describe('table move claim', () => {
  it("compares the family in the name column's own type (an enum takes only its labels), so the claim walks the claim index instead of sorting the table", async () => {
    const url = await freshDatabase();
    await createWorkerJobTable(url);
    const db = await pgHandle(url);
    onTestFinished(() => db.close());
    // The bench's shape: most rows due at one and the same instant.
    await db.query(`INSERT INTO "WorkerJob" (id, type, payload, priority, "availableAt", "idempotencyKey", "userId")
      SELECT 'c' || g, (enum_range(NULL::"JobType"))[1 + g % 6], '{}', g % 4, now() - interval '1 minute', 'k' || g, 'u1' FROM generate_series(1, 20000) g`);
    await db.query('ANALYZE "WorkerJob"');
    const filter = await nameFilter(workerJobSource(db), [...WORKER_JOB_TYPES, 'NOT_A_JOB_TYPE']);
    expect(filter.names).toEqual([...WORKER_JOB_TYPES]);
    const plan = await db.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT t.ctid FROM "WorkerJob" t WHERE t.status = 'PENDING' AND ${filter.sql.replaceAll('$2', '$1')} ORDER BY t."availableAt" LIMIT 2000 FOR UPDATE OF t SKIP LOCKED`, [filter.names]);
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toContain('WorkerJob_status_availableAt_priority_idx');
    expect(text).not.toContain('Seq Scan');
  });
});

describe('table move delivery', () => {
  it('a rerun replays the outbox oldest first across a digit boundary (9 before 10), so the destination mark never passes an entry not yet written', async () => {
    const url = await freshDatabase();
    await createWorkerJobTable(url);
    const db = await pgHandle(url);
    onTestFinished(() => db.close());
    await ensureTableJournal(db);
    const job = { queue: 'uom', jobId: 'u', rowId: 'r', name: 'SUGGEST_UOM_UPDATE', data: '{}', opts: '{}', priority: 0, attempts: 1, runAtMs: null, timestampMs: 1, lastError: null, kind: 'run' as const };
    // Twelve claimed batches of one row each: outbox numbers 1..12 in a fresh database.
    const entries = [];
    for (let i = 0; i < 12; i++) entries.push(...(await writeOutbox(db, 'r', [{ ...job, jobId: `u-${i}`, rowId: `r-${i}` }])));
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 12 }, (_, i) => (i + 1) * PER_BATCH + 1));
    expect((await pendingOutbox(db, 'r', 10)).map((e) => e.jobId)).toEqual(entries.slice(0, 10).map((e) => e.jobId));
    // A batch is replayed whole (it leaves the outbox whole), in its claim order.
    const batch = await writeOutbox(db, 'r', Array.from({ length: 3 }, (_, i) => ({ ...job, jobId: `v-${i}`, rowId: `s-${i}` })));
    expect(batch.map((e) => e.seq)).toEqual([1, 2, 3].map((i) => 13 * PER_BATCH + i));
    expect((await pendingOutbox(db, 'r', 13)).map((e) => e.jobId)).toEqual([...entries, ...batch].map((e) => e.jobId));
  });

  for (const backend of ['redis', 'postgres'] as const) {
    it(`${backend}: a job run and removed (removeOnComplete) before the outbox settled is not written again by the rerun`, async () => {
      const url = await freshDatabase();
      await createWorkerJobTable(url);
      const db = await pgHandle(url);
      onTestFinished(() => db.close());
      await ensureTableJournal(db);
      const prefix = uniqueName('tmd');
      const topo = await topology(prefix);
      const ranks = priorityRanks([], 'higher-first');
      await openTableRun(db, { id: 'r', intent: 'r', source: 'worker-jobs', table: 'WorkerJob', dest: backend, states: ['ready'], planned: 1, ranks });
      const job = { queue: 'uom', jobId: 'uom-1', rowId: 'row-1', name: 'SUGGEST_UOM_UPDATE', data: JSON.stringify({ k: 'uom-1' }), opts: JSON.stringify({ attempts: 1, removeOnComplete: true }), priority: 0, attempts: 1, runAtMs: null, timestampMs: Date.now(), lastError: null, kind: 'run' as const };
      const ran: string[] = [];
      let dest;
      if (backend === 'redis') {
        const redis = new Redis(bullConnection());
        onTestFinished(async () => void (await redis.quit()));
        dest = redisDestination(redis, prefix, 'redis');
        const w = new Worker('uom', async (j: Job) => void ran.push(j.id!), { connection: bullConnection(), prefix });
        onTestFinished(() => w.close());
      } else {
        await migrateBullmq(url);
        const bull = await pgHandle(url);
        onTestFinished(() => bull.close());
        dest = postgresDestination(bull, 'postgres', false);
        pgWorker(url, 'uom', async (j: Job) => void ran.push(j.id!));
      }
      onTestFinished(() => dest.close());
      // The claim committed (outbox entry written, row gone), the write to BullMQ happened, then the process died.
      const entries = await writeOutbox(db, 'r', [job]);
      await dest.deliver('r', entries);
      await until(() => ran.length === 1, 'the worker ran the job');
      if (backend === 'redis') {
        const probe = new Redis(bullConnection());
        onTestFinished(async () => void (await probe.quit()));
        await until(async () => (await probe.exists(`${prefix}:uom:uom-1`)) === 0, 'the job removed');
      }
      else await until(async () => (await sql(url, `SELECT count(*)::int AS n FROM bullmq.job WHERE id = 'uom-1'`))[0].n === 0, 'the job removed');
      // The rerun replays the outbox: the destination's mark says it was written; nothing is re-created.
      const result = await runTableMove({ source: workerJobSource(db), dest, topology: topo, routing: buildRouting(topo, { from: 'worker-jobs' }), ranks, runId: 'r', states: ['ready'], batch: 10, signal: new AbortController().signal });
      expect(result.delivered).toBe(1);
      expect(result.moved).toEqual({});
      expect((await sql(url, 'SELECT count(*)::int AS n FROM queuectl.table_outbox_batch'))[0].n).toBe(0);
      await new Promise((r) => setTimeout(r, 1000));
      expect(ran).toEqual(['uom-1']);
    });
  }
});

const clients: import('pg').Client[] = [];
async function pgClient(url: string) {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  clients.push(c);
  onTestFinished(() => c.end());
  return c;
}

describe('table move rows that must stay', () => {
  for (const backend of ['redis', 'postgres'] as const) {
    it(`${backend}: a row the jobId template cannot make an id for stays in the table, and every other row moves exactly once (the batch that met it is taken again row by row)`, async () => {
      const url = await freshDatabase();
      await createWorkerJobTable(url);
      const db = await pgHandle(url);
      onTestFinished(() => db.close());
      const seed = backlog(240, 's');
      await insertRows(await pgClient(url), seed);
      // interpret's jobId is {idempotencyKey}: these rows have none. Due among the others, so batches meet them mid-run.
      await db.query(`INSERT INTO "WorkerJob" (id, type, payload, priority, "availableAt", "idempotencyKey", "userId")
        SELECT 'stay-' || g, 'INTERPRET_EVENT', jsonb_build_object('k', 'stay-' || g), 1, now() - make_interval(secs => g), NULL, 'u1' FROM generate_series(1, 3) g`);
      const ready = (await sql<{ n: number }>(url, `SELECT count(*)::int AS n FROM "WorkerJob" WHERE status = 'PENDING'`))[0].n;
      const prefix = uniqueName('tms');
      const topo = await topology(prefix);
      const ranks = priorityRanks([0, 1, 2, 3], 'higher-first');
      await ensureTableJournal(db);
      await openTableRun(db, { id: 's', intent: 's', source: 'worker-jobs', table: 'WorkerJob', dest: backend, states: ['ready', 'scheduled'], planned: ready, ranks });
      let dest;
      if (backend === 'redis') {
        const redis = new Redis(bullConnection());
        onTestFinished(async () => void (await redis.quit()));
        dest = redisDestination(redis, prefix, 'redis');
      } else {
        await migrateBullmq(url);
        dest = postgresDestination(db, 'postgres', true);
      }
      const result = await runTableMove({ source: workerJobSource(db), dest, topology: topo, routing: buildRouting(topo, { from: 'worker-jobs' }), ranks, runId: 's', states: ['ready', 'scheduled'], batch: 40, signal: new AbortController().signal });
      expect(result.stayedCount).toBe(3);
      expect(result.stayed.map((s) => s.id).sort()).toEqual(['stay-1', 'stay-2', 'stay-3']);
      expect(result.claimed).toBe(ready - 3);
      expect(result.delivered).toBe(ready - 3);
      expect(await sql(url, `SELECT id, status::text FROM "WorkerJob" WHERE status = 'PENDING' ORDER BY id`)).toEqual([1, 2, 3].map((g) => ({ id: `stay-${g}`, status: 'PENDING' })));
      let jobs = 0;
      if (backend === 'redis') {
        for (const q of ['interpret', 'patterns', 'insights', 'planning', 'uom']) {
          const queue = new Queue(q, { connection: bullConnection(), prefix });
          onTestFinished(() => queue.close());
          const c = await queue.getJobCounts('wait', 'prioritized', 'delayed');
          jobs += c.wait + c.prioritized + c.delayed;
        }
      } else {
        jobs = (await sql<{ n: number }>(url, 'SELECT count(*)::int AS n FROM bullmq.job'))[0].n;
      }
      expect(jobs).toBe(ready - 3);
      expect(Object.values(result.moved).reduce((a, b) => a + b, 0)).toBe(ready - 3);
    }, 60_000);
  }
});
