#!/usr/bin/env node
// Benchmark (issue 20 item 4): `queuectl migrate --from <Bull queue>` against the hand-written way
// (Bull getJobs → BullMQ add → Bull remove), in the same run on the same server. Starts a throwaway
// redis-server on a free port (never 6379), seeds the legacy queue `eccb-smart-upload` in Bull
// 4.16.5's layout through `redis-cli --pipe` (job hashes as Bull's addJob writes them; 60% waiting,
// 20% prioritized, 20% delayed by an hour, over the three smartupload.* names; prioritized jobs at
// their place in the wait list and in the `priority` zset, delayed scored due·4096 + id bits), times
// the whole CLI run (plan + move + verify; the legacy entry has no `kind`, so migrate detects Bull
// from the `priority` zset), then re-seeds a sample and times the hand-written loop on it.
// Options: --jobs N (200000)  --baseline-jobs N (20000; the loop runs at a constant per-job rate)
//          --json. Exit: 0 goal met, 1 missed, 2 the bench broke. Build first.
import { argv, cliError, int, isMain, pipeSeed, redisCli, requireBuild, resp, runCli, standalone, startServer, stderrLog } from './lib.mjs';
import { LEGACY, OWNERS, TOPOLOGY } from './migrate.mjs';
import { row } from './summary.mjs';

const PREFIX = 'bull';
const NAMES = ['smartupload.process', 'smartupload.secondPass', 'smartupload.autoCommit'];
/** Issue 20: the whole command ≥ 20× the hand-written way. */
export const GOALS = { vsHandWritten: 20 };

/** The Bull queue's jobs: id i (Bull's counter), name, data, Bull opts, priority, delay. */
function* bullJobs(jobs) {
  for (let i = 1; i <= jobs; i++) {
    const slot = i % 10;
    const priority = slot === 6 || slot === 7 ? 1 + (i % 5) : 0;
    const delay = slot >= 8 ? 3_600_000 : 0;
    const opts = { attempts: 3, backoff: { type: 'exponential', delay: 2000 }, delay, timestamp: 0, ...(priority ? { priority } : {}) };
    yield { i, name: NAMES[i % 3], data: { sessionId: `s${i}`, fileId: `f${i}`, uploadedBy: `user${i % 50}`, pages: [1, 2, 3] }, opts, priority, delay };
  }
}

/**
 * The queue as Bull 4.16.5 leaves it: per job HMSET name, data, opts, timestamp, delay, priority
 * (addJob-6.lua); the wait list holds plain jobs LPUSHed (oldest on the right) with the
 * prioritized ones to their right, lowest priority number rightmost and oldest first within one
 * (what addJobWithPriority's LINSERTs build); `priority` zset; `delayed` due·4096 + (id & 0xfff).
 */
function* bullCommands(jobs, now) {
  const key = (s) => `${PREFIX}:${LEGACY}:${s}`;
  const plain = [];
  const prio = [];
  let delayed = [];
  for (const { i, name, data, opts, priority, delay } of bullJobs(jobs)) {
    opts.timestamp = now - jobs + i;
    yield resp(['HMSET', key(i), 'name', name, 'data', JSON.stringify(data), 'opts', JSON.stringify(opts), 'timestamp', opts.timestamp, 'delay', delay, 'priority', priority]);
    if (delay) delayed.push((now + delay) * 4096 + (i & 0xfff), i);
    else if (priority) prio.push([priority, i]);
    else plain.push(i);
    if (delayed.length >= 2000) { yield resp(['ZADD', key('delayed'), ...delayed]); delayed = []; }
  }
  if (delayed.length) yield resp(['ZADD', key('delayed'), ...delayed]);
  // Left to right: newest plain job … oldest plain job, then prioritized from the last to run to the first.
  const list = [...plain.reverse(), ...prio.sort((a, b) => b[0] - a[0] || b[1] - a[1]).map(([, i]) => i)];
  for (let k = 0; k < list.length; k += 1000) yield resp(['RPUSH', key('wait'), ...list.slice(k, k + 1000)]);
  for (let k = 0; k < prio.length; k += 1000) yield resp(['ZADD', key('priority'), ...prio.slice(k, k + 1000).flatMap(([p, i]) => [p, i])]);
  yield resp(['SET', key('id'), jobs]);
}

export function seed(port, jobs) {
  redisCli(port, 'FLUSHALL');
  return pipeSeed(port, bullCommands(jobs, Date.now()));
}

/**
 * The one-time script a team writes: page Bull's waiting (prioritized among them) and delayed
 * jobs, add each to the BullMQ queue owning its name with its options (priority, remaining delay,
 * attempts, backoff), remove it from Bull. Resolves with the time spent moving and the count.
 */
async function handWritten(port) {
  const { default: Bull } = await import('bull');
  const { Queue } = await import('bullmq');
  const source = new Bull(LEGACY, { redis: { host: '127.0.0.1', port }, prefix: PREFIX });
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const dests = Object.fromEntries(Object.entries(OWNERS).map(([name, q]) => [name, new Queue(q, { connection, prefix: PREFIX })]));
  await source.isReady();
  await Promise.all(Object.values(dests).map((q) => q.waitUntilReady()));
  const started = process.hrtime.bigint();
  let moved = 0;
  try {
    for (;;) {
      const jobs = (await source.getJobs(['waiting', 'delayed'], 0, 999, true)).filter(Boolean);
      if (jobs.length === 0) break;
      for (const job of jobs) {
        const { attempts, backoff, priority } = job.opts;
        const delay = Math.max(0, job.timestamp + (job.delay ?? 0) - Date.now());
        await dests[job.name].add(job.name, job.data, { attempts, backoff, ...(priority ? { priority } : {}), ...(delay ? { delay } : {}) });
        await job.remove();
        moved++;
      }
    }
    return { ms: Number(process.hrtime.bigint() - started) / 1e6, moved };
  } finally {
    await source.close();
    await Promise.all(Object.values(dests).map((q) => q.close()));
  }
}

const perSec = (jobs, ms) => Math.round((jobs / ms) * 1000);
const movedTotal = (doc) => Object.values(doc.moved).reduce((a, n) => a + n, 0);

/**
 * @param {{ jobs?: number, baselineJobs?: number, log?: (line: string) => void }} options
 */
export async function run(options = {}) {
  const jobs = options.jobs ?? 200_000;
  const baselineJobs = options.baselineJobs ?? Math.min(jobs, 20_000);
  const log = options.log ?? stderrLog;
  requireBuild();
  const server = await startServer();
  try {
    let t = Date.now();
    await seed(server.port, jobs);
    log(`seeded ${int(jobs)} Bull jobs into ${LEGACY} in ${((Date.now() - t) / 1000).toFixed(1)}s on ${server.url}`);
    const r = await runCli(['migrate', '--from', LEGACY, '--yes', '--json', '-c', TOPOLOGY, '--redis', server.url], { peakRss: true });
    if (r.code !== 0) throw new Error(`migrate exited ${r.code}: ${cliError(r)}`);
    const doc = JSON.parse(r.stdout);
    if (movedTotal(doc) !== jobs || !doc.verified) throw new Error(`migrate moved ${movedTotal(doc)} of ${jobs} (verified: ${doc.verified})`);
    const left = Number(redisCli(server.port, 'LLEN', `${PREFIX}:${LEGACY}:wait`)) + Number(redisCli(server.port, 'ZCARD', `${PREFIX}:${LEGACY}:delayed`));
    if (left !== 0) throw new Error(`${left} Bull job(s) left after migrate`);
    const timing = doc.timings ?? {};
    const queuectl = { jobs, ms: Math.round(r.ms), jobsPerSec: perSec(jobs, r.ms), peakRssMb: Math.round(r.peakRssMb ?? 0), phases: { planMs: timing.planMs, moveMs: timing.moveMs, verifyMs: timing.verifyMs } };
    log(`queuectl migrate (plan + move + verify): ${int(jobs)} Bull jobs in ${(r.ms / 1000).toFixed(2)}s = ${int(queuectl.jobsPerSec)} jobs/s (plan ${timing.planMs} ms, move ${timing.moveMs} ms, verify ${timing.verifyMs} ms), peak RSS ${queuectl.peakRssMb} MB`);

    t = Date.now();
    await seed(server.port, baselineJobs);
    const h = await handWritten(server.port);
    if (h.moved !== baselineJobs) throw new Error(`hand-written script moved ${h.moved} of ${baselineJobs}`);
    const baseline = { jobs: baselineJobs, ms: Math.round(h.ms), jobsPerSec: perSec(baselineJobs, h.ms) };
    log(`hand-written Bull getJobs → BullMQ add → Bull remove: ${int(baselineJobs)} jobs in ${(h.ms / 1000).toFixed(2)}s = ${int(baseline.jobsPerSec)} jobs/s`);
    const result = { bench: 'bull-move', queuectl, handWritten: baseline, goals: GOALS };
    const rows = [row({
      bench: 'bull-move', id: 'vs-hand-written', label: `migrate --yes from Bull, ${int(jobs)} mixed jobs`,
      value: queuectl.jobsPerSec, unit: 'jobs/s',
      anchor: { label: `hand-written Bull getJobs → BullMQ add → Bull remove, ${int(baselineJobs)}-job sample`, value: baseline.jobsPerSec, unit: 'jobs/s' },
      goal: { on: 'ratio', min: GOALS.vsHandWritten },
    })];
    return { ...result, rows, ok: rows.every((x) => x.met !== false) };
  } finally {
    await server.stop();
  }
}

if (isMain(import.meta.url)) {
  const a = argv();
  standalone('bull-move', run, { jobs: a.num('jobs'), baselineJobs: a.num('baseline-jobs') }, { missedExit: 1 });
}
