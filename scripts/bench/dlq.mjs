#!/usr/bin/env node
// Benchmark: `queuectl dlq retry --all --yes` of 100,000 failed jobs (the whole command) against
// its anchor in the same run: BullMQ's own `Queue.retryJobs({ state: 'failed' })` of the same jobs.
// Starts a throwaway redis-server on a free port (never 6379), seeds BullMQ-shaped failed job
// hashes with pipelined writes, times the CLI, checks every job is back in `wait` exactly once,
// re-seeds and times the anchor, and stops the server. Build first (`npm run build`).
// Options: --jobs N (100000)  --batch N (CLI default)  --json.
// Exit: 0 measured (goal met or not), 2 the bench broke (wrong result, non-zero exit).
import { rmSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { argv, cliError, int, isMain, requireBuild, runCli, standalone, startServer, stderrLog } from './lib.mjs';
import { row } from './summary.mjs';

/**
 * BullMQ's retryJobs is one Lua call per 1,000 jobs with no checks; queuectl's retry follows the
 * topology's dead-letter policy and reports what it did, so half that speed is the bar.
 */
export const GOALS = { ratio: 0.5 };
const QUEUE = 'bench-dlq';

/** `jobs` jobs that used up their 3 attempts, in the queue's failed set (the topology's `deadLetter: failed`). */
async function seed(redis, jobs) {
  const prefix = `bull:${QUEUE}:`;
  const now = Date.now();
  for (let from = 0; from < jobs; from += 10_000) {
    const pipeline = redis.pipeline();
    const members = [];
    for (let i = from; i < Math.min(from + 10_000, jobs); i++) {
      const id = `job-${i}`;
      const t = now - jobs + i;
      pipeline.hset(prefix + id, 'name', 'work', 'data', `{"n":${i},"orgId":"org-${i % 7}"}`, 'opts', '{"attempts":3,"backoff":{"type":"exponential","delay":1000}}',
        'timestamp', t - 5000, 'delay', 0, 'priority', 0, 'atm', 3, 'ats', 3, 'processedOn', t - 10, 'finishedOn', t,
        'failedReason', 'upstream timeout', 'stacktrace', '["Error: upstream timeout\\n    at work (worker.js:1:1)"]');
      members.push(t, id);
    }
    pipeline.zadd(`${prefix}failed`, ...members);
    await pipeline.exec();
  }
}

const topologyYaml = () =>
  `version: 1\nprefix: bull\nqueues:\n  ${QUEUE}: { jobs: [work], attempts: 3, backoff: { type: exponential, delay: 1s }, deadLetter: failed }\nworkers:\n  w: { queues: [${QUEUE}] }\n`;

/**
 * Runs the benchmark; returns one JSON-able result, throws when the bench broke.
 * @param {{ jobs?: number, batch?: number, log?: (line: string) => void }} options
 */
export async function run(options = {}) {
  const jobs = options.jobs ?? 100_000;
  const log = options.log ?? stderrLog;
  requireBuild();
  const server = await startServer();
  const redis = new Redis({ port: server.port, host: '127.0.0.1' });
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-bench-dlq-'));
  try {
    const seedStart = Date.now();
    await seed(redis, jobs);
    log(`seeded ${int(jobs)} failed jobs in ${Date.now() - seedStart} ms on ${server.url}`);

    const config = join(dir, 'queuectl.yaml');
    writeFileSync(config, topologyYaml());
    const r = await runCli(['dlq', 'retry', '--all', '--yes', '--json', '-c', config, '--redis', server.url, ...(options.batch ? ['--batch', String(options.batch)] : [])]);
    if (r.code !== 0) throw new Error(`dlq retry exited ${r.code}: ${cliError(r)}`);
    const doc = JSON.parse(r.stdout);
    const prefix = `bull:${QUEUE}:`;
    const waiting = await redis.llen(`${prefix}wait`);
    const unique = new Set(await redis.lrange(`${prefix}wait`, 0, -1)).size;
    const left = await redis.zcard(`${prefix}failed`);
    const exact = doc.retried === jobs && waiting === jobs && unique === jobs && left === 0;
    if (!exact) throw new Error(`dlq retry: retried ${doc.retried} of ${jobs}, wait ${waiting} (${unique} distinct), failed left ${left}`);
    const ms = Math.round(r.ms);
    log(`dlq retry --all: ${int(jobs)} failed jobs in ${ms} ms (${int(jobs / (r.ms / 1000))} jobs/s)`);

    await redis.flushall();
    await seed(redis, jobs);
    const queue = new Queue(QUEUE, { connection: { host: '127.0.0.1', port: server.port, maxRetriesPerRequest: null } });
    let anchorMs;
    try {
      await queue.waitUntilReady();
      const started = process.hrtime.bigint();
      await queue.retryJobs({ state: 'failed', count: 1000 });
      anchorMs = Math.round(Number(process.hrtime.bigint() - started) / 1e6);
    } finally {
      await queue.close();
    }
    const back = await redis.llen(`${prefix}wait`);
    if (back !== jobs) throw new Error(`BullMQ retryJobs put ${back} of ${jobs} back`);
    log(`BullMQ retryJobs({ state: 'failed' }): ${int(jobs)} jobs in ${anchorMs} ms`);
    const rows = [row({
      bench: 'dlq', id: 'vs-retryjobs', label: `dlq retry --all, ${int(jobs)} failed jobs`, value: ms, unit: 'ms',
      anchor: { label: 'BullMQ retryJobs of the same jobs', value: anchorMs, unit: 'ms' }, goal: { on: 'ratio', min: GOALS.ratio },
    })];
    return { bench: 'dlq', jobs, ms, jobsPerSec: Math.round(jobs / (r.ms / 1000)), retried: doc.retried, exact, anchorMs, goals: GOALS, rows, ok: rows.every((x) => x.met !== false) };
  } finally {
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
}

if (isMain(import.meta.url)) {
  const a = argv();
  standalone('dlq', run, { jobs: a.num('jobs'), batch: a.num('batch') });
}
