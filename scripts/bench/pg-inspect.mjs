#!/usr/bin/env node
// Benchmark: `queuectl inspect --json` (the whole command: Node start-up, discovery, counts, health)
// over 1,000 queues holding 1,000,000 jobs on BullMQ's PostgreSQL backend, against its anchor in
// the same run on the same database: the same counts read with BullMQ's own `getJobCounts`, queue
// by queue (in this process: no start-up, so the ratio is on the anchor's side).
// Starts a throwaway PostgreSQL (scripts/bench/pg-lib.mjs), seeds every queue through BullMQ's
// addBulk (72% waiting, 12% prioritized, 12% delayed) and BullMQ's own finishing functions (2%
// completed, 2% failed), times both ways (best of --runs each), checks inspect's counts equal
// BullMQ's, and always stops the server and removes its folder. Build first (`npm run build`).
// Options: --queues N (1000)  --jobs-per-queue N (1000)  --runs N (3)  --json.
// Exit: 0 measured (goal met or not), 2 the bench broke (wrong counts, non-zero exit).
import { tmpdir } from 'node:os';
import { argv, cliError, int, isMain, requireBuild, runCli, standalone, stderrLog } from './lib.mjs';
import { addBulkTimed, bullmqPool, finishJobs, pgQueue, sql, startPostgres } from './pg-lib.mjs';
import { row } from './summary.mjs';

/** inspect shows more than counts (oldest waiting, workers, paused, server health) yet should cost no more than BullMQ's plain count reads. */
export const GOALS = { ratio: 1 };

const job = (q, i, opts) => ({ name: `job-${i % 7}`, data: { queue: q, i, orgId: `org-${i % 13}` }, opts: { attempts: 3, ...opts } });

/**
 * One queue's jobs in addBulk calls: first the 4% that a worker will finish (2% completed, 2%
 * failed: finishing runs ~1 ms a job even inside PostgreSQL, so more would make seeding a million
 * slow), then the rest: 3/4 waiting, 1/8 prioritized, 1/8 delayed.
 */
function queueBatches(q, perQueue) {
  const share = Math.max(1, Math.floor(perQueue / 50));
  const toFinish = [];
  for (let i = 0; i < 2 * share; i++) toFinish.push(job(q, i, i < share ? {} : { attempts: 1 }));
  const rest = [];
  for (let i = 2 * share; i < perQueue; i++) {
    const r = i % 8;
    rest.push(job(q, i, r === 0 ? { priority: 1 + (i % 5) } : r === 1 ? { delay: 3_600_000 + i } : {}));
  }
  const chunks = (jobs) => Array.from({ length: Math.ceil(jobs.length / 1000) }, (_, k) => ({ queue: q, jobs: jobs.slice(k * 1000, k * 1000 + 1000) }));
  return { first: chunks(toFinish), rest: chunks(rest), completed: share, failed: share };
}

/** Seeds `queues` queues named bench-0, bench-1, … of `perQueue` jobs each; resolves with their names. */
export async function seed(url, pool, queues, perQueue) {
  const names = Array.from({ length: queues }, (_, q) => `bench-${q}`);
  const plans = names.map((q) => queueBatches(q, perQueue));
  await addBulkTimed(pool, plans.flatMap((p) => p.first));
  let next = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    const client = await pool.connect();
    try {
      while (next < names.length) {
        const i = next++;
        await finishJobs(client, names[i], plans[i].completed, 'completed');
        await finishJobs(client, names[i], plans[i].failed, 'failed');
      }
    } finally {
      client.release();
    }
  }));
  await addBulkTimed(pool, plans.flatMap((p) => p.rest));
  await sql(url, 'VACUUM ANALYZE job'); // as autovacuum would have by the time anyone inspects a million jobs
  return names;
}

/** The anchor: BullMQ's own getJobCounts, queue by queue, over one shared pool. */
async function bullmqCounts(pool, names) {
  const started = process.hrtime.bigint();
  const counts = new Map();
  for (const name of names) {
    const queue = pgQueue(pool, name);
    counts.set(name, await queue.getJobCounts());
    await queue.close();
  }
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, counts };
}

/** The measured command, run from a scratch cwd with no config (every queue is discovered); the URL goes through the environment. */
const timeInspect = (url) => runCli(['inspect', '--json'], { cwd: tmpdir(), env: { ...process.env, NO_COLOR: '1', QUEUECTL_CONFIG: undefined, QUEUECTL_URL: url } });

const total = (counts) => Object.values(counts).reduce((a, n) => a + n, 0);

/**
 * Runs the benchmark; returns one JSON-able result with its summary rows, throws when it broke.
 * @param {{ queues?: number, jobsPerQueue?: number, runs?: number, log?: (line: string) => void }} options
 */
export async function run(options = {}) {
  const queues = options.queues ?? 1000;
  const perQueue = options.jobsPerQueue ?? 1000;
  const runs = options.runs ?? 3;
  const log = options.log ?? stderrLog;
  requireBuild();
  const server = await startPostgres();
  const pool = bullmqPool(server.url);
  try {
    const t = Date.now();
    const names = await seed(server.url, pool, queues, perQueue);
    const seedMs = Date.now() - t;
    log(`seeded ${int(queues)} queues, ${int(queues * perQueue)} jobs through BullMQ in ${(seedMs / 1000).toFixed(1)} s on PostgreSQL ${server.version} (${server.shownUrl})`);

    const runsMs = [];
    const anchorMs = [];
    let doc;
    let anchor;
    for (let i = 0; i < runs; i++) {
      const r = await timeInspect(server.url);
      if (r.code !== 0) throw new Error(`inspect exited ${r.code}: ${cliError(r)}`);
      runsMs.push(Math.round(r.ms));
      doc = JSON.parse(r.stdout);
      anchor = await bullmqCounts(pool, names);
      anchorMs.push(Math.round(anchor.ms));
    }
    const counted = doc.queues.reduce((s, q) => s + total(q.counts), 0);
    const differ = doc.queues.filter((q) => total(q.counts) !== total(anchor.counts.get(q.name) ?? {}) || q.counts.completed !== anchor.counts.get(q.name)?.completed);
    if (doc.queues.length !== queues || counted !== queues * perQueue || differ.length) {
      throw new Error(`inspect saw ${doc.queues.length} queues and ${int(counted)} jobs (seeded ${queues} and ${queues * perQueue}); ${differ.length} queues differ from BullMQ's getJobCounts`);
    }
    const bestMs = Math.min(...runsMs);
    const anchorBestMs = Math.min(...anchorMs);
    log(`inspect --json (whole command): ${runsMs.join(' ms, ')} ms (best ${bestMs} ms); BullMQ getJobCounts per queue: ${anchorMs.join(' ms, ')} ms (best ${anchorBestMs} ms)`);
    const rows = [
      row({
        bench: 'pg-inspect', id: 'vs-getjobcounts',
        label: `inspect --json, ${int(queues)} queues / ${int(counted)} jobs, best of ${runs}`,
        value: bestMs, unit: 'ms',
        anchor: { label: 'BullMQ getJobCounts per queue', value: anchorBestMs, unit: 'ms' },
        goal: { on: 'ratio', min: GOALS.ratio },
      }),
    ];
    return { bench: 'pg-inspect', queues, jobs: counted, seedMs, runsMs, bestMs, anchorRunsMs: anchorMs, anchorBestMs, postgres: server.version, rows, ok: rows.every((r) => r.met !== false) };
  } finally {
    await pool.end().catch(() => undefined);
    await server.stop();
  }
}

if (isMain(import.meta.url)) {
  const a = argv();
  standalone('pg-inspect', run, { queues: a.num('queues'), jobsPerQueue: a.num('jobs-per-queue'), runs: a.num('runs') });
}
