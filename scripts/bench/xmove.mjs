#!/usr/bin/env node
// Benchmark: `queuectl migrate --to-url` of 200,000 jobs Redis → PostgreSQL and PostgreSQL → Redis,
// each compared in the same run with BullMQ's own addBulk of the same jobs into the same
// destination (goal ≥ 0.7×: exactness costs at most 30% over writing the jobs fresh) and with the
// hand-written getJobs → add → remove loop (goal ≥ 10×, timed on --loop-jobs and taken per job).
// Starts a throwaway redis-server and a throwaway PostgreSQL (initdb) on free ports; stops both.
// Peak RSS is sampled for half of the jobs and for all of them: flat memory means they match. Half,
// not a tenth: a 20,000-job move ends (in about a second) before Node's heap reaches its working
// size, so it measured start-up rather than steady state (125 MB at 20k, 185 MB at 150k and 200k,
// 175 MB at 400k); twice the jobs against a reference already in steady state is what grows if
// memory is not flat.
// Options: --jobs N (200000)  --loop-jobs N (3000)  --batch N (1000)  --direction r2p|p2r (both)  --json
// Exit: 0 measured (goals met or not), 2 the bench broke (jobs lost or doubled, a CLI error).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Queue, createPostgresBackend, runMigrations } from 'bullmq';
import { argv, cliError, int, isMain, requireBuild, root, runCli, standalone, startServer, stderrLog } from './lib.mjs';
import { row } from './summary.mjs';

export const GOALS = { vsAddBulk: 0.7, vsLoop: 10, rssGrowth: 1.25 };
const OPTS = { attempts: 3, backoff: { type: 'exponential', delay: 1000 } };
const nameOf = (i) => (i % 2 ? 'b.second' : 'a.process');
const dataOf = (i) => ({ n: i, orgId: `org-${i % 7}`, payload: 'x'.repeat(40) });

// Each move into destination queues of its own (`<legacy>-a`, `<legacy>-b`), empty as addBulk's: the full
// move does not meet the memory reference's jobs there (their automatic ids would be renamed).
const topology = (legacy) => `version: 1\nprefix: bull\nqueues:\n  ${legacy}-a: { jobs: [a.process], dedup: none }\n  ${legacy}-b: { jobs: [b.second], dedup: none }\nworkers:\n  w: { queues: [${legacy}-a, ${legacy}-b] }\nlegacy:\n  ${legacy}: { note: shared }\n`;

/** `jobs` BullMQ-shaped waiting jobs with automatic ids in a Redis legacy queue (pipelined writes). */
export async function seedRedis(redis, queue, jobs) {
  const p = `bull:${queue}:`;
  const now = Date.now();
  for (let from = 0; from < jobs; from += 5000) {
    const pipe = redis.pipeline();
    const ids = [];
    for (let i = from; i < Math.min(from + 5000, jobs); i++) {
      const id = String(i + 1);
      pipe.hset(p + id, 'name', nameOf(i), 'data', JSON.stringify(dataOf(i)), 'opts', JSON.stringify(OPTS), 'timestamp', now - jobs + i, 'delay', 0, 'priority', 0);
      ids.push(id);
    }
    pipe.lpush(`${p}wait`, ...ids);
    await pipe.exec();
  }
  await redis.set(`${p}id`, jobs);
  await redis.hset(`${p}meta`, 'opts.maxLenEvents', 10000, 'version', 'bullmq:6.7.0');
}

/** The same jobs as rows of a PostgreSQL legacy queue, as BullMQ's add_jobs_bulk writes them. */
export async function seedPostgres(url, queue, jobs) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(
      `INSERT INTO bullmq.job (queue, id, seq, name, state, data, opts, priority, delay_ms, max_attempts, added_at_ms)
       SELECT $1, i::text, nextval('bullmq.job_seq'), CASE WHEN (i - 1) % 2 = 1 THEN 'b.second' ELSE 'a.process' END, 'waiting',
              jsonb_build_object('n', i - 1, 'orgId', 'org-' || ((i - 1) % 7), 'payload', repeat('x', 40)), $2::jsonb, 0, 0, 3, $3::bigint - $4 + i
         FROM generate_series(1, $4::int) AS i`,
      [queue, JSON.stringify(OPTS), Date.now(), jobs],
    );
  } finally {
    await c.end();
  }
}

const pgQueue = (url, name) => new Queue(name, { connection: { connectionString: url, schema: 'bullmq' } }, createPostgresBackend);
const redisQueue = (url, name) => new Queue(name, { connection: { host: '127.0.0.1', port: Number(new URL(url).port), maxRetriesPerRequest: null } });

/** BullMQ's own addBulk of the same jobs into the destination, in chunks of `batch`; ms. */
async function addBulk(queue, jobs, batch) {
  const started = Date.now();
  for (let from = 0; from < jobs; from += batch) {
    const chunk = [];
    for (let i = from; i < Math.min(from + batch, jobs); i++) chunk.push({ name: nameOf(i), data: dataOf(i), opts: OPTS });
    await queue.addBulk(chunk);
  }
  return Date.now() - started;
}

/** The hand-written loop: page the source with getJobs, add each job to its owner, remove it; ms. */
async function handLoop(src, dests, jobs) {
  const started = Date.now();
  let moved = 0;
  while (moved < jobs) {
    const page = (await src.getJobs(['wait'], 0, 99, true)).filter(Boolean);
    if (page.length === 0) break;
    for (const job of page) {
      await dests[job.name].add(job.name, job.data, job.opts);
      await job.remove();
      moved++;
    }
  }
  if (moved !== jobs) throw new Error(`hand-written loop moved ${moved} of ${jobs}`);
  return Date.now() - started;
}

async function xmove(dir, legacy, from, to, batch, jobs, log) {
  const cfg = join(dir, `${legacy}.yaml`);
  writeFileSync(cfg, topology(legacy));
  const r = await runCli(['migrate', '--from', legacy, '--to-url', to, '--batch', String(batch), '--yes', '--json', '-c', cfg, '--url', from], { peakRss: true });
  if (r.code !== 0) throw new Error(`migrate --to-url exited ${r.code}: ${cliError(r)}`);
  const doc = JSON.parse(r.stdout);
  const moved = Object.values(doc.moved).reduce((a, n) => a + n, 0);
  if (moved !== jobs) throw new Error(`migrate --to-url moved ${moved} of ${jobs}`);
  const moveMs = doc.timings?.moveMs ?? r.ms;
  const t = doc.timings ?? {};
  log(`${legacy}: ${int(jobs)} jobs in ${int(r.ms)} ms (plan ${int(t.planMs ?? 0)} ms, move ${int(moveMs)} ms, verify ${int(t.verifyMs ?? 0)} ms), peak RSS ${r.peakRssMb?.toFixed(0)} MB`);
  return { ms: Math.round(r.ms), moveMs, jobsPerSec: Math.round(jobs / (r.ms / 1000)), peakRssMb: Math.round(r.peakRssMb ?? 0) };
}

/**
 * @param {{ jobs?: number, loopJobs?: number, batch?: number, directions?: ('redisToPostgres' | 'postgresToRedis')[], log?: (line: string) => void }} options
 */
export async function run(options = {}) {
  const jobs = options.jobs ?? 200_000;
  const loopJobs = options.loopJobs ?? 3000;
  const batch = options.batch ?? 1000;
  const log = options.log ?? stderrLog;
  requireBuild();
  const { findPostgresBinDir, startThrowawayPostgres } = await import(join(root, 'dist/demo/postgres-server.js'));
  const binDir = await findPostgresBinDir();
  if (!binDir) throw new Error('initdb/pg_ctl not found: install PostgreSQL to run this bench');
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-bench-xmove-'));
  const [server, postgres] = await Promise.all([startServer(), startThrowawayPostgres(binDir, { base: dir })]);
  const redis = new Redis({ port: server.port, host: '127.0.0.1' });
  const queues = [];
  const open = (q) => (queues.push(q), q);
  try {
    const c = new pg.Client({ connectionString: postgres.url });
    await c.connect();
    await runMigrations(c, 'bullmq');
    await c.end();
    const result = { bench: 'xmove', jobs, loopJobs, batch, goals: GOALS };
    for (const direction of options.directions ?? ['redisToPostgres', 'postgresToRedis']) {
      const [fromUrl, toUrl] = direction === 'redisToPostgres' ? [server.url, postgres.url] : [postgres.url, server.url];
      const seed = (queue, n) => (direction === 'redisToPostgres' ? seedRedis(redis, queue, n) : seedPostgres(postgres.url, queue, n));
      const destQueue = (name) => open(direction === 'redisToPostgres' ? pgQueue(postgres.url, name) : redisQueue(server.url, name));
      const srcQueue = (name) => open(direction === 'redisToPostgres' ? redisQueue(server.url, name) : pgQueue(postgres.url, name));
      const tag = direction === 'redisToPostgres' ? 'r2p' : 'p2r';
      // Half first (memory reference), then all of them.
      const half = Math.ceil(jobs / 2);
      await seed(`${tag}-small`, half);
      const small = await xmove(dir, `${tag}-small`, fromUrl, toUrl, batch, half, log);
      await seed(`${tag}-legacy`, jobs);
      const full = await xmove(dir, `${tag}-legacy`, fromUrl, toUrl, batch, jobs, log);
      const bulkMs = await addBulk(destQueue(`${tag}-bulk`), jobs, batch);
      log(`${tag}: BullMQ addBulk of ${int(jobs)} jobs into the destination in ${int(bulkMs)} ms`);
      await seed(`${tag}-loop`, loopJobs);
      const loopMs = await handLoop(srcQueue(`${tag}-loop`), { 'a.process': destQueue(`${tag}-loop-a`), 'b.second': destQueue(`${tag}-loop-b`) }, loopJobs);
      log(`${tag}: hand-written loop, ${int(loopJobs)} jobs in ${int(loopMs)} ms`);
      const bulkPerSec = Math.round(jobs / (bulkMs / 1000));
      const loopPerSec = Math.round(loopJobs / (loopMs / 1000));
      result[direction] = {
        queuectl: full,
        small: { jobs: half, ...small },
        addBulk: { ms: bulkMs, jobsPerSec: bulkPerSec },
        handWritten: { jobs: loopJobs, ms: loopMs, jobsPerSec: loopPerSec },
        vsAddBulk: Math.round((full.jobsPerSec / bulkPerSec) * 100) / 100,
        vsLoop: Math.round((full.jobsPerSec / loopPerSec) * 10) / 10,
      };
    }
        result.rows = xmoveRows(result);
    result.ok = result.rows.every((r) => r.met !== false);
    return result;
  } finally {
    await Promise.allSettled(queues.map((q) => q.close()));
    redis.disconnect();
    await Promise.allSettled([server.stop(), postgres.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Summary rows ({ bench, metric, value, unit, shown, goal, met }), as scripts/bench/summary.mjs renders them. */
export function xmoveRows(r) {
  const rows = [];
  for (const [key, label, id] of [['redisToPostgres', 'Redis → PostgreSQL', 'r2p'], ['postgresToRedis', 'PostgreSQL → Redis', 'p2r']]) {
    const d = r[key];
    if (!d) continue;
    const moved = { label: `migrate --to-url ${label}, ${int(r.jobs)} jobs`, value: d.queuectl.jobsPerSec, unit: 'jobs/s' };
    rows.push(
      row({ bench: 'xmove', id: `${id}-vs-addbulk`, ...moved, anchor: { label: 'BullMQ addBulk of the same jobs into the destination', value: d.addBulk.jobsPerSec, unit: 'jobs/s' }, goal: { on: 'ratio', min: GOALS.vsAddBulk } }),
      row({ bench: 'xmove', id: `${id}-vs-hand-written`, ...moved, anchor: { label: `hand-written getJobs → add → remove, ${int(d.handWritten.jobs)} jobs`, value: d.handWritten.jobsPerSec, unit: 'jobs/s' }, goal: { on: 'ratio', min: GOALS.vsLoop } }),
      row({ bench: 'xmove', id: `${id}-rss-growth`, label: `peak RSS of migrate --to-url ${label}, ${int(r.jobs)} jobs`, value: d.queuectl.peakRssMb, unit: 'MB', anchor: { label: `on ${int(d.small.jobs)} jobs`, value: d.small.peakRssMb, unit: 'MB' }, goal: { on: 'ratio', max: GOALS.rssGrowth } }),
    );
  }
  return rows;
}

if (isMain(import.meta.url)) {
  const a = argv();
  const direction = { r2p: ['redisToPostgres'], p2r: ['postgresToRedis'] }[a.str('direction') ?? ''];
  standalone('xmove', run, { jobs: a.num('jobs'), loopJobs: a.num('loop-jobs'), batch: a.num('batch'), directions: direction });
}
