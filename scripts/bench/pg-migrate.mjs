#!/usr/bin/env node
// Benchmark: `queuectl migrate --yes` on BullMQ's PostgreSQL backend (legacy shared queue →
// per-family queues within one schema; the whole command: plan + move + verify) against its anchors
// in the same run on the same database: BullMQ's addBulk of the same jobs (1,000 a call, 4 in
// flight: that is also how the legacy queue is seeded, so every job is a real BullMQ job) and the
// hand-written BullMQ-API way (getJobs → add → remove) on a sample of the same mix. Memory: peak RSS
// of a 1,000,000-job run against the 200k one (flat in job count), as the Redis bench compares them.
// Not against a small run: a move's RSS climbs until about 100k jobs (batch rows promoted to V8's old
// space while their batch waits on the server, collected later), then stays level (105 / 118 / 138 /
// 136 MB at 20k / 50k / 100k / 200k, live heap 16 MB after a full GC at both ends), so a 20k run
// measures the warm-up, not growth with job count. --no-million falls back to the sample-size run.
// Starts a throwaway PostgreSQL (scripts/bench/pg-lib.mjs) and always stops it and removes its
// folder. Same jobs, topology and goals as the Redis bench (migrate.mjs). Build first.
// Options: --jobs N (200000)  --baseline-jobs N (20000)  --memory-jobs N (1000000)  --no-million  --json.
// Exit: 0 measured (goals met or not), 2 the bench broke (jobs lost, unverified, a non-zero exit).
import { argv, cliError, int, isMain, requireBuild, runCli, standalone, stderrLog } from './lib.mjs';
import { LEGACY, OWNERS, TOPOLOGY, bulkEntry, handWritten, legacyJobs, migrateRows, movedTotal, perSec } from './migrate.mjs';
import { addBulkTimed, bullmqPool, pgQueue, sql, startPostgres } from './pg-lib.mjs';

/** Issue 14 item 7: ≥ 20× the hand-written way; flat memory. addBulk is reported, with no goal of its own here. */
export const GOALS = { vsHandWritten: 20, rssGrowth: 1.25 };

/** Empties BullMQ's job tables (this bench's own throwaway database) so each step starts from the same state. */
const empty = (url) => sql(url, 'TRUNCATE job, job_log, job_dependency, dedup, event');

/** The legacy queue, written by BullMQ's addBulk, 1,000 a call, 4 in flight; resolves with the time in ms. */
function seedLegacy(pool, jobs) {
  const entries = [...legacyJobs(jobs)].map(bulkEntry);
  const batches = Array.from({ length: Math.ceil(entries.length / 1000) }, (_, k) => ({ queue: LEGACY, jobs: entries.slice(k * 1000, (k + 1) * 1000) }));
  return addBulkTimed(pool, batches, 4);
}

/** The measured command with its peak RSS; the URL (it holds a password) goes through the environment. */
async function timeMigrate(url) {
  const r = await runCli(['migrate', '--from', LEGACY, '--yes', '--json', '-c', TOPOLOGY], { peakRss: true, env: { ...process.env, NO_COLOR: '1', QUEUECTL_URL: url } });
  if (r.code !== 0) throw new Error(`migrate exited ${r.code}: ${cliError(r)}`);
  return { ms: r.ms, rssMb: Math.round(r.peakRssMb), doc: JSON.parse(r.stdout) };
}

async function counted(url, queues) {
  const rows = await sql(url, 'SELECT queue, count(*)::int AS n FROM job WHERE queue = ANY($1) GROUP BY queue', [queues]);
  return Object.fromEntries(rows.map((r) => [r.queue, r.n]));
}

/** Migrates `jobs` seeded jobs and checks every one arrived; returns the figures. */
async function measuredMigrate(url, jobs) {
  const q = await timeMigrate(url);
  const where = await counted(url, [LEGACY, ...Object.values(OWNERS)]);
  const arrived = Object.values(OWNERS).reduce((a, d) => a + (where[d] ?? 0), 0);
  if (movedTotal(q.doc) !== jobs || !q.doc.verified || arrived !== jobs || where[LEGACY]) {
    throw new Error(`migrate moved ${movedTotal(q.doc)} of ${jobs} (verified: ${q.doc.verified}); destinations hold ${arrived}, the legacy queue ${where[LEGACY] ?? 0}`);
  }
  return q;
}

/** Memory past the warm-up: a `memoryJobs` run against the measured one (`q`, `jobs` jobs). */
async function millionRun(url, pool, memoryJobs, q, jobs) {
  await empty(url);
  await seedLegacy(pool, memoryJobs);
  await sql(url, 'VACUUM ANALYZE job');
  const big = await measuredMigrate(url, memoryJobs);
  return { small: { jobs, peakRssMb: q.rssMb }, big: { jobs: memoryJobs, ms: Math.round(big.ms), jobsPerSec: perSec(memoryJobs, big.ms), peakRssMb: big.rssMb } };
}

/** Memory with no million run (--no-million, quick sizes): the measured run against one of the sample size. */
async function sampleRun(url, pool, baselineJobs, q, jobs) {
  await empty(url);
  await seedLegacy(pool, baselineJobs);
  const small = await measuredMigrate(url, baselineJobs);
  return { small: { jobs: baselineJobs, peakRssMb: small.rssMb }, big: { jobs, peakRssMb: q.rssMb } };
}

/**
 * Runs the benchmark; returns one JSON-able result with its summary rows, throws when it broke.
 * @param {{ jobs?: number, baselineJobs?: number, million?: boolean, memoryJobs?: number, log?: (line: string) => void }} options
 */
export async function run(options = {}) {
  const jobs = options.jobs ?? 200_000;
  const baselineJobs = options.baselineJobs ?? Math.min(jobs, 20_000);
  const million = options.million ?? true;
  const memoryJobs = options.memoryJobs ?? 1_000_000;
  const log = options.log ?? stderrLog;
  requireBuild();
  const server = await startPostgres();
  const pool = bullmqPool(server.url);
  const open = (name) => pgQueue(pool, name);
  try {
    const bulkMs = await seedLegacy(pool, jobs);
    const addBulk = { jobs, ms: Math.round(bulkMs), jobsPerSec: perSec(jobs, bulkMs) };
    log(`BullMQ addBulk of ${int(jobs)} jobs into ${LEGACY} (1,000 a call, 4 in flight): ${(bulkMs / 1000).toFixed(2)} s = ${int(addBulk.jobsPerSec)} jobs/s, on PostgreSQL ${server.version} (${server.shownUrl})`);
    await sql(server.url, 'VACUUM ANALYZE job');

    const q = await measuredMigrate(server.url, jobs);
    const timing = q.doc.timings ?? {};
    const phases = { planMs: timing.planMs, moveMs: timing.moveMs, verifyMs: timing.verifyMs, moveJobsPerSec: timing.moveMs ? perSec(jobs, timing.moveMs) : undefined };
    const queuectl = { jobs, ms: Math.round(q.ms), jobsPerSec: perSec(jobs, q.ms), peakRssMb: q.rssMb, verified: q.doc.verified, phases };
    log(`queuectl migrate (plan + move + verify): ${int(jobs)} jobs in ${(q.ms / 1000).toFixed(2)} s = ${int(queuectl.jobsPerSec)} jobs/s, peak RSS ${q.rssMb} MB; phases: plan ${phases.planMs} ms, move ${phases.moveMs} ms, verify ${phases.verifyMs} ms`);

    await empty(server.url);
    await seedLegacy(pool, baselineJobs);
    const h = await handWritten(open);
    if (h.moved !== baselineJobs) throw new Error(`hand-written script moved ${h.moved} of ${baselineJobs}`);
    const baseline = { jobs: baselineJobs, ms: Math.round(h.ms), jobsPerSec: perSec(baselineJobs, h.ms) };
    log(`hand-written getJobs → add → remove: ${int(baselineJobs)} jobs in ${(h.ms / 1000).toFixed(2)} s = ${int(baseline.jobsPerSec)} jobs/s`);

    const memory = million ? await millionRun(server.url, pool, memoryJobs, q, jobs) : await sampleRun(server.url, pool, baselineJobs, q, jobs);
    log(`peak RSS: ${memory.big.peakRssMb} MB for ${int(memory.big.jobs)} jobs, ${memory.small.peakRssMb} MB for ${int(memory.small.jobs)}`);

    const result = { bench: 'pg-migrate', postgres: server.version, queuectl, addBulk, handWritten: baseline, memory, goals: GOALS };
    const rows = migrateRows('pg-migrate', result);
    return { ...result, rows, ok: rows.every((r) => r.met !== false) };
  } finally {
    await pool.end().catch(() => undefined);
    await server.stop();
  }
}

if (isMain(import.meta.url)) {
  const a = argv();
  standalone('pg-migrate', run, { jobs: a.num('jobs'), baselineJobs: a.num('baseline-jobs'), memoryJobs: a.num('memory-jobs'), million: !a.flag('no-million') });
}
