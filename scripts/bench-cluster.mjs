#!/usr/bin/env node
// Benchmark: cross-slot `queuectl migrate` on Redis Cluster (one hash tag per queue, so the source
// and its destinations live in different slots and the journaled copy-then-delete runs).
// Starts a throwaway 3-master cluster on free loopback ports (never 6379; the same approach as
// test/setup/redis-process.ts, copied here so scripts never import test code), seeds the legacy
// queue `{eccb-smart-upload}` through BullMQ with a mix of waiting, prioritized and delayed jobs
// over three job names, times the whole CLI run (plan + move + verify), prints jobs/s against the
// goal, checks nothing was lost, and always stops the cluster. Build first (`npm run build`).
// Options: --jobs N (100000)  --batch N (CLI default)  --json (one JSON document on stdout).
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { Cluster } from 'ioredis';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const GOAL = 15_000;
const LEGACY = '{eccb-smart-upload}';
const OWNERS = { 'smartupload.process': '{eccb-smart-upload-process}', 'smartupload.secondPass': '{eccb-smart-upload-secondpass}', 'smartupload.autoCommit': '{eccb-smart-upload-autocommit}' };
const NAMES = Object.keys(OWNERS);

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const JOBS = Number(arg('--jobs', 100_000));
const BATCH = arg('--batch');
const JSON_OUT = process.argv.includes('--json');
const log = (line) => process.stderr.write(`${line}\n`);

function portIsFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free port in 20000-39999 whose cluster bus port (+10000) is free too. */
async function freePort() {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    if ((await portIsFree(port)) && (await portIsFree(port + 10000))) return port;
  }
  throw new Error('no free loopback port');
}

async function startNode() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `queuectl-bench-cluster-${port}-`));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
    '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000'], { stdio: 'ignore' });
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 200; i++) {
    try {
      if ((await run('redis-cli', ['-p', String(port), 'PING'])).stdout.trim() === 'PONG') return { port, stop };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`redis-server on ${port} did not start`);
}

async function startCluster(masters = 3) {
  const nodes = [];
  const stop = () => Promise.all(nodes.map((n) => n.stop()));
  try {
    for (let i = 0; i < masters; i++) nodes.push(await startNode());
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    const deadline = Date.now() + 20_000;
    for (const node of nodes) {
      while (!(await run('redis-cli', ['-p', String(node.port), 'CLUSTER', 'INFO'])).stdout.includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error('cluster did not reach cluster_state:ok');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return { nodes, url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function topologyYaml() {
  const queues = Object.entries(OWNERS).map(([job, q]) => `  "${q}": { jobs: [${job}], dedup: none }`).join('\n');
  return `version: 1\nprefix: bull\nqueues:\n${queues}\nworkers:\n  w: { queues: [${Object.values(OWNERS).map((q) => `"${q}"`).join(', ')}] }\nlegacy:\n  "${LEGACY}": { note: shared queue before the split }\n`;
}

/** 60% waiting, 20% prioritized, 20% delayed (due in an hour); every other job with a custom id. */
async function seed(connection) {
  const queue = new Queue(LEGACY, { connection });
  for (let start = 0; start < JOBS; start += 1000) {
    const bulk = [];
    for (let i = start; i < Math.min(JOBS, start + 1000); i++) {
      const kind = i % 5;
      const opts = kind === 3 ? { priority: 1 + (i % 10) } : kind === 4 ? { delay: 3_600_000 } : {};
      if (i % 2 === 0) opts.jobId = `s-${i}`;
      bulk.push({ name: NAMES[i % 3], data: { sessionId: `sess-${i}`, file: `upload-${i}.pdf`, pages: i % 40 }, opts });
    }
    await queue.addBulk(bulk);
  }
  await queue.close();
}

async function counts(redis, queue) {
  const p = `bull:${queue}:`;
  const [wait, prioritized, delayed] = await Promise.all([redis.llen(p + 'wait'), redis.zcard(p + 'prioritized'), redis.zcard(p + 'delayed')]);
  return wait + prioritized + delayed;
}

const cluster = await startCluster(3);
let redis;
try {
  redis = new Cluster(cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })), { redisOptions: { maxRetriesPerRequest: null } });
  const slots = await Promise.all([LEGACY, ...Object.values(OWNERS)].map((q) => redis.cluster('KEYSLOT', `bull:${q}:wait`)));
  log(`cluster ${cluster.url}; slots ${slots.join(', ')}`);
  let t = Date.now();
  await seed(redis);
  log(`seeded ${JOBS} jobs in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-bench-cluster-topo-'));
  writeFileSync(join(dir, 'queuectl.yaml'), topologyYaml());
  const args = [join(root, 'bin/queuectl'), '--redis', cluster.url, '-c', join(dir, 'queuectl.yaml'), '--json', 'migrate', '--from', LEGACY, '--yes', ...(BATCH ? ['--batch', BATCH] : [])];
  t = Date.now();
  const out = await run(process.execPath, args, { maxBuffer: 64 << 20, env: { ...process.env, NO_COLOR: '1' } }).catch((e) => e);
  const seconds = (Date.now() - t) / 1000;
  rmSync(dir, { recursive: true, force: true });
  if (out.code) throw new Error(`migrate exited ${out.code}: ${out.stderr}`);
  const doc = JSON.parse(out.stdout);
  const moved = Object.values(doc.moved).reduce((a, n) => a + n, 0);
  const inDestinations = (await Promise.all(Object.values(OWNERS).map((q) => counts(redis, q)))).reduce((a, n) => a + n, 0);
  const left = await counts(redis, LEGACY);
  const rate = Math.round(moved / seconds);
  const ok = moved === JOBS && inDestinations === JOBS && left === 0 && doc.verified;
  const result = { schema: 'queuectl/bench-cluster@1', jobs: JOBS, moved, seconds, jobsPerSec: rate, goal: GOAL, meetsGoal: rate >= GOAL, exact: ok };
  if (JSON_OUT) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    process.stdout.write(`cross-slot migrate (Redis Cluster, 3 masters, one hash tag per queue): ${moved} jobs in ${seconds.toFixed(2)} s = ${rate} jobs/s (goal >= ${GOAL}: ${rate >= GOAL ? 'met' : 'NOT met'})\n`);
    process.stdout.write(`exact: ${ok ? 'yes' : 'NO'} (moved ${moved}, in destinations ${inDestinations}, left ${left}, verified ${doc.verified})\n`);
  }
  process.exitCode = ok ? 0 : 1;
} finally {
  redis?.disconnect();
  await cluster.stop();
}
