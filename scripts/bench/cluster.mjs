#!/usr/bin/env node
// Benchmark: cross-slot `queuectl migrate` on Redis Cluster (one hash tag per queue, so the source
// and its destinations live in different slots and the journaled copy-then-delete runs).
// Starts a throwaway 3-master cluster on free loopback ports (never 6379), seeds the legacy queue
// `{eccb-smart-upload}` through BullMQ with a mix of waiting, prioritized and delayed jobs over
// three job names through BullMQ's addBulk (timed: the anchor), times the whole CLI run (plan +
// move + verify), reports the ratio, checks nothing was lost, and always stops the cluster. Build first (`npm run build`).
// Options: --jobs N (100000)  --batch N (CLI default)  --json.
// Exit: 0 measured (goal met or not), 2 the bench broke (jobs lost, non-zero exit).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import { argv, cliError, int, isMain, requireBuild, runCli, standalone, startCluster, stderrLog } from './lib.mjs';
import { row } from './summary.mjs';

/** A cross-slot move copies every job and deletes it after, journaled: at least BullMQ's own addBulk speed of the same jobs. */
export const GOALS = { ratio: 1 };
const LEGACY = '{eccb-smart-upload}';
const OWNERS = { 'smartupload.process': '{eccb-smart-upload-process}', 'smartupload.secondPass': '{eccb-smart-upload-secondpass}', 'smartupload.autoCommit': '{eccb-smart-upload-autocommit}' };
const NAMES = Object.keys(OWNERS);

function topologyYaml() {
  const queues = Object.entries(OWNERS).map(([job, q]) => `  "${q}": { jobs: [${job}], dedup: none }`).join('\n');
  return `version: 1\nprefix: bull\nqueues:\n${queues}\nworkers:\n  w: { queues: [${Object.values(OWNERS).map((q) => `"${q}"`).join(', ')}] }\nlegacy:\n  "${LEGACY}": { note: shared queue before the split }\n`;
}

/**
 * 60% waiting, 20% prioritized, 20% delayed (due in an hour); every other job with a custom id.
 * Written by BullMQ's addBulk, 1,000 a call, 4 in flight, and timed: that is the anchor (how fast
 * BullMQ itself creates the same jobs on the same cluster). Resolves with the time in ms.
 */
async function seed(connection, jobs) {
  const queue = new Queue(LEGACY, { connection });
  await queue.waitUntilReady();
  const calls = [];
  for (let start = 0; start < jobs; start += 1000) {
    const bulk = [];
    for (let i = start; i < Math.min(jobs, start + 1000); i++) {
      const kind = i % 5;
      const opts = kind === 3 ? { priority: 1 + (i % 10) } : kind === 4 ? { delay: 3_600_000 } : {};
      if (i % 2 === 0) opts.jobId = `s-${i}`;
      bulk.push({ name: NAMES[i % 3], data: { sessionId: `sess-${i}`, file: `upload-${i}.pdf`, pages: i % 40 }, opts });
    }
    calls.push(bulk);
  }
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < calls.length) await queue.addBulk(calls[next++]);
  }));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  await queue.close();
  return ms;
}

async function counts(redis, queue) {
  const p = `bull:${queue}:`;
  const [wait, prioritized, delayed] = await Promise.all([redis.llen(p + 'wait'), redis.zcard(p + 'prioritized'), redis.zcard(p + 'delayed')]);
  return wait + prioritized + delayed;
}

/**
 * Runs the benchmark; returns one JSON-able result, throws when the bench broke.
 * @param {{ jobs?: number, batch?: number, log?: (line: string) => void }} options
 */
export async function run(options = {}) {
  const jobs = options.jobs ?? 100_000;
  const log = options.log ?? stderrLog;
  requireBuild();
  const cluster = await startCluster(3);
  let redis;
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-bench-cluster-topo-'));
  try {
    redis = new Cluster(cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })), { redisOptions: { maxRetriesPerRequest: null } });
    const slots = await Promise.all([LEGACY, ...Object.values(OWNERS)].map((q) => redis.cluster('KEYSLOT', `bull:${q}:wait`)));
    log(`cluster ${cluster.url}; slots ${slots.join(', ')}`);
    const seedMs = await seed(redis, jobs);
    const addBulkJobsPerSec = Math.round(jobs / (seedMs / 1000));
    log(`seeded ${int(jobs)} jobs with BullMQ addBulk (1,000 a call, 4 in flight) in ${(seedMs / 1000).toFixed(1)} s = ${int(addBulkJobsPerSec)} jobs/s`);
    writeFileSync(join(dir, 'queuectl.yaml'), topologyYaml());
    const args = ['--redis', cluster.url, '-c', join(dir, 'queuectl.yaml'), '--json', 'migrate', '--from', LEGACY, '--yes', ...(options.batch ? ['--batch', String(options.batch)] : [])];
    const r = await runCli(args, { env: { ...process.env, NO_COLOR: '1' } });
    if (r.code !== 0) throw new Error(`migrate exited ${r.code}: ${cliError(r)}`);
    const seconds = r.ms / 1000;
    const doc = JSON.parse(r.stdout);
    const moved = Object.values(doc.moved).reduce((a, n) => a + n, 0);
    const inDestinations = (await Promise.all(Object.values(OWNERS).map((q) => counts(redis, q)))).reduce((a, n) => a + n, 0);
    const left = await counts(redis, LEGACY);
    const exact = moved === jobs && inDestinations === jobs && left === 0 && doc.verified;
    if (!exact) throw new Error(`cross-slot migrate: moved ${moved} of ${jobs}, in destinations ${inDestinations}, left ${left}, verified ${doc.verified}`);
    const jobsPerSec = Math.round(moved / seconds);
    log(`cross-slot migrate (Redis Cluster, 3 masters, one hash tag per queue): ${int(moved)} jobs in ${seconds.toFixed(2)} s = ${int(jobsPerSec)} jobs/s`);
    const rows = [row({
      bench: 'cluster', id: 'vs-addbulk', label: `cross-slot migrate, 3-master cluster, ${int(jobs)} jobs`, value: jobsPerSec, unit: 'jobs/s',
      anchor: { label: 'BullMQ addBulk of the same jobs, 1,000/call ×4', value: addBulkJobsPerSec, unit: 'jobs/s' }, goal: { on: 'ratio', min: GOALS.ratio },
    })];
    return { bench: 'cluster', jobs, moved, seconds: Math.round(seconds * 100) / 100, jobsPerSec, addBulk: { ms: Math.round(seedMs), jobsPerSec: addBulkJobsPerSec }, exact, goals: GOALS, rows, ok: rows.every((x) => x.met !== false) };
  } finally {
    redis?.disconnect();
    rmSync(dir, { recursive: true, force: true });
    await cluster.stop();
  }
}

if (isMain(import.meta.url)) {
  const a = argv();
  standalone('cluster', run, { jobs: a.num('jobs'), batch: a.num('batch') });
}
