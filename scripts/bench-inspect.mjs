#!/usr/bin/env node
// Benchmark: `queuectl inspect --all --json` over 1,000 queues holding 1,000,000 jobs.
// Starts a throwaway redis-server on a free port (never 6379), seeds BullMQ-shaped keys with
// pipelined raw writes through `redis-cli --pipe`, times the CLI, prints the SLOWLOG, stops the
// server. Build first (`npm run build`). Options: --queues N --jobs-per-queue N --runs N.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const QUEUES = arg('queues', 1000);
const PER_QUEUE = arg('jobs-per-queue', 1000);
const RUNS = arg('runs', 3);
const GOAL_MS = 1500;
const PREFIX = 'bull';

if (!existsSync(join(root, 'dist/main.js'))) {
  console.error('bench-inspect: dist/main.js is missing — run `npm run build` first');
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

function cli(port, ...args) {
  const r = spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

async function waitReady(port) {
  for (let i = 0; i < 100; i++) {
    const r = spawnSync('redis-cli', ['-p', String(port), 'PING'], { encoding: 'utf8' });
    if (r.stdout.trim() === 'PONG') return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('redis-server did not start');
}

/** RESP encoding of one command, as redis-cli --pipe expects. */
function resp(args) {
  let out = `*${args.length}\r\n`;
  for (const a of args) {
    const s = String(a);
    out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  }
  return out;
}

/**
 * One queue's keys, shaped like BullMQ 6 writes them: per job a hash; 60% in `wait` (LPUSH, so
 * the right end is the oldest), 10% each prioritized, delayed, completed, failed; `meta` and `id`.
 */
function* queueCommands(q, now) {
  const key = (s) => `${PREFIX}:bench-${q}:${s}`;
  const wait = [];
  const buckets = { prioritized: [], delayed: [], completed: [], failed: [] };
  for (let id = 1; id <= PER_QUEUE; id++) {
    const ts = now - (PER_QUEUE - id) * 1000 - q;
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
  yield resp(['SET', key('id'), PER_QUEUE]);
}

function seed(port) {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', ['-p', String(port), '--pipe'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let report = '';
    child.stdout.on('data', (d) => (report += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(report) : reject(new Error(`redis-cli --pipe exited ${code}: ${report}`))));
    const now = Date.now();
    let q = 0;
    let commands = queueCommands(q, now);
    const pump = () => {
      for (;;) {
        let chunk = '';
        while (chunk.length < 1 << 20) {
          const next = commands.next();
          if (!next.done) { chunk += next.value; continue; }
          q += 1;
          if (q >= QUEUES) break;
          commands = queueCommands(q, now);
        }
        if (q >= QUEUES) { child.stdin.end(chunk); return; }
        if (!child.stdin.write(chunk)) { child.stdin.once('drain', pump); return; }
      }
    };
    pump();
  });
}

function timeInspect(url) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [join(root, 'bin/queuectl'), 'inspect', '--all', '--json', '--redis', url], {
      cwd: tmpdir(), env: { ...process.env, NO_COLOR: '1', QUEUECTL_CONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) return reject(new Error(`inspect exited ${code}: ${stderr.trim()}`));
      resolve({ ms, doc: JSON.parse(stdout) });
    });
  });
}

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'queuectl-bench-'));
const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
try {
  await waitReady(port);
  const url = `redis://127.0.0.1:${port}`;
  let t = Date.now();
  await seed(port);
  const seedMs = Date.now() - t;
  const keys = Number(cli(port, 'DBSIZE'));
  console.log(`seeded ${QUEUES} queues, ${QUEUES * PER_QUEUE} jobs (${keys} keys) in ${(seedMs / 1000).toFixed(1)}s on ${url}`);

  cli(port, 'CONFIG', 'SET', 'slowlog-log-slower-than', '10000');
  cli(port, 'SLOWLOG', 'RESET');
  const runs = [];
  let doc;
  for (let i = 0; i < RUNS; i++) {
    const r = await timeInspect(url);
    runs.push(Math.round(r.ms));
    doc = r.doc;
  }
  const total = doc.queues.reduce((s, q) => s + Object.values(q.counts).reduce((a, b) => a + b, 0), 0);
  const slowlog = cli(port, 'SLOWLOG', 'GET', '128');
  const slowCount = Number(cli(port, 'SLOWLOG', 'LEN'));
  const best = Math.min(...runs);
  console.log(`inspect --all --json: ${runs.join(' ms, ')} ms (best ${best} ms, goal < ${GOAL_MS} ms) — ${doc.queues.length} queues, ${total} jobs counted`);
  console.log(slowCount === 0 ? 'SLOWLOG (> 10 ms): empty' : `SLOWLOG (> 10 ms): ${slowCount} entries\n${slowlog}`);
  console.log(JSON.stringify({ bench: 'inspect', queues: doc.queues.length, jobs: total, keys, seedMs, runsMs: runs, bestMs: best, goalMs: GOAL_MS, ok: best < GOAL_MS && slowCount === 0, slowlogEntries: slowCount }));
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
