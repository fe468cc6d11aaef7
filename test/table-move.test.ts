import { describe, expect, it, onTestFinished } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { bin, repoRoot, runCli } from './helpers/cli.js';
import { freshDatabase, migrateBullmq, pgQueue, pgWorker, sql } from './helpers/postgres.js';
import { bullConnection, freePort, redisUrl, startRedis, uniqueName } from './helpers/redis.js';
import { backlog, createWorkerJobTable, exactlyOnce, fixtureSql, insertRows, startWorkerJobApp, WORKER_JOB_QUEUES, type Run } from './helpers/table-app.js';
import { tempDir, tempFile } from './helpers/temp.js';
import { until } from './helpers/wait.js';

/**
 * `queuectl migrate --from <table source>` end to end: the CLI against the WorkerJob and JobQueue
 * fixture tables, with the application (producer, SKIP LOCKED workers, failure backoff, stuck
 * recovery) running, real BullMQ workers consuming the destination during the move, and kill -9,
 * lost connections and a Redis restart along the way. Every row runs exactly once, none early.
 */

const QUEUES = ['interpret', 'patterns', 'insights', 'planning', 'uom'];

function topologyFile(prefix: string, extra = ''): string {
  return tempFile('tmcli', 'queuectl.yaml', `version: 1
prefix: "${prefix}"
queues:${WORKER_JOB_QUEUES}
workers:
  w: { queues: [${QUEUES.join(', ')}] }
legacy:
  worker-jobs:
    table: { name: '"WorkerJob"', urlEnv: APP_DB }
${extra}`);
}

function bullmqWorkers(prefix: string, runs: Run[], early: string[], url = redisUrl()) {
  const { hostname, port } = new URL(url);
  const workers = QUEUES.map((q) => new Worker(q, async (job: Job) => {
    runs.push({ k: job.data.k, by: `bullmq:${q}`, at: Date.now(), ok: true });
    if (Date.now() < job.timestamp + (job.opts.delay ?? 0)) early.push(job.data.k);
  }, { connection: { host: hostname, port: Number(port), maxRetriesPerRequest: null }, prefix, concurrency: 10 }));
  onTestFinished(async () => void (await Promise.allSettled(workers.map((w) => w.close()))));
  return workers;
}

/** Runs the CLI until `when` (polled on the run's counters) says kill, then SIGKILLs it. */
function spawnMigrate(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }> } {
  const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1', QUEUECTL_URL: undefined, REDIS_URL: undefined, QUEUECTL_CONFIG: undefined, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr, stdout })));
  return { child, done };
}

async function counters(url: string | import('pg').Client): Promise<{ claimed: number; delivered: number; outbox: number }> {
  const query = (text: string) => (typeof url === 'string' ? sql(url, text) : url.query(text).then((r) => r.rows));
  const rows = await query(`SELECT coalesce(sum(claimed), 0)::int AS claimed, coalesce(sum(delivered), 0)::int AS delivered, (SELECT COALESCE(sum(n), 0)::int FROM queuectl.table_outbox_batch) AS outbox FROM queuectl.table_run`).catch(() => [{ claimed: 0, delivered: 0, outbox: 0 }]);
  return rows[0];
}

/** Where each missing row is, for the failure message: its table row, its BullMQ job (by payload k) and the runs that saw it. */
async function whereAre(url: string, redisUrlOf: string, prefix: string, ks: string[], runs: Run[]): Promise<string> {
  const rows = await sql<Record<string, unknown>>(url, `SELECT payload->>'k' AS k, status, attempts, "availableAt", "lastError" FROM "WorkerJob" WHERE payload->>'k' = ANY($1)`, [ks]).catch((e) => [{ error: String(e) }]);
  const { hostname, port } = new URL(redisUrlOf);
  const jobs: string[] = [];
  for (const q of QUEUES) {
    const queue = new Queue(q, { connection: { host: hostname, port: Number(port) }, prefix });
    try {
      for (const job of await queue.getJobs(['wait', 'delayed', 'prioritized', 'active', 'failed', 'completed', 'waiting-children'], 0, -1)) {
        if (job && ks.includes(job.data.k)) jobs.push(`${q}/${job.id} ${await job.getState()} ts=${job.timestamp} delay=${job.opts.delay ?? 0} made=${job.attemptsMade} reason=${job.failedReason ?? ''}`);
      }
    } finally {
      await queue.close();
    }
  }
  return JSON.stringify({ rows, jobs, runs: runs.filter((r) => ks.includes(r.k)) });
}

describe('migrate --from <table source>', () => {
  it('dry run names the table and the destination and changes nothing; the move empties the table into per-family queues; migrate status shows the run', async () => {
    const url = await freshDatabase();
    await createWorkerJobTable(url);
    const prefix = uniqueName('tmc');
    const file = topologyFile(prefix);
    await insertRows(await client(url), [...backlog(60, 'd'), { k: 'dead-1', type: 'GENERATE_REVIEW', status: 'DEAD_LETTER', attempts: 3, lastError: 'gave up' }]);
    const env = { APP_DB: url };
    const base = ['--url', redisUrl(), '-c', file];

    const dry = await runCli(['migrate', '--from', 'worker-jobs', '--dry-run', ...base], { env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('"WorkerJob"');
    expect(dry.stdout).toContain(`prefix ${prefix}`);
    expect(dry.stdout).toMatch(/INTERPRET_EVENT\s+interpret/);
    expect(dry.stdout).toContain('60 row(s) would move');
    expect((await sql(url, 'SELECT count(*)::int AS n FROM "WorkerJob"'))[0].n).toBe(64);

    const refused = await runCli(['migrate', '--from', 'worker-jobs', ...base], { env });
    expect(refused.code).toBe(2); // a destructive step off a terminal needs --yes
    const bad = await runCli(['migrate', '--from', 'worker-jobs', '--states', 'ready,active', '--yes', ...base], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('ready,scheduled,failed,dead');
    const badMark = await runCli(['migrate', '--from', 'worker-jobs', '--mark', 'PENDING', '--yes', ...base], { env });
    expect(badMark.code).toBe(2);

    const moved = await runCli(['migrate', '--from', 'worker-jobs', '--yes', '--json', ...base], { env });
    expect(moved.code, moved.stderr).toBe(0);
    const doc = JSON.parse(moved.stdout);
    expect(doc.delivered).toBe(60);
    expect(doc.verified).toBe(true);
    // Active (stuck, 3) and dead (1) rows stay.
    expect((await sql(url, `SELECT status::text, count(*)::int AS n FROM "WorkerJob" GROUP BY 1 ORDER BY 1`))).toEqual([{ status: 'DEAD_LETTER', n: 1 }, { status: 'PROCESSING', n: 3 }]);
    const counts: Record<string, number> = {};
    for (const q of QUEUES) {
      const queue = new Queue(q, { connection: bullConnection(), prefix });
      onTestFinished(() => queue.close());
      const c = await queue.getJobCounts('prioritized', 'delayed', 'waiting');
      counts[q] = c.prioritized + c.delayed + c.waiting;
    }
    expect(counts).toEqual({ interpret: 10, patterns: 10, insights: 10, planning: 20, uom: 10 });
    // The interpret queue's jobId template: {idempotencyKey} of the row.
    const interpret = new Queue('interpret', { connection: bullConnection(), prefix });
    onTestFinished(() => interpret.close());
    expect((await interpret.getJob('key:d-0:x'))?.data.k).toBe('d-0');

    const status = await runCli(['migrate', 'status', '--json', ...base], { env });
    expect(status.code, status.stderr).toBe(0);
    const st = JSON.parse(status.stdout);
    expect(st.tableRuns[0]).toMatchObject({ source: 'worker-jobs', state: 'done', claimed: 60, delivered: 60, finished: true });

    // Dead rows on request, with --mark: they stay in the table marked, and land in BullMQ's failed set.
    const dead = await runCli(['migrate', '--from', 'worker-jobs', '--states', 'dead', '--mark', 'COMPLETED', '--yes', ...base], { env });
    expect(dead.code, dead.stderr).toBe(0);
    expect((await sql(url, `SELECT status::text FROM "WorkerJob" WHERE payload->>'k' = 'dead-1'`))[0].status).toBe('COMPLETED');
    const planning = new Queue('planning', { connection: bullConnection(), prefix });
    onTestFinished(() => planning.close());
    const [failed] = await planning.getJobs(['failed']);
    expect(failed?.data.k).toBe('dead-1');
    expect(failed?.failedReason).toBe('gave up');
  });

  it('JobQueue (no columns declared) into BullMQ on PostgreSQL in the same database: one transaction per batch, real workers run every row once', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    await sql(url, fixtureSql('jobqueue'));
    await sql(url, `INSERT INTO "JobQueue" (id, type, payload, priority, "scheduledFor", "idempotencyKey")
      SELECT 'j' || g, (ARRAY['ai_generation','campaign_send','crm_sync','lead_import'])[1 + g % 4], jsonb_build_object('k', 'j' || g, 'companyId', 'c' || (g % 3)),
             g % 11, CASE WHEN g % 10 = 0 THEN now() + interval '2 seconds' ELSE now() - interval '1 minute' END, 'idem-' || g
        FROM generate_series(1, 400) g`);
    const file = tempFile('tmpg', 'queuectl.yaml', `version: 1
queues:
  ai: { jobs: [ai_generation], jobId: "ai-{idempotencyKey}" }
  campaigns: { jobs: [campaign_send], dedup: none }
  crm: { jobs: [crm_sync, lead_import], dedup: none }
workers:
  w: { queues: [ai, campaigns, crm] }
legacy:
  job-queue:
    table: { name: '"JobQueue"' }
`);
    const runs: Run[] = [];
    const early: string[] = [];
    for (const q of ['ai', 'campaigns', 'crm']) {
      pgWorker(url, q, async (job: Job) => {
        runs.push({ k: job.data.k, by: q, at: Date.now(), ok: true });
        if (Date.now() < job.timestamp + (job.opts.delay ?? 0)) early.push(job.data.k);
      }, 'bullmq', { concurrency: 10 });
    }
    const moved = await runCli(['migrate', '--from', 'job-queue', '--url', url, '-c', file, '--yes', '--json', '--batch', '50'], { env: { DATABASE_URL: url } });
    expect(moved.code, moved.stderr).toBe(0);
    expect(JSON.parse(moved.stdout)).toMatchObject({ delivered: 400, verified: true, moved: { ai: 100, campaigns: 100, crm: 200 } });
    // Same database: no outbox entries were ever needed, and the table is empty.
    expect((await sql(url, 'SELECT count(*)::int AS n FROM "JobQueue"'))[0].n).toBe(0);
    const keys = Array.from({ length: 400 }, (_, i) => `j${i + 1}`);
    await until(() => exactlyOnce(runs, keys).missing.length === 0, 'every JobQueue row ran', 30_000, 100);
    expect(exactlyOnce(runs, keys).twice).toEqual([]);
    expect(early).toEqual([]);
    // Priority 0..10 higher-first by rank: 10 → 1, 0 → 11.
    const prio = await sql(url, `SELECT id, priority FROM bullmq.job WHERE queue = 'ai' AND id IN ('ai-idem-32', 'ai-idem-44') ORDER BY id`);
    expect(prio).toEqual([{ id: 'ai-idem-32', priority: 1 }, { id: 'ai-idem-44', priority: 11 }]);
    const ai = pgQueue(url, 'ai');
    expect((await ai.getJob('ai-idem-4'))?.data.k).toBe('j4');
  });

  it('exactly once over 24 kill -9s at observed progress, a lost connection on each side and a Redis restart, with the application and removeOnComplete workers running', async () => {
    const url = await freshDatabase();
    await createWorkerJobTable(url);
    // A private, persistent Redis this test may restart.
    const redisArgs = ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', tempDir('tmredis')];
    const port = await freePort();
    let redis = await startRedis(redisArgs, { port });
    onTestFinished(() => redis.stop());
    const prefix = uniqueName('tmk');
    const file = topologyFile(prefix);
    const seed = backlog(1200, 'k');
    const t0 = Date.now();
    const mark = (what: string) => process.env.TM_DEBUG && console.log(`${Math.round((Date.now() - t0) / 1000)}s ${what}`);
    await insertRows(await client(url), seed);
    const keys = seed.map((s) => s.k);
    const runs: Run[] = [];
    const errors: string[] = [];
    const app = startWorkerJobApp(url, {
      workers: 2, runs, errors,
      produce: (n) => {
        if (n >= 40) return undefined;
        const rows = backlog(10, `pk${n}`).slice(0, 10);
        keys.push(...rows.map((r) => r.k));
        return rows;
      },
    });
    onTestFinished(() => app.stop());
    const early: string[] = [];
    let workers = bullmqWorkers(prefix, runs, early, redis.url);
    const env = { APP_DB: url };
    const args = ['migrate', '--from', 'worker-jobs', '--url', redis.url, '-c', file, '--yes', '--batch', '10'];
    const poll = await client(url);
    const kills: string[] = [];
    let more = 0;
    for (let attempt = 0; attempt < 80 && kills.length < 24; attempt++) {
      const before = await counters(poll);
      const { child, done } = spawnMigrate(args, env);
      const mode = kills.length % 3; // 0: random progress, 1: outbox non-empty (claimed, not yet written), 2: just after a write settled
      const threshold = before.claimed + 1 + Math.floor(Math.random() * 40);
      let killed = false;
      const watcher = (async () => {
        while (!killed && child.exitCode === null) {
          const c = await counters(poll);
          const hit = mode === 0 ? c.claimed >= threshold : mode === 1 ? c.outbox > 0 && c.claimed > before.claimed : c.delivered > before.delivered;
          if (hit) {
            killed = child.kill('SIGKILL');
            kills.push(`${attempt}:${mode}@${c.claimed}/${c.delivered}/${c.outbox}`);
          }
          await new Promise((r) => setTimeout(r, 1));
        }
      })();
      const result = await done;
      killed = true;
      await watcher;
      if (result.signal === 'SIGKILL') continue;
      expect([0, 1], result.stderr).toContain(result.code);
      if (result.code === 0) {
        // The table is empty before 24 kills: more rows (a new run), and on with the kills.
        const rows = backlog(800, `m${more++}`).slice(0, 800);
        await insertRows(poll, rows);
        keys.push(...rows.map((r) => r.k));
      }
    }
    expect(kills.length, kills.join(' ')).toBeGreaterThanOrEqual(24);
    if (process.env.TM_DEBUG) console.log(kills.join(' '));

    mark('kills done');
    // A lost source connection mid-move (the application's DBA kills the session): exit 3, the rerun finishes.
    await insertRows(poll, dueLater(300, 'c'));
    keys.push(...dueLater(300, 'c').map((r) => r.k));
    {
      const before = await counters(poll);
      const { done } = spawnMigrate(args, env);
      await underWay(poll, before.claimed + 20, done);
      await sql(url, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'queuectl' AND datname = current_database()`);
      const r = await done;
      expect([0, 1, 3], r.stderr).toContain(r.code);
    }
    mark('source connection lost and back');
    // A lost Redis connection mid-move: CLIENT KILL of the move's connections.
    await insertRows(poll, dueLater(300, 'r'));
    keys.push(...dueLater(300, 'r').map((r) => r.k));
    {
      const before = await counters(poll);
      const { done } = spawnMigrate(args, env);
      await underWay(poll, before.claimed + 20, done);
      const admin = new Redis(redis.url);
      const list = await admin.client('LIST') as string;
      // The move's own connection has no name (BullMQ's workers name theirs); this one is running CLIENT.
      for (const line of list.split('\n').filter((l) => / name= /.test(l) && !/ cmd=client/.test(l))) {
        const id = /id=(\d+)/.exec(line)?.[1];
        if (id) await admin.client('KILL', 'ID', id).catch(() => undefined);
      }
      await admin.quit().catch(() => undefined);
      const r = await done;
      expect([0, 1, 3], r.stderr).toContain(r.code);
    }
    mark('redis connection lost and back');
    // A Redis restart mid-move (its data kept: appendonly): the move fails with exit 3, the rerun finishes.
    await insertRows(poll, dueLater(300, 's'));
    keys.push(...dueLater(300, 's').map((r) => r.k));
    {
      const before = await counters(poll);
      const { done } = spawnMigrate(args, env);
      await underWay(poll, before.claimed + 20, done);
      await Promise.allSettled(workers.map((w) => w.close(true)));
      await redis.stop();
      redis = await startRedis(redisArgs, { port });
      workers = bullmqWorkers(prefix, runs, early, redis.url);
      const r = await done;
      expect([0, 1, 3], r.stderr).toContain(r.code);
    }
    mark('redis restarted');
    // Reruns until the run is done, then every row completes exactly once.
    for (let i = 0; i < 5; i++) {
      const r = await runCli(args, { env });
      if (r.code === 0) break;
      expect([1, 3], r.stderr).toContain(r.code);
    }
    await app.stop();
    const last = await runCli(args, { env });
    expect(last.code, last.stderr).toBe(0);
    expect((await counters(url)).outbox).toBe(0);
    await until(() => exactlyOnce(runs, keys).missing.length === 0, 'every row completed', 60_000, 100).catch(async (e) => {
      const missing = exactlyOnce(runs, keys).missing.slice(0, 10);
      throw new Error(`${e.message}: missing ${missing.join(',')}; kills ${kills.join(' ')}; where: ${await whereAre(url, redis.url, prefix, missing, runs)}`);
    });
    mark('all ran');
    await new Promise((r) => setTimeout(r, 500));
    expect(exactlyOnce(runs, keys).twice).toEqual([]);
    expect(errors).toEqual([]);
    expect(early).toEqual([]);
    const left = await sql<{ k: string; due_ms: string }>(url, 'SELECT k, due_ms::text FROM test_left');
    const ranAt = new Map(runs.filter((r) => r.by.startsWith('bullmq')).map((r) => [r.k, r.at]));
    for (const l of left) expect(ranAt.get(l.k)! + 5, l.k).toBeGreaterThanOrEqual(Number(l.due_ms));
  }, 600_000);
});

/** Rows not due for a few seconds: the application cannot claim them before the move starts. */
function dueLater(n: number, tag: string) {
  return backlog(n, tag).slice(0, n).map((r) => ({ ...r, dueIn: 8 + Math.abs(r.dueIn ?? 0) }));
}

/** Waits until the run has claimed `claimed` rows; a move that ended first fails with its output. */
async function underWay(poll: import('pg').Client, claimed: number, done: Promise<{ code: number | null; stderr: string; stdout: string }>): Promise<void> {
  let ended: { code: number | null; stderr: string; stdout: string } | undefined;
  void done.then((r) => (ended = r));
  await until(async () => {
    if (ended) throw new Error(`the move ended before the fault (exit ${ended.code}): ${ended.stderr}${ended.stdout}`);
    return (await counters(poll)).claimed > claimed;
  }, 'the move is under way', 30_000, 2);
}

async function client(url: string) {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  onTestFinished(() => c.end());
  return c;
}
