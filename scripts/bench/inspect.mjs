#!/usr/bin/env node
// Benchmark: `queuectl inspect --all --json` over 1,000 queues holding 1,000,000 jobs against its
// anchor in the same run: the same counts read with BullMQ's own getJobCounts, queue by queue (goal:
// at least as fast), and no Redis command slower than 10 ms while it runs (SLOWLOG stays empty).
// Starts a throwaway redis-server on a free port (never 6379), seeds BullMQ-shaped keys with
// pipelined raw writes through `redis-cli --pipe`, times the CLI (best of --runs), reads the
// SLOWLOG, times the anchor, checks every queue and job was counted as BullMQ counts them, stops the server. Build first (`npm run build`).
// Options: --queues N (1000)  --jobs-per-queue N (1000)  --runs N (3)  --json.
// Exit: 0 measured (goal met or not), 2 the bench broke (wrong counts, non-zero exit).
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import { argv, cliError, int, isMain, pipeSeed, redisCli, requireBuild, resp, runCli, slowlog, standalone, startServer, stderrLog } from './lib.mjs';
import { row } from './summary.mjs';

/**
 * inspect shows more than the counts (oldest waiting, workers, paused) yet should cost no more than
 * reading the counts with BullMQ's own API queue by queue; and no Redis command slower than 10 ms.
 */
export const GOALS = { ratio: 1, slowlogEntries: 0 };
const SLOWLOG_US = 10_000;
const PREFIX = 'bull';

/**
 * One queue's keys, shaped like BullMQ 6 writes them: per job a hash; 60% in `wait` (LPUSH, so
 * the right end is the oldest), 10% each prioritized, delayed, completed, failed; `meta` and `id`.
 */
export function* queueCommands(q, perQueue, now) {
  const key = (s) => `${PREFIX}:bench-${q}:${s}`;
  const wait = [];
  const buckets = { prioritized: [], delayed: [], completed: [], failed: [] };
  for (let id = 1; id <= perQueue; id++) {
    const ts = now - (perQueue - id) * 1000 - q;
    yield resp(['HSET', key(id), 'name', `job-${id % 7}`, 'data', `{"i":${id}}`, 'opts', '{"attempts":3}', 'timestamp', ts, 'delay', 0, 'priority', 0, 'atm', 0]);
    const r = id % 10;
    if (r < 6) wait.push(id);
    else if (r === 6) buckets.prioritized.push(1 * 2 ** 32 + id, id);
    else if (r === 7) buckets.delayed.push((now + 60_000 + id) * 4096, id);
    else if (r === 8) buckets.completed.push(ts + 10, id);
    else buckets.failed.push(ts + 10, id);
  }
  for (let i = 0; i < wait.length; i += 500) yield resp(['LPUSH', key('wait'), ...wait.slice(i, i + 500)]);
  for (const [state, members] of Object.entries(buckets)) {
    for (let i = 0; i < members.length; i += 1000) if (members.length) yield resp(['ZADD', key(state), ...members.slice(i, i + 1000)]);
  }
  yield resp(['HSET', key('meta'), 'opts.maxLenEvents', 10000, 'version', 'bullmq:6.7.0']);
  yield resp(['SET', key('id'), perQueue]);
}

function* allQueues(queues, perQueue, now) {
  for (let q = 0; q < queues; q++) yield* queueCommands(q, perQueue, now);
}

/** The measured command; run from a scratch cwd with no config so only discovery finds the queues. */
function timeInspect(url) {
  return runCli(['inspect', '--all', '--json', '--redis', url], { cwd: tmpdir(), env: { ...process.env, NO_COLOR: '1', QUEUECTL_CONFIG: undefined } });
}

/** The anchor: BullMQ's own getJobCounts, queue by queue, over one shared connection (in this process: no start-up). */
async function bullmqCounts(port, names) {
  const { Queue } = await import('bullmq');
  const connection = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: null });
  try {
    const started = process.hrtime.bigint();
    const counts = new Map();
    for (const name of names) {
      const queue = new Queue(name, { connection, prefix: PREFIX });
      counts.set(name, await queue.getJobCounts());
      await queue.close();
    }
    return { ms: Number(process.hrtime.bigint() - started) / 1e6, counts };
  } finally {
    connection.disconnect();
  }
}

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
  const server = await startServer();
  try {
    const t = Date.now();
    await pipeSeed(server.port, allQueues(queues, perQueue, Date.now()));
    const seedMs = Date.now() - t;
    const keys = Number(redisCli(server.port, 'DBSIZE'));
    log(`seeded ${int(queues)} queues, ${int(queues * perQueue)} jobs (${int(keys)} keys) in ${(seedMs / 1000).toFixed(1)}s on ${server.url}`);

    redisCli(server.port, 'CONFIG', 'SET', 'slowlog-log-slower-than', String(SLOWLOG_US));
    redisCli(server.port, 'SLOWLOG', 'RESET');
    const runsMs = [];
    let doc;
    for (let i = 0; i < runs; i++) {
      const r = await timeInspect(server.url);
      if (r.code !== 0) throw new Error(`inspect exited ${r.code}: ${cliError(r)}`);
      runsMs.push(Math.round(r.ms));
      doc = JSON.parse(r.stdout);
    }
    const slow = await slowlog(server.url);
    const names = Array.from({ length: queues }, (_, q) => `bench-${q}`);
    const anchorMs = [];
    let anchor;
    for (let i = 0; i < runs; i++) {
      anchor = await bullmqCounts(server.port, names);
      anchorMs.push(Math.round(anchor.ms));
    }
    const counted = doc.queues.reduce((s, q) => s + total(q.counts), 0);
    const differ = doc.queues.filter((q) => total(q.counts) !== total(anchor.counts.get(q.name) ?? {}));
    if (doc.queues.length !== queues || counted !== queues * perQueue || differ.length) {
      throw new Error(`inspect saw ${doc.queues.length} queues and ${counted} jobs; seeded ${queues} and ${queues * perQueue}; ${differ.length} queues differ from BullMQ's getJobCounts`);
    }
    const bestMs = Math.min(...runsMs);
    const anchorBestMs = Math.min(...anchorMs);
    log(`inspect --all --json: ${runsMs.join(' ms, ')} ms (best ${bestMs} ms); BullMQ getJobCounts per queue: ${anchorMs.join(' ms, ')} ms (best ${anchorBestMs} ms) — ${doc.queues.length} queues, ${int(counted)} jobs counted`);
    log(slow.length === 0 ? 'SLOWLOG (> 10 ms): empty' : `SLOWLOG (> 10 ms): ${slow.length} entries\n${slow.map((e) => `  ${e.ms} ms  ${e.command}`).join('\n')}`);
    const rows = [
      row({
        bench: 'inspect', id: 'vs-getjobcounts', label: `inspect --all --json, ${int(queues)} queues / ${int(counted)} jobs, best of ${runs}`,
        value: bestMs, unit: 'ms', anchor: { label: 'BullMQ getJobCounts per queue', value: anchorBestMs, unit: 'ms' },
        goal: { on: 'ratio', min: GOALS.ratio },
      }),
      row({ bench: 'inspect', id: 'slowlog', label: `SLOWLOG entries > ${SLOWLOG_US / 1000} ms during inspect`, value: slow.length, unit: 'entries', goal: { on: 'value', max: GOALS.slowlogEntries } }),
    ];
    return { bench: 'inspect', queues: doc.queues.length, jobs: counted, keys, seedMs, runsMs, bestMs, anchorRunsMs: anchorMs, anchorBestMs, slowlogThresholdMs: SLOWLOG_US / 1000, slowlog: slow, goals: GOALS, rows, ok: rows.every((r) => r.met !== false) };
  } finally {
    await server.stop();
  }
}

if (isMain(import.meta.url)) {
  const a = argv();
  standalone('inspect', run, { queues: a.num('queues'), jobsPerQueue: a.num('jobs-per-queue'), runs: a.num('runs') });
}
