import { spawn } from 'node:child_process';
import { Queue, Worker, createPostgresBackend, type Job } from 'bullmq';
import { bin, repoRoot } from './helpers/cli.js';
import pg from 'pg';
import { expect } from 'vitest';
import { bullConnection, client, uniqueName } from './helpers/redis.js';
import { journalWatch } from './helpers/journal.js';
import { tempFile } from './helpers/temp.js';
import { until } from './helpers/wait.js';
import { sql } from './helpers/postgres.js';

/**
 * Shared by the cross-server move tests (xmove*.test.ts): a legacy shared queue L on one end, the
 * per-family queues A (a.process) and B (b.second) on the other, real BullMQ Queues on both
 * backends, and a snapshot of every field of a job as BullMQ itself reads it back.
 */
export interface Names {
  legacy: string;
  a: string;
  b: string;
}

export function names(): Names {
  return { legacy: uniqueName('xl'), a: uniqueName('xa'), b: uniqueName('xb') };
}

export function topologyFile(n: Names): string {
  return tempFile('xmove', 'queuectl.yaml', `version: 1\nprefix: bull\nqueues:\n  ${n.a}: { jobs: [a.process], dedup: none }\n  ${n.b}: { jobs: [b.second], dedup: none }\nworkers:\n  w: { queues: [${n.a}, ${n.b}] }\nlegacy:\n  ${n.legacy}: { note: shared }\n`);
}

const opened: { close(): Promise<unknown> }[] = [];
const pgClients: pg.Client[] = [];
export async function closeAll(): Promise<void> {
  await Promise.allSettled(opened.splice(0).map((q) => q.close()));
  await Promise.allSettled(pgClients.splice(0).map((c) => c.end()));
}

export type Where = { kind: 'redis'; url: string } | { kind: 'postgres'; url: string };

export function queueOn(where: Where, name: string): Queue {
  const q =
    where.kind === 'redis'
      ? new Queue(name, { connection: bullConnection(where.url) })
      : new Queue(name, { connection: { connectionString: where.url, schema: 'bullmq' } as never }, createPostgresBackend as never);
  opened.push(q);
  return q;
}

export function workerOn(where: Where, name: string, processor: (job: Job) => Promise<unknown>, opts: Record<string, unknown> = {}): Worker {
  const w =
    where.kind === 'redis'
      ? new Worker(name, processor, { connection: bullConnection(where.url), ...opts })
      : new Worker(name, processor, { connection: { connectionString: where.url, schema: 'bullmq' } as never, ...opts }, createPostgresBackend as never);
  opened.push(w);
  return w;
}

/** Every field of a job as BullMQ reads it back, its state and logs (backend-neutral). */
export async function snapshot(queue: Queue, id: string) {
  const j = await queue.getJob(id);
  if (!j) return undefined;
  const { delay: _d, ...opts } = j.opts as Record<string, unknown>;
  return {
    name: j.name,
    data: j.data,
    opts,
    attemptsMade: j.attemptsMade,
    timestamp: j.timestamp,
    priority: j.priority || 0,
    processedOn: j.processedOn ?? null,
    finishedOn: j.finishedOn ?? null,
    failedReason: j.failedReason || null,
    stacktrace: j.stacktrace ?? [],
    returnvalue: j.returnvalue ?? null,
    progress: j.progress ?? 0,
    deduplicationId: j.deduplicationId ?? null,
    state: await j.getState(),
    logs: (await queue.getJobLogs(id)).logs,
  };
}

/** The due time of a delayed job, in ms: the Redis zset score / 4096, or PostgreSQL's process_at_ms. */
export async function dueAt(where: Where, queue: string, id: string): Promise<number> {
  if (where.kind === 'postgres') return Number((await sql(where.url, `SELECT process_at_ms FROM bullmq.job WHERE queue = $1 AND id = $2`, [queue, id]))[0].process_at_ms);
  const { Redis } = await import('ioredis');
  const c = new Redis(where.url);
  try {
    return Math.floor(Number(await c.zscore(`bull:${queue}:delayed`, id)) / 4096);
  } finally {
    c.disconnect();
  }
}

/** Ids in the order a worker takes them: wait (FIFO) and prioritized (by priority, then FIFO). */
export async function order(queue: Queue): Promise<{ wait: string[]; prioritized: string[] }> {
  const wait = (await queue.getJobs(['wait'], 0, -1, true)).map((j) => j!.id!);
  const prioritized = (await queue.getJobs(['prioritized'], 0, -1, true)).map((j) => j!.id!);
  return { wait, prioritized };
}

/**
 * Seeds L with a mix: automatic-id waiting jobs, custom ids with options, a job with logs and a
 * deduplication key, prioritized jobs, a delayed job, a failed one (failed by a real worker, with
 * attempts made, reason, stack trace, processed and finished times) and an unowned name.
 */
export async function seedMix(where: Where, n: Names): Promise<{ ids: string[]; failed: string; unowned: string }> {
  const q = queueOn(where, n.legacy);
  const failer = workerOn(where, n.legacy, async (job) => {
    await job.updateProgress(42);
    throw new Error('boom');
  });
  const failed = (await q.add('b.second', { fail: true }, { jobId: 'failed-1', attempts: 1 })).id!;
  await until(async () => (await q.getJobCounts('failed')).failed === 1, 'one failed job');
  await failer.close();
  const ids: string[] = [failed];
  for (let i = 0; i < 5; i++) ids.push((await q.add('a.process', { i, nested: { list: [1, 2, { x: 'y' }] } }))!.id!);
  const custom = await q.add('b.second', { sessionId: 's-1' }, { jobId: 'cust-1', attempts: 5, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: { count: 10 }, keepLogs: 5 });
  ids.push(custom.id!);
  const logged = await q.add('a.process', { logged: true }, { deduplication: { id: 'dd-1', ttl: 600_000 } });
  await logged.log('line one');
  await logged.log('line two');
  ids.push(logged.id!);
  for (const p of [3, 1, 2]) ids.push((await q.add('b.second', { p }, { priority: p, jobId: `p${p}` })).id!);
  ids.push((await q.add('a.process', { later: true }, { delay: 3_600_000, jobId: 'later' })).id!);
  const unowned = (await q.add('mystery', {}, { jobId: 'unowned-1' })).id!;
  return { ids, failed, unowned };
}

/** The built CLI as a child process (for kill -9 at observed progress). */
export function startMigrate(args: string[]) {
  const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1', QUEUECTL_URL: undefined, REDIS_URL: undefined }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => (stdout += d));
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, done, out: () => stdout, err: () => stderr };
}


/** How many jobs the journals of `legacy` on the source count as moved. */
export function progressOf(from: Where, legacy: string): () => Promise<number> {
  if (from.kind === 'redis') {
    const watch = journalWatch(client(from.url), legacy, { rescanMs: 200 });
    return () => watch.moved();
  }
  // One session, made again when a restart or a terminated backend ends it.
  let session: Promise<pg.Client> | undefined;
  const open = () => {
    const c = new pg.Client({ connectionString: from.url });
    c.on('error', () => undefined);
    pgClients.push(c);
    return c.connect().then(() => c);
  };
  let last = 0;
  return async () => {
    try {
      session ??= open();
      const c = await session;
      const r = await c.query(`SELECT COALESCE(sum(m.moved), 0)::int AS n FROM queuectl.migrate_moved m JOIN queuectl.migrate_run r ON r.id = m.run_id WHERE r.source = $1`, [legacy]);
      last = Number(r.rows[0].n);
    } catch (error) {
      if (!/does not exist/.test(String(error))) session = undefined;
    }
    return last;
  };
}

/** Workers on both destinations, counting each run of each job (by its data.n) into `runs`. */
export function consume(to: Where, n: Names, runs: Map<number, number>): void {
  for (const q of [n.a, n.b]) {
    const w = workerOn(to, q, async (job) => void runs.set(job.data.n, (runs.get(job.data.n) ?? 0) + 1), { concurrency: 4 });
    w.on('error', () => undefined);
  }
}

/** N jobs in the legacy queue (alternating names), and workers on both destinations counting each run. */
export async function seedAndConsume(from: Where, to: Where, n: Names, count = 300): Promise<Map<number, number>> {
  const legacy = queueOn(from, n.legacy);
  const jobs = Array.from({ length: count }, (_, i) => ({ name: i % 2 ? 'b.second' : 'a.process', data: { n: i }, opts: { removeOnComplete: true, ...(i % 7 === 0 ? { priority: 1 + (i % 5) } : {}) } }));
  for (let i = 0; i < jobs.length; i += 200) await legacy.addBulk(jobs.slice(i, i + 200));
  const runs = new Map<number, number>();
  consume(to, n, runs);
  return runs;
}

/** Every job ran once; nothing is left in the source, in flight, or waiting in the destinations. */
export async function expectExactlyOnce(from: Where, to: Where, n: Names, runs: Map<number, number>, count = 300): Promise<void> {
  await until(() => runs.size === count, `all ${count} jobs run (ran ${runs.size})`, 120_000, 100);
  for (const q of [n.a, n.b]) {
    const dq = queueOn(to, q);
    await until(async () => Object.values(await dq.getJobCounts('wait', 'prioritized', 'delayed', 'active')).every((c) => c === 0), `${q} drained`, 60_000, 100);
  }
  const twice = [...runs].filter(([, c]) => c !== 1);
  expect(twice, 'jobs run more than once').toEqual([]);
  expect([...runs.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
  const legacy = queueOn(from, n.legacy);
  expect(Object.values(await legacy.getJobCounts('wait', 'prioritized', 'delayed', 'active', 'failed')).every((c) => c === 0)).toBe(true);
  if (from.kind === 'redis') {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await client(from.url).scan(cursor, 'MATCH', 'bull:queuectl:xmove:*:j:*', 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    expect(keys.filter((k) => k.includes(n.legacy) || true).length, 'parked jobs left on the source').toBe(0);
  } else {
    const [{ held }] = await sql(from.url, `SELECT ((SELECT count(*) FROM bullmq.job WHERE queue LIKE 'queuectl:xmove:%') + (SELECT count(*) FROM queuectl.xmove_held))::int AS held`);
    expect(held, 'held jobs left on the source').toBe(0);
  }
}

