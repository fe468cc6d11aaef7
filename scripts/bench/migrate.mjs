#!/usr/bin/env node
// Benchmark: `queuectl migrate` against the hand-written BullMQ public-API script, on the same data.
// Starts a throwaway redis-server on a free port (never 6379), seeds a legacy queue
// `eccb-smart-upload` with a mix of waiting, prioritized and delayed jobs across the three
// smartupload.* names (numeric and custom ids, BullMQ 6.7.0-shaped keys written through
// `redis-cli --pipe`), times the whole CLI run (plan + move + verify) with its peak RSS; then, as
// anchors on the same server, BullMQ's addBulk of the same jobs (1,000 a call, 4 in flight) and the
// one-time script teams write (getJobs → add → remove), on a re-seeded sample; then a 1 M-job run
// whose peak RSS is compared with the 200k one (flat memory). Always stops its server. Build first.
// Options: --jobs N (200000)  --baseline-jobs N (20000: the same generator and mix; the public-API
//          way runs at a constant per-job rate, ~2k jobs/s, so 200k would take ~100 s; pass
//          --baseline-jobs 200000 for the full set)  --million / --no-million (env BENCH_MILLION=0|1;
//          on by default: ~30 s more)  --memory-jobs N (1000000)  --json (one-line JSON on stdout).
// Exit: 0 goals met, 1 a goal missed, 2 the bench broke (e.g. jobs lost). PostgreSQL: pg-migrate.mjs.
import { join } from 'node:path';
import { argv, cliError, int, isMain, pipeSeed, redisCli, requireBuild, resp, root, runCli, slowlog, standalone, startServer, stderrLog } from './lib.mjs';
import { row } from './summary.mjs';

export { startServer };

export const TOPOLOGY = join(root, 'examples/eccb-smart-upload.yaml');
export const LEGACY = 'eccb-smart-upload';
const PREFIX = 'bull';
const NAMES = ['smartupload.process', 'smartupload.secondPass', 'smartupload.autoCommit'];
export const OWNERS = { 'smartupload.process': 'eccb-smart-upload-process', 'smartupload.secondPass': 'eccb-smart-upload-secondpass', 'smartupload.autoCommit': 'eccb-smart-upload-autocommit' };
/**
 * Ratio goals (issue 19 item 1): the whole command ≥ 25× the hand-written way and ≥ 2× BullMQ's
 * addBulk of the same jobs; memory flat: peak RSS of the big run ≤ 1.25× that of the small one.
 */
export const GOALS = { vsHandWritten: 25, vsAddBulk: 2, rssGrowth: 1.25 };

/**
 * The legacy queue's jobs, the same for every backend and every way of creating them: 60% waiting,
 * 20% prioritized (priority 1-5), 20% delayed (due in an hour), over the three smartupload.* names;
 * every other job has a custom id (`jobId`), the rest get BullMQ's numeric ids (1, 2, 3, …).
 */
export function* legacyJobs(jobs) {
  for (let i = 1; i <= jobs; i++) {
    const name = NAMES[i % 3];
    const session = `s${i}`;
    const customId = i % 2 === 0 ? `${name.split('.')[1].toLowerCase()}-${session}` : undefined;
    const slot = i % 10;
    const priority = slot === 6 || slot === 7 ? 1 + (i % 5) : 0;
    const delay = slot >= 8 ? 3_600_000 : 0;
    const opts = { attempts: 3, backoff: { type: 'exponential', delay: 2000 }, ...(priority ? { priority } : {}), ...(delay ? { delay } : {}) };
    const data = { sessionId: session, fileId: `f${i}`, uploadedBy: `user${i % 50}`, pages: [1, 2, 3] };
    yield { i, customId, name, data, opts, priority, delay };
  }
}

/** `legacyJobs` as BullMQ addBulk entries (a custom id goes in opts.jobId, as producers pass it). */
export const bulkEntry = (j) => ({ name: j.name, data: j.data, opts: j.customId ? { ...j.opts, jobId: j.customId } : j.opts });

/**
 * The legacy queue as BullMQ 6.7.0 leaves it on Redis, as raw writes for `redis-cli --pipe`: per
 * job a hash (name, data, opts, timestamp, delay, priority); waiting jobs LPUSHed (oldest on the
 * right), prioritized ones scored priority·2^32 + pc, delayed ones due·4096 + n.
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
  for (const { i, customId, name, data, opts, priority, delay } of legacyJobs(jobs)) {
    const id = customId ?? String(++numeric);
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

/**
 * The one-time script teams write with BullMQ's public API: page, re-add under the same id,
 * remove. `open(name)` makes a BullMQ Queue on the bench's backend; resolves with the time spent
 * moving (opening and closing the queues excluded) and the number moved.
 */
export async function handWritten(open) {
  const source = open(LEGACY);
  const dests = Object.fromEntries(Object.entries(OWNERS).map(([name, q]) => [name, open(q)]));
  await Promise.all([source, ...Object.values(dests)].map((q) => q.waitUntilReady()));
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
    return { ms: Number(process.hrtime.bigint() - started) / 1e6, moved };
  } finally {
    await Promise.all([source, ...Object.values(dests)].map((q) => q.close()));
  }
}

/**
 * BullMQ's own addBulk of the same `jobs` jobs into their destination queues: 1,000 a call, 4
 * calls in flight (issue 19's anchor for "how fast can BullMQ create these jobs at all").
 * `open(name)` makes a Queue; resolves with the wall time in ms.
 */
export async function addBulkOfSameJobs(open, jobs, { perCall = 1000, inFlight = 4 } = {}) {
  const byQueue = new Map();
  for (const j of legacyJobs(jobs)) {
    const q = OWNERS[j.name];
    (byQueue.get(q) ?? byQueue.set(q, []).get(q)).push(bulkEntry(j));
  }
  const calls = [...byQueue].flatMap(([q, list]) => Array.from({ length: Math.ceil(list.length / perCall) }, (_, k) => ({ q, entries: list.slice(k * perCall, (k + 1) * perCall) })));
  const queues = Object.fromEntries([...byQueue.keys()].map((q) => [q, open(q)]));
  await Promise.all(Object.values(queues).map((q) => q.waitUntilReady()));
  try {
    let next = 0;
    const started = process.hrtime.bigint();
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (next < calls.length) {
        const call = calls[next++];
        await queues[call.q].addBulk(call.entries);
      }
    }));
    return Number(process.hrtime.bigint() - started) / 1e6;
  } finally {
    await Promise.all(Object.values(queues).map((q) => q.close()));
  }
}

const round = (n) => Math.round(n);
export const movedTotal = (doc) => Object.values(doc.moved).reduce((a, n) => a + n, 0);
export const perSec = (jobs, ms) => round((jobs / ms) * 1000);

/**
 * The summary rows every migrate bench reports (Redis here, PostgreSQL in pg-migrate.mjs): the
 * whole command against the hand-written way and against addBulk, the move phase alone against the
 * hand-written loop (like for like, information), and memory growth from the small run to the big one.
 */
export function migrateRows(bench, r) {
  const rows = [
    row({
      bench, id: 'vs-hand-written', label: `migrate --yes, ${int(r.queuectl.jobs)} mixed jobs`,
      value: r.queuectl.jobsPerSec, unit: 'jobs/s',
      anchor: { label: `hand-written getJobs → add → remove, ${int(r.handWritten.jobs)}-job sample`, value: r.handWritten.jobsPerSec, unit: 'jobs/s' },
      goal: r.goals.vsHandWritten ? { on: 'ratio', min: r.goals.vsHandWritten } : null,
    }),
    row({
      bench, id: 'vs-addbulk', label: `migrate --yes, ${int(r.queuectl.jobs)} mixed jobs`,
      value: r.queuectl.jobsPerSec, unit: 'jobs/s',
      anchor: { label: 'BullMQ addBulk of the same jobs, 1,000/call ×4', value: r.addBulk.jobsPerSec, unit: 'jobs/s' },
      goal: r.goals.vsAddBulk ? { on: 'ratio', min: r.goals.vsAddBulk } : null,
    }),
  ];
  if (r.queuectl.phases?.moveJobsPerSec) {
    const p = r.queuectl.phases;
    rows.push(row({
      bench, id: 'move-phase-vs-hand-written', label: `  the move phase alone (plan ${int(p.planMs)} ms, move ${int(p.moveMs)}, verify ${int(p.verifyMs)})`,
      value: p.moveJobsPerSec, unit: 'jobs/s', anchor: { label: 'the hand-written loop', value: r.handWritten.jobsPerSec, unit: 'jobs/s' },
    }));
  }
  if (r.memory) {
    rows.push(row({
      bench, id: 'rss-growth', label: `peak RSS of migrate, ${int(r.memory.big.jobs)} jobs`, value: r.memory.big.peakRssMb, unit: 'MB',
      anchor: { label: `on ${int(r.memory.small.jobs)} jobs`, value: r.memory.small.peakRssMb, unit: 'MB' },
      better: 'lower', goal: { on: 'ratio', max: r.goals.rssGrowth },
    }));
  }
  return rows;
}

/**
 * Runs the benchmark; returns one JSON-able result with its summary rows, throws when the bench
 * broke (jobs lost, unverified, a non-zero exit). `log` receives human lines (stderr by default).
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
  const { Queue } = await import('bullmq');
  const connection = { host: '127.0.0.1', port: server.port, maxRetriesPerRequest: null };
  const open = (name) => new Queue(name, { connection });
  try {
    let t = Date.now();
    await seed(server.port, jobs);
    log(`seeded ${int(jobs)} jobs into ${LEGACY} in ${((Date.now() - t) / 1000).toFixed(1)}s on ${server.url}`);
    redisCli(server.port, 'SLOWLOG', 'RESET');
    const q = await timeMigrate(server.url);
    if (movedTotal(q.doc) !== jobs || !q.doc.verified) throw new Error(`migrate moved ${movedTotal(q.doc)} of ${jobs} (verified: ${q.doc.verified})`);
    const slow = await slowlog(server.url);
    const timing = q.doc.timings ?? {};
    const phases = { planMs: timing.planMs, moveMs: timing.moveMs, verifyMs: timing.verifyMs, moveJobsPerSec: timing.moveMs ? perSec(jobs, timing.moveMs) : undefined };
    const queuectl = { jobs, ms: round(q.ms), jobsPerSec: perSec(jobs, q.ms), peakRssMb: round(q.rssMb), verified: q.doc.verified, slowlog: slow, phases };
    log(`queuectl migrate (plan + move + verify): ${int(jobs)} jobs in ${(q.ms / 1000).toFixed(2)}s = ${int(queuectl.jobsPerSec)} jobs/s, peak RSS ${queuectl.peakRssMb} MB; SLOWLOG > 10 ms: ${slow.length}`);
    log(`  phases: plan ${phases.planMs} ms, move ${phases.moveMs} ms (${int(phases.moveJobsPerSec ?? 0)} jobs/s), verify ${phases.verifyMs} ms; the rest is process start-up and connecting`);

    redisCli(server.port, 'FLUSHALL');
    const bulkMs = await addBulkOfSameJobs(open, jobs);
    const addBulk = { jobs, ms: round(bulkMs), jobsPerSec: perSec(jobs, bulkMs) };
    log(`BullMQ addBulk of the same ${int(jobs)} jobs (1,000 a call, 4 in flight): ${(bulkMs / 1000).toFixed(2)}s = ${int(addBulk.jobsPerSec)} jobs/s`);

    await seed(server.port, baselineJobs);
    const h = await handWritten(open);
    if (h.moved !== baselineJobs) throw new Error(`hand-written script moved ${h.moved} of ${baselineJobs}`);
    const baseline = { jobs: baselineJobs, ms: round(h.ms), jobsPerSec: perSec(baselineJobs, h.ms) };
    log(`hand-written getJobs → add → remove: ${int(baselineJobs)} jobs in ${(h.ms / 1000).toFixed(2)}s = ${int(baseline.jobsPerSec)} jobs/s`);

    let memory;
    if (million) {
      t = Date.now();
      await seed(server.port, memoryJobs);
      log(`seeded ${int(memoryJobs)} jobs in ${((Date.now() - t) / 1000).toFixed(1)}s`);
      const m = await timeMigrate(server.url);
      if (movedTotal(m.doc) !== memoryJobs || !m.doc.verified) throw new Error(`migrate moved ${movedTotal(m.doc)} of ${memoryJobs} (verified: ${m.doc.verified})`);
      const big = { jobs: memoryJobs, ms: round(m.ms), jobsPerSec: perSec(memoryJobs, m.ms), peakRssMb: round(m.rssMb), verified: m.doc.verified };
      memory = { small: { jobs, peakRssMb: queuectl.peakRssMb }, big };
      log(`${int(memoryJobs)}-job run: ${(m.ms / 1000).toFixed(1)}s = ${int(big.jobsPerSec)} jobs/s, peak RSS ${big.peakRssMb} MB (${int(jobs)} jobs: ${queuectl.peakRssMb} MB)`);
    }
    const result = { bench: 'migrate', queuectl, addBulk, handWritten: baseline, memory, goals: GOALS };
    const rows = [
      ...migrateRows('migrate', result),
      row({ bench: 'migrate', id: 'slowlog', label: `SLOWLOG entries > 10 ms during the migrate`, value: slow.length, unit: 'entries' }),
    ];
    return { ...result, rows, ok: rows.every((r) => r.met !== false) };
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
