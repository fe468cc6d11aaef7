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
//          on by default: ~30 s more)  --json (one-line JSON document on stdout).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const TOPOLOGY = join(root, 'examples/eccb-smart-upload.yaml');
const LEGACY = 'eccb-smart-upload';
const PREFIX = 'bull';
const NAMES = ['smartupload.process', 'smartupload.secondPass', 'smartupload.autoCommit'];
const OWNERS = { 'smartupload.process': 'eccb-smart-upload-process', 'smartupload.secondPass': 'eccb-smart-upload-secondpass', 'smartupload.autoCommit': 'eccb-smart-upload-autocommit' };
const GOALS = { jobsPerSec: 60_000, ratio: 20, rssMb: 150 };

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

/** A private redis-server; stop() always kills it and removes its directory. */
export async function startServer() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-bench-migrate-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 200; i++) {
    const r = spawnSync('redis-cli', ['-p', String(port), 'PING'], { encoding: 'utf8' });
    if (r.stdout.trim() === 'PONG') return { port, pid: child.pid, url: `redis://127.0.0.1:${port}`, stop };
    await new Promise((res) => setTimeout(res, 50));
  }
  await stop();
  throw new Error('redis-server did not start');
}

function resp(args) {
  let out = `*${args.length}\r\n`;
  for (const a of args) {
    const s = String(a);
    out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  }
  return out;
}

/**
 * The legacy queue as BullMQ 6.7.0 leaves it: per job a hash (name, data, opts, timestamp, delay,
 * priority); 60% in `wait` (LPUSH: oldest on the right), 20% prioritized (priority·2^32 + pc),
 * 20% delayed (due·4096 + n, due in an hour); every other job has a custom id, the rest numeric.
 */
function* legacyCommands(jobs, now) {
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

/** Empties the server and writes a fresh legacy queue of `jobs` jobs. */
export function seed(port, jobs) {
  cli(port, 'FLUSHALL');
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', ['-p', String(port), '--pipe'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let report = '';
    child.stdout.on('data', (d) => (report += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(report) : reject(new Error(`redis-cli --pipe exited ${code}: ${report}`))));
    const commands = legacyCommands(jobs, Date.now());
    const pump = () => {
      for (;;) {
        let chunk = '';
        let done = false;
        while (chunk.length < 1 << 20) {
          const next = commands.next();
          if (next.done) { done = true; break; }
          chunk += next.value;
        }
        if (done) { child.stdin.end(chunk); return; }
        if (!child.stdin.write(chunk)) { child.stdin.once('drain', pump); return; }
      }
    };
    pump();
  });
}

/** Runs the built CLI under /usr/bin/time -v when present (peak RSS), else samples VmHWM. */
function timeMigrate(url) {
  const args = [join(root, 'bin/queuectl'), 'migrate', '--from', LEGACY, '--yes', '--json', '-c', TOPOLOGY, '--redis', url];
  const timed = existsSync('/usr/bin/time');
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = timed ? spawn('/usr/bin/time', ['-v', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hwmKb = 0;
    const sampler = timed ? undefined : setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwmKb = Math.max(hwmKb, Number(m[1]));
      } catch { /* exited */ }
    }, 50);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(sampler);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      if (m) hwmKb = Number(m[1]);
      const exit = timed ? Number(/Exit status: (\d+)/.exec(stderr)?.[1] ?? code) : code;
      if (exit !== 0) return reject(new Error(`migrate exited ${exit}: ${stderr.split('\n').find((l) => l.startsWith('queuectl:')) ?? stderr.slice(0, 500)}`));
      resolve({ ms, rssMb: hwmKb / 1024, doc: JSON.parse(stdout) });
    });
  });
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

/**
 * Runs the benchmark; returns one JSON-able result. `log` receives human lines (stderr by default).
 * @param {{ jobs?: number, baselineJobs?: number, million?: boolean, log?: (line: string) => void }} options
 */
export async function benchMigrate(options = {}) {
  const jobs = options.jobs ?? 200_000;
  const baselineJobs = options.baselineJobs ?? Math.min(jobs, 20_000);
  const million = options.million ?? true;
  const log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  if (!existsSync(join(root, 'dist/main.js'))) throw new Error('dist/main.js is missing — run `npm run build` first');
  const server = await startServer();
  try {
    let t = Date.now();
    await seed(server.port, jobs);
    log(`seeded ${jobs.toLocaleString('en-US')} jobs into ${LEGACY} in ${((Date.now() - t) / 1000).toFixed(1)}s on ${server.url}`);
    const q = await timeMigrate(server.url);
    const movedTotal = Object.values(q.doc.moved).reduce((a, n) => a + n, 0);
    if (movedTotal !== jobs || !q.doc.verified) throw new Error(`migrate moved ${movedTotal} of ${jobs} (verified: ${q.doc.verified})`);
    const queuectl = { jobs, ms: round(q.ms), jobsPerSec: round((jobs / q.ms) * 1000), peakRssMb: round(q.rssMb), verified: q.doc.verified };
    log(`queuectl migrate (plan + move + verify): ${jobs.toLocaleString('en-US')} jobs in ${(q.ms / 1000).toFixed(2)}s = ${queuectl.jobsPerSec.toLocaleString('en-US')} jobs/s, peak RSS ${queuectl.peakRssMb} MB`);

    await seed(server.port, baselineJobs);
    const h = await handWritten(server.url);
    if (h.moved !== baselineJobs) throw new Error(`hand-written script moved ${h.moved} of ${baselineJobs}`);
    const baseline = { jobs: baselineJobs, ms: round(h.ms), jobsPerSec: round((baselineJobs / h.ms) * 1000) };
    const ratio = Math.round((queuectl.jobsPerSec / baseline.jobsPerSec) * 10) / 10;
    log(`hand-written getJobs → add → remove: ${baselineJobs.toLocaleString('en-US')} jobs in ${(h.ms / 1000).toFixed(2)}s = ${baseline.jobsPerSec.toLocaleString('en-US')} jobs/s`);
    log(`ratio: ${ratio}× (goal ≥ ${GOALS.ratio}×; speed goal ≥ ${GOALS.jobsPerSec.toLocaleString('en-US')} jobs/s)`);

    let memory;
    if (million) {
      const n = 1_000_000;
      t = Date.now();
      await seed(server.port, n);
      log(`seeded ${n.toLocaleString('en-US')} jobs in ${((Date.now() - t) / 1000).toFixed(1)}s`);
      const m = await timeMigrate(server.url);
      memory = { jobs: n, ms: round(m.ms), jobsPerSec: round((n / m.ms) * 1000), peakRssMb: round(m.rssMb), verified: m.doc.verified };
      log(`1M-job run: ${(m.ms / 1000).toFixed(1)}s = ${memory.jobsPerSec.toLocaleString('en-US')} jobs/s, peak RSS ${memory.peakRssMb} MB (goal < ${GOALS.rssMb} MB)`);
    }
    const ok = queuectl.jobsPerSec >= GOALS.jobsPerSec && ratio >= GOALS.ratio && queuectl.peakRssMb < GOALS.rssMb && (!memory || (memory.peakRssMb < GOALS.rssMb && memory.verified));
    return { bench: 'migrate', queuectl, handWritten: baseline, ratio, memory, goals: GOALS, ok };
  } finally {
    await server.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const num = (name) => {
    const i = argv.indexOf(`--${name}`);
    return i === -1 ? undefined : Number(argv[i + 1]);
  };
  const envMillion = process.env.BENCH_MILLION;
  const million = argv.includes('--no-million') ? false : argv.includes('--million') ? true : envMillion === undefined ? true : envMillion !== '0';
  benchMigrate({ jobs: num('jobs'), baselineJobs: num('baseline-jobs'), million }).then(
    (result) => {
      console.log(JSON.stringify(result, null, argv.includes('--json') ? 0 : 2));
      process.exitCode = result.ok ? 0 : 1;
    },
    (error) => {
      console.error(`bench-migrate: ${error.message}`);
      process.exitCode = 2;
    },
  );
}
