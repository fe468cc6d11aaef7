#!/usr/bin/env node
// Benchmark: `queuectl migrate --from <table source>` (a WorkerJob job table, six families, into
// per-family BullMQ queues) against the hand-written way teams write it (a batch SELECT … FOR UPDATE
// SKIP LOCKED → queue.add per row → DELETE, one transaction per batch), in the same run, into BullMQ
// on Redis and into BullMQ on PostgreSQL (the same database as the table). Starts a throwaway
// redis-server and a throwaway PostgreSQL (initdb + pg_ctl); always stops both. Build first.
// Options: --rows N (200000)  --baseline-rows N (20000: the hand-written way runs at a constant
//          per-row rate; pass --baseline-rows 200000 for the full set; half runs just before queuectl,
//          half just after)  --million (also a 1 M-row run
//          into Redis for peak RSS)  --json (one line on stdout).
// Exit: 0 goals met, 1 a goal missed, 2 the bench broke (e.g. rows lost).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Queue, createPostgresBackend, runMigrations } from 'bullmq';
import { argv, cliError, int, isMain, requireBuild, root, runCli, standalone, startServer, stderrLog } from './lib.mjs';
import { row } from './summary.mjs';

export const GOALS = { ratio: 20, rssGrowth: 1.25 };
const FAMILIES = { INTERPRET_EVENT: 'interpret', DETECT_PATTERNS: 'patterns', GENERATE_INSIGHTS: 'insights', GENERATE_REVIEW: 'planning', GENERATE_TOMORROW_PLAN: 'planning', SUGGEST_UOM_UPDATE: 'uom' };
const QUEUES = [...new Set(Object.values(FAMILIES))];
const round = (n) => Math.round(n);

async function query(url, text, params) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, params)).rows;
  } finally {
    await c.end();
  }
}

/** `rows` WorkerJob rows: every family, priorities 0..3, a tenth due in an hour, ids as the app's cuids. */
async function seed(url, rows) {
  await query(url, 'TRUNCATE "WorkerJob"');
  await query(url, `INSERT INTO "WorkerJob" (id, type, payload, priority, "availableAt", "idempotencyKey", "userId")
    SELECT 'c' || md5(g::text), (enum_range(NULL::"JobType"))[1 + g % 6], jsonb_build_object('eventId', 'evt-' || g, 'userId', 'u1', 'text', repeat('x', 64)),
           g % 4, now() + CASE WHEN g % 10 = 0 THEN interval '1 hour' ELSE - interval '1 minute' END, 'evt-' || g || '-v1', 'u1'
      FROM generate_series(1, $1::int) g`, [rows]);
  await query(url, 'VACUUM ANALYZE "WorkerJob"');
}

function topology(dir) {
  const file = join(dir, 'queuectl.yaml');
  const queues = QUEUES.map((q) => `  ${q}: { jobs: [${Object.entries(FAMILIES).filter(([, to]) => to === q).map(([f]) => f).join(', ')}], dedup: none }`);
  writeFileSync(file, `version: 1\nqueues:\n${queues.join('\n')}\nworkers:\n  w: { queues: [${QUEUES.join(', ')}] }\nlegacy:\n  worker-jobs:\n    table: { name: '"WorkerJob"' }\n`);
  return file;
}

async function timeQueuectl(url, pgUrl, config, peakRss = true) {
  const run = await runCli(['migrate', '--from', 'worker-jobs', '--url', url, '-c', config, '--yes', '--json', '--batch', '2000'], { env: { ...process.env, DATABASE_URL: pgUrl, NO_COLOR: '1' }, peakRss });
  if (run.code !== 0) throw new Error(`queuectl migrate failed (exit ${run.code}): ${cliError(run)}`);
  return { ms: run.ms, rssMb: run.peakRssMb, doc: JSON.parse(run.stdout) };
}

/** The hand-written way: one transaction per batch of 100 rows, queue.add per row, then DELETE. */
async function handWritten(pgUrl, queueFor) {
  const c = new pg.Client({ connectionString: pgUrl });
  await c.connect();
  const queues = new Map(QUEUES.map((q) => [q, queueFor(q)]));
  let moved = 0;
  const started = Date.now();
  try {
    for (;;) {
      await c.query('BEGIN');
      const { rows } = await c.query(`SELECT id, type::text AS type, payload, priority, (extract(epoch FROM "availableAt"::timestamptz) * 1000)::bigint AS at
                                        FROM "WorkerJob" WHERE status = 'PENDING' ORDER BY "availableAt" LIMIT 100 FOR UPDATE SKIP LOCKED`);
      if (rows.length === 0) {
        await c.query('COMMIT');
        break;
      }
      for (const r of rows) {
        const delay = Math.max(0, Number(r.at) - Date.now());
        await queues.get(FAMILIES[r.type]).add(r.type, r.payload, { jobId: r.id, priority: 4 - r.priority, delay, attempts: 3 });
      }
      await c.query('DELETE FROM "WorkerJob" WHERE id = ANY($1::text[])', [rows.map((r) => r.id)]);
      await c.query('COMMIT');
      moved += rows.length;
    }
  } finally {
    await c.end();
    await Promise.allSettled([...queues.values()].map((q) => q.close()));
  }
  return { moved, ms: Date.now() - started };
}

async function startPostgres(log) {
  const { findPostgresBinDir, startThrowawayPostgres } = await import(join(root, 'dist/demo/postgres-server.js'));
  const binDir = await findPostgresBinDir();
  if (!binDir) throw new Error('no PostgreSQL (initdb, pg_ctl) on the PATH');
  const server = await startThrowawayPostgres(binDir, { prefix: 'queuectl-bench-pg-' });
  log(`throwaway PostgreSQL on ${server.shownUrl}`);
  return server;
}

export async function run(options = {}) {
  const rows = options.rows ?? 200_000;
  const baselineRows = options.baselineRows ?? Math.min(rows, 20_000);
  const log = options.log ?? stderrLog;
  requireBuild();
  const redis = await startServer();
  const server = await startPostgres(log).catch(async (error) => {
    await redis.stop();
    throw error;
  });
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-bench-table-'));
  try {
    const pgUrl = server.url;
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    await runMigrations(c, 'bullmq');
    await c.query(readFileSync(join(root, 'test/fixtures/table-queues/workerjob.sql'), 'utf8'));
    await c.query(`INSERT INTO "User" (id) VALUES ('u1')`);
    await c.end();
    const config = topology(dir);
    const result = { bench: 'table-move', rowCount: rows, goals: GOALS };
    const { hostname, port } = new URL(redis.url);
    // Each half of the hand-written sample writes its own queues (the same row ids again would be duplicates, a cheaper add).
    const backends = {
      redis: { url: redis.url, queueFor: (half) => (q) => new Queue(q, { connection: { host: hostname, port: Number(port) }, prefix: `hand${half}` }) },
      postgres: { url: pgUrl, queueFor: (half) => (q) => new Queue(`hand${half}-${q}`, { connection: { connectionString: pgUrl, schema: 'bullmq' } }, createPostgresBackend) },
    };
    for (const [name, b] of Object.entries(backends)) {
      // The hand-written loop is bound by one round trip per row, so its rate follows the machine's
      // load from second to second: half of its sample runs just before queuectl and half just
      // after, so both sides of the ratio see the same stretch of time.
      const halves = [Math.ceil(baselineRows / 2), Math.floor(baselineRows / 2)];
      const h = { moved: 0, ms: 0 };
      const handHalf = async (half) => {
        if (halves[half] === 0) return;
        await seed(pgUrl, halves[half]);
        const part = await handWritten(pgUrl, b.queueFor(half + 1));
        h.moved += part.moved;
        h.ms += part.ms;
      };
      await handHalf(0);
      await seed(pgUrl, rows);
      const q = await timeQueuectl(b.url, pgUrl, config);
      if (q.doc.delivered !== rows || !q.doc.verified) throw new Error(`${name}: queuectl moved ${q.doc.delivered} of ${rows} (verified: ${q.doc.verified})`);
      const queuectl = { rows, ms: round(q.ms), rowsPerSec: round((rows / q.ms) * 1000), peakRssMb: round(q.rssMb ?? 0) };
      log(`${name}: queuectl migrate --from worker-jobs: ${int(rows)} rows in ${(q.ms / 1000).toFixed(2)}s = ${int(queuectl.rowsPerSec)} rows/s, peak RSS ${queuectl.peakRssMb} MB`);
      await handHalf(1);
      if (h.moved !== baselineRows) throw new Error(`${name}: the hand-written way moved ${h.moved} of ${baselineRows}`);
      const hand = { rows: baselineRows, ms: h.ms, rowsPerSec: round((baselineRows / h.ms) * 1000) };
      const ratio = Math.round((queuectl.rowsPerSec / hand.rowsPerSec) * 10) / 10;
      log(`${name}: hand-written SKIP LOCKED → queue.add → DELETE: ${int(baselineRows)} rows in ${(h.ms / 1000).toFixed(2)}s = ${int(hand.rowsPerSec)} rows/s; ratio ${ratio}× (goal ≥ ${GOALS.ratio}×)`);
      result[name] = { queuectl, handWritten: hand, ratio };
    }
    if (options.million) {
      await seed(pgUrl, 1_000_000);
      const m = await timeQueuectl(redis.url, pgUrl, config);
      result.memory = { rows: 1_000_000, ms: round(m.ms), peakRssMb: round(m.rssMb ?? 0), verified: m.doc.verified && m.doc.delivered === 1_000_000 };
      log(`1,000,000-row run into Redis: ${(m.ms / 1000).toFixed(1)}s, peak RSS ${result.memory.peakRssMb} MB `);
    }
    if (result.memory && !result.memory.verified) throw new Error('the 1,000,000-row run did not move and verify every row');
    result.rows = tableMoveRows(result);
    result.ok = result.rows.every((r) => r.met !== false);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
    await redis.stop();
  }
}

if (isMain(import.meta.url)) {
  const a = argv();
  standalone('table-move', run, { rows: a.num('rows'), baselineRows: a.num('baseline-rows'), million: a.flag('million') }, { missedExit: 1 });
}

/**
 * Rows as ratios (scripts/bench/summary.mjs `row()`): per backend, queuectl's rows/s against the
 * hand-written way in the same run (goal ≥ 20×), and memory growth from 200k to 1M rows.
 */
export function tableMoveRows(r) {
  const rows = ['redis', 'postgres'].map((b) => row({
    bench: 'table-move', id: `vs-hand-written-${b}`,
    label: `table → BullMQ on ${b}, ${int(r[b].queuectl.rows)} WorkerJob rows (migrate --from, peak RSS ${r[b].queuectl.peakRssMb} MB)`,
    value: r[b].queuectl.rowsPerSec, unit: 'rows/s',
    anchor: { label: `hand-written SKIP LOCKED → queue.add → DELETE, ${int(r[b].handWritten.rows)} rows`, value: r[b].handWritten.rowsPerSec, unit: 'rows/s' },
    goal: { on: 'ratio', min: GOALS.ratio },
  }));
  if (r.memory) {
    rows.push(row({
      bench: 'table-move', id: 'rss-growth', label: 'peak RSS of migrate --from into Redis, 1,000,000 rows',
      value: r.memory.peakRssMb, unit: 'MB', anchor: { label: `on ${int(r.redis.queuectl.rows)} rows`, value: r.redis.queuectl.peakRssMb, unit: 'MB' },
      goal: { on: 'ratio', max: GOALS.rssGrowth },
    }));
  }
  return rows;
}
