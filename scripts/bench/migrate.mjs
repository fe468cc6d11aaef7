#!/usr/bin/env node
// Benchmark: `queuectl migrate` against the hand-written BullMQ public-API script, on the same data.
// Starts a throwaway redis-server on a free port (never 6379), seeds a legacy queue
// `eccb-smart-upload` with a mix of waiting, prioritized and delayed jobs across the three
// smartupload.* names (numeric and custom ids, BullMQ 6.7.0-shaped keys written through
// `redis-cli --pipe`), times the whole CLI run (plan + move + verify) with its peak RSS, re-seeds and
// times the one-time script teams write (getJobs → add → remove), prints both and the ratio, then a
// 1 M-job memory run. Always stops its server. Build first (`npm run build`).
// Options: --jobs N (200000)  --baseline-jobs N (20000: the same generator and mix; the public-API
//          way runs at a constant per-job rate, ~2k jobs/s, so 200k would take ~100 s; pass
//          --baseline-jobs 200000 for the full set)  --million / --no-million (env BENCH_MILLION=0|1;
//          on by default: ~30 s more)  --memory-jobs N (1000000)  --json (one-line JSON on stdout).
// Exit: 0 goals met, 1 a goal missed, 2 the bench broke (e.g. jobs lost).
import { join } from 'node:path';
import { argv, cliError, int, isMain, pipeSeed, redisCli, requireBuild, resp, root, runCli, slowlog, standalone, startServer, stderrLog } from './lib.mjs';

export { startServer };

const TOPOLOGY = join(root, 'examples/eccb-smart-upload.yaml');
const LEGACY = 'eccb-smart-upload';
const PREFIX = 'bull';
const NAMES = ['smartupload.process', 'smartupload.secondPass', 'smartupload.autoCommit'];
const OWNERS = { 'smartupload.process': 'eccb-smart-upload-process', 'smartupload.secondPass': 'eccb-smart-upload-secondpass', 'smartupload.autoCommit': 'eccb-smart-upload-autocommit' };
export const GOALS = { jobsPerSec: 60_000, ratio: 20, rssMb: 150 };

/**
 * The legacy queue as BullMQ 6.7.0 leaves it: per job a hash (name, data, opts, timestamp, delay,
 * priority); 60% in `wait` (LPUSH: oldest on the right), 20% prioritized (priority·2^32 + pc),
 * 20% delayed (due·4096 + n, due in an hour); every other job has a custom id, the rest numeric.
 */
export function* legacyCommands(jobs, now) {
  const key = (s) => `${PREFIX}:${LEGACY}:${s}`;
  let wait = [];
  let prio = [];
  let delayed = [];
  const flush = function* (force) {
    if (wait.length >= 1000 || (force && wait.length)) { yield resp(['LPUSH', key('wait'), ...wait]); wait = []; }
    if (prio.length >= 2000 || (force && prio.length)) { yield resp(['ZADD', key('prioritized'), ...prio]); prio = []; }
    if (delayed.length >= 2000 || (force && delayed.length)) { yield resp(['ZADD', key('delayed'), ...delayed]); delayed = []; }
  };
  let numeric = 0;
  for (let i = 1; i <= jobs; i++) {
    const name = NAMES[i % 3];
    const session = `s${i}`;
    const id = i % 2 === 0 ? `${name.split('.')[1].toLowerCase()}-${session}` : String(++numeric);
    const slot = i % 10;
    const priority = slot === 6 || slot === 7 ? 1 + (i % 5) : 0;
    const delay = slot >= 8 ? 3_600_000 : 0;
    const opts = { attempts: 3, backoff: { type: 'exponential', delay: 2000 }, ...(priority ? { priority } : {}), ...(delay ? { delay } : {}) };
    const data = { sessionId: session, fileId: `f${i}`, uploadedBy: `user${i % 50}`, pages: [1, 2, 3] };
    yield resp(['HSET', key(id), 'name', name, 'data', JSON.stringify(data), 'opts', JSON.stringify(opts), 'timestamp', now - jobs + i, 'delay', delay, 'priority', priority]);
    if (priority) prio.push(priority * 2 ** 32 + i, id);
    else if (delay) delayed.push((now + delay + (i % 1000)) * 4096 + (i % 4096), id);
    else wait.push(id);
    yield* flush(false);
  }
  yield* flush(true);
  yield resp(['HSET', key('meta'), 'opts.maxLenEvents', 10000, 'version', 'bullmq:6.7.0']);
  yield resp(['SET', key('id'), numeric]);
  yield resp(['SET', key('pc'), jobs]);
}

/** Empties the server (one this bench started) and writes a fresh legacy queue of `jobs` jobs. */
export function seed(port, jobs) {
  redisCli(port, 'FLUSHALL');
  return pipeSeed(port, legacyCommands(jobs, Date.now()));
}

/** The measured command: the whole CLI run (plan + move + verify), under /usr/bin/time for peak RSS. */
async function timeMigrate(url) {
  const r = await runCli(['migrate', '--from', LEGACY, '--yes', '--json', '-c', TOPOLOGY, '--redis', url], { peakRss: true });
  if (r.code !== 0) throw new Error(`migrate exited ${r.code}: ${cliError(r)}`);
  return { ms: r.ms, rssMb: r.peakRssMb, doc: JSON.parse(r.stdout) };
}

/** The one-time script teams write with BullMQ's public API: page, re-add under the same id, remove. */
async function handWritten(url) {
  const { Queue } = await import('bullmq');
  const { hostname, port } = new URL(url);
  const connection = { host: hostname, port: Number(port), maxRetriesPerRequest: null };
  const source = new Queue(LEGACY, { connection });
  const dests = Object.fromEntries(Object.entries(OWNERS).map(([name, q]) => [name, new Queue(q, { connection })]));
  const started = process.hrtime.bigint();
  let moved = 0;
  try {
    for (;;) {
      const jobs = await source.getJobs(['wait', 'prioritized', 'delayed'], 0, 999, true);
      if (jobs.length === 0) break;
      for (const job of jobs) {
        // BullMQ refuses integer custom ids, so numeric jobs get a fresh id from the destination.
        const keepId = `${Number.parseInt(job.id, 10)}` !== job.id;
        await dests[job.name].add(job.name, job.data, { ...job.opts, ...(keepId ? { jobId: job.id } : {}) });
        await job.remove();
        moved++;
      }
    }
  } finally {
    await Promise.all([source, ...Object.values(dests)].map((q) => q.close()));
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  return { ms, moved };
}

const round = (n) => Math.round(n);
const movedTotal = (doc) => Object.values(doc.moved).reduce((a, n) => a + n, 0);

/**
 * Runs the benchmark; returns one JSON-able result, throws when the bench broke (jobs lost,
 * unverified, a non-zero exit). `log` receives human lines (stderr by default).
 * @param {{ jobs?: number, baselineJobs?: number, million?: boolean, memoryJobs?: number, log?: (line: string) => void }} options
 */
export async function run(options = {}) {
  const jobs = options.jobs ?? 200_000;
  const baselineJobs = options.baselineJobs ?? Math.min(jobs, 20_000);
  const million = options.million ?? true;
  const memoryJobs = options.memoryJobs ?? 1_000_000;
  const log = options.log ?? stderrLog;
  requireBuild();
  const server = await startServer();
  try {
    let t = Date.now();
    await seed(server.port, jobs);
    log(`seeded ${int(jobs)} jobs into ${LEGACY} in ${((Date.now() - t) / 1000).toFixed(1)}s on ${server.url}`);
    redisCli(server.port, 'SLOWLOG', 'RESET');
    const q = await timeMigrate(server.url);
    if (movedTotal(q.doc) !== jobs || !q.doc.verified) throw new Error(`migrate moved ${movedTotal(q.doc)} of ${jobs} (verified: ${q.doc.verified})`);
    const slow = await slowlog(server.url);
    const timing = q.doc.timings ?? {};
    const phases = { planMs: timing.planMs, moveMs: timing.moveMs, verifyMs: timing.verifyMs, moveJobsPerSec: timing.moveMs ? round((jobs / timing.moveMs) * 1000) : undefined };
    const queuectl = { jobs, ms: round(q.ms), jobsPerSec: round((jobs / q.ms) * 1000), peakRssMb: round(q.rssMb), verified: q.doc.verified, slowlog: slow, phases };
    log(`queuectl migrate (plan + move + verify): ${int(jobs)} jobs in ${(q.ms / 1000).toFixed(2)}s = ${int(queuectl.jobsPerSec)} jobs/s, peak RSS ${queuectl.peakRssMb} MB; SLOWLOG > 10 ms: ${slow.length}`);
    log(`  phases: plan ${phases.planMs} ms, move ${phases.moveMs} ms (${int(phases.moveJobsPerSec ?? 0)} jobs/s), verify ${phases.verifyMs} ms; the rest is process start-up and connecting`);

    await seed(server.port, baselineJobs);
    const h = await handWritten(server.url);
    if (h.moved !== baselineJobs) throw new Error(`hand-written script moved ${h.moved} of ${baselineJobs}`);
    const baseline = { jobs: baselineJobs, ms: round(h.ms), jobsPerSec: round((baselineJobs / h.ms) * 1000) };
    const ratio = Math.round((queuectl.jobsPerSec / baseline.jobsPerSec) * 10) / 10;
    log(`hand-written getJobs → add → remove: ${int(baselineJobs)} jobs in ${(h.ms / 1000).toFixed(2)}s = ${int(baseline.jobsPerSec)} jobs/s`);
    log(`ratio: ${ratio}× (goal ≥ ${GOALS.ratio}×; speed goal ≥ ${int(GOALS.jobsPerSec)} jobs/s)`);

    let memory;
    if (million) {
      t = Date.now();
      await seed(server.port, memoryJobs);
      log(`seeded ${int(memoryJobs)} jobs in ${((Date.now() - t) / 1000).toFixed(1)}s`);
      const m = await timeMigrate(server.url);
      if (movedTotal(m.doc) !== memoryJobs || !m.doc.verified) throw new Error(`migrate moved ${movedTotal(m.doc)} of ${memoryJobs} (verified: ${m.doc.verified})`);
      memory = { jobs: memoryJobs, ms: round(m.ms), jobsPerSec: round((memoryJobs / m.ms) * 1000), peakRssMb: round(m.rssMb), verified: m.doc.verified };
      log(`${int(memoryJobs)}-job run: ${(m.ms / 1000).toFixed(1)}s = ${int(memory.jobsPerSec)} jobs/s, peak RSS ${memory.peakRssMb} MB (goal < ${GOALS.rssMb} MB)`);
    }
    const ok = queuectl.jobsPerSec >= GOALS.jobsPerSec && ratio >= GOALS.ratio && queuectl.peakRssMb < GOALS.rssMb && (!memory || (memory.peakRssMb < GOALS.rssMb && memory.verified));
    return { bench: 'migrate', queuectl, handWritten: baseline, ratio, memory, goals: GOALS, ok };
  } finally {
    await server.stop();
  }
}

/** The name this bench was first exported under (scripts/bench-migrate.mjs). */
export const benchMigrate = run;

if (isMain(import.meta.url)) {
  const a = argv();
  const envMillion = process.env.BENCH_MILLION;
  const million = a.flag('no-million') ? false : a.flag('million') ? true : envMillion === undefined ? true : envMillion !== '0';
  standalone('migrate', run, { jobs: a.num('jobs'), baselineJobs: a.num('baseline-jobs'), memoryJobs: a.num('memory-jobs'), million }, { missedExit: 1 });
}
