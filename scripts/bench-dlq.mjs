#!/usr/bin/env node
// Benchmark: `queuectl dlq retry --all --yes` of 100,000 failed jobs (goal: under 5 s).
// Starts a throwaway redis-server on a free port (never 6379), seeds BullMQ-shaped failed job
// hashes with pipelined raw writes, times the CLI, checks every job is back in `wait` exactly
// once, prints the figure and stops the server. Build first (`npm run build`).
// Options: --jobs N (default 100000) --batch N.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const JOBS = arg('jobs', 100_000);
const BATCH = arg('batch', undefined);
const GOAL_MS = 5000;
const QUEUE = 'bench-dlq';

if (!existsSync(join(root, 'dist/main.js'))) {
  console.error('bench-dlq: dist/main.js is missing — run `npm run build` first');
  process.exit(2);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => (port === 6379 ? freePort().then(resolve, reject) : resolve(port)));
    });
  });
}

async function waitReady(port) {
  for (let i = 0; i < 100; i++) {
    const r = spawnSync('redis-cli', ['-p', String(port), 'PING'], { encoding: 'utf8' });
    if (r.stdout.trim() === 'PONG') return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('redis-server did not start');
}

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'queuectl-bench-dlq-'));
const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
try {
  await waitReady(port);
  const redis = new Redis({ port, host: '127.0.0.1' });
  const prefix = `bull:${QUEUE}:`;
  const now = Date.now();
  const seedStart = Date.now();
  for (let from = 0; from < JOBS; from += 10_000) {
    const pipeline = redis.pipeline();
    const members = [];
    for (let i = from; i < Math.min(from + 10_000, JOBS); i++) {
      const id = `job-${i}`;
      const t = now - JOBS + i;
      pipeline.hset(prefix + id, 'name', 'work', 'data', `{"n":${i},"orgId":"org-${i % 7}"}`, 'opts', '{"attempts":3,"backoff":{"type":"exponential","delay":1000}}',
        'timestamp', t - 5000, 'delay', 0, 'priority', 0, 'atm', 3, 'ats', 3, 'processedOn', t - 10, 'finishedOn', t,
        'failedReason', 'upstream timeout', 'stacktrace', '["Error: upstream timeout\\n    at work (worker.js:1:1)"]');
      members.push(t, id);
    }
    pipeline.zadd(`${prefix}failed`, ...members);
    await pipeline.exec();
  }
  console.log(`seeded ${JOBS} failed jobs in ${Date.now() - seedStart} ms`);

  const config = join(dir, 'queuectl.yaml');
  writeFileSync(config, `version: 1\nprefix: bull\nqueues:\n  ${QUEUE}: { jobs: [work], attempts: 3, backoff: { type: exponential, delay: 1s }, deadLetter: failed }\nworkers:\n  w: { queues: [${QUEUE}] }\n`);
  const args = [join(root, 'bin/queuectl'), 'dlq', 'retry', '--all', '--yes', '--json', '-c', config, '--redis', `redis://127.0.0.1:${port}`, ...(BATCH ? ['--batch', String(BATCH)] : [])];
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (run.status !== 0) {
    console.error(`bench-dlq: queuectl exited ${run.status}: ${run.stderr}`);
    process.exitCode = 1;
  } else {
    const doc = JSON.parse(run.stdout);
    const waiting = await redis.llen(`${prefix}wait`);
    const unique = new Set(await redis.lrange(`${prefix}wait`, 0, -1)).size;
    const left = await redis.zcard(`${prefix}failed`);
    const ok = doc.retried === JOBS && waiting === JOBS && unique === JOBS && left === 0;
    console.log(`dlq retry --all: ${JOBS} failed jobs in ${ms.toFixed(0)} ms (${Math.round(JOBS / (ms / 1000))} jobs/s); goal < ${GOAL_MS} ms: ${ms < GOAL_MS ? 'met' : 'MISSED'}`);
    console.log(`check: retried ${doc.retried}, wait ${waiting} (${unique} distinct), failed left ${left}: ${ok ? 'ok' : 'WRONG'}`);
    if (!ok) process.exitCode = 1;
  }
  await redis.quit();
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
