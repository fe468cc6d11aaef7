import { FlowProducer, Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { expect } from 'vitest';
import type { Redis, RedisCommander } from 'ioredis';
import type { Topology } from '../src/topology/types.js';
import { bullConnection, uniqueName } from './helpers/redis.js';
import { until } from './helpers/wait.js';

/** A legacy queue L shared by names a.process and b.second, now owned by queues A and B. */
export interface Fixture {
  prefix: string;
  legacy: string;
  a: string;
  b: string;
  topology: Topology;
  yaml: string;
  /** Releases the job the legacy worker holds (it stays active until then). */
  release(): void;
  close(): Promise<void>;
  legacyQueue: Queue;
  /** Ids per expected outcome. */
  expected: MixExpected;
}

export function topologyFor(legacy: string, a: string, b: string, prefix = 'bull'): Topology {
  return {
    version: 1,
    prefix,
    queues: { [a]: { name: a, jobs: ['a.process'] }, [b]: { name: b, jobs: ['b.second'] } },
    workers: {},
    legacy: { [legacy]: { name: legacy } },
  };
}

export function yamlFor(legacy: string, a: string, b: string): string {
  return `version: 1\nprefix: bull\nqueues:\n  ${a}: { jobs: [a.process], dedup: none }\n  ${b}: { jobs: [b.second], dedup: none }\nworkers:\n  w: { queues: [${a}, ${b}] }\nlegacy:\n  ${legacy}: { note: shared }\n`;
}

/** Ids per expected outcome of migrating a legacy mix to A and B. */
export interface MixExpected { toA: string[]; toB: string[]; failed: string[]; delayedSoon: string[]; collision: string; unowned: string[]; dedupJob: string; logJob: string }

/** A seeded legacy queue (see seedLegacyMix), the job its worker holds, and how to close it all. */
export interface LegacyMix {
  queue: Queue;
  expected: MixExpected;
  /** Releases the job the legacy worker holds (it stays active until then). */
  release(): void;
  close(): Promise<void>;
}

/**
 * Fills a legacy queue with a mix: failed, one active (held by a real worker), waiting numeric and
 * custom ids (`perName` of each name, the numeric ones with `data` beside their index), prioritized,
 * delayed (some due after `soonDelay` ms), a log, a deduplication key, an unowned name, a flow, a
 * scheduler, and one id that already exists in destination `b`. Single node or cluster alike.
 */
export async function seedLegacyMix(connection: ConnectionOptions, legacy: string, b: string, options: { perName: number; soonDelay: number; data?: Record<string, unknown> }): Promise<LegacyMix> {
  const q = new Queue(legacy, { connection });
  const closers: (() => Promise<unknown>)[] = [() => q.close()];
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const worker = new Worker(legacy, async (job: Job) => {
    if (job.data.fail) throw new Error('boom');
    if (job.data.block) await held;
  }, { connection, concurrency: 1 });
  closers.unshift(() => worker.close());
  for (let i = 0; i < 3; i++) await q.add('a.process', { fail: true, i }, { attempts: 1 });
  await until(async () => (await q.getFailedCount()) === 3, '3 failed jobs');
  await q.add('a.process', { block: true });
  await until(async () => (await q.getActiveCount()) === 1, 'an active job');
  const failed = (await q.getFailed()).map((j) => j.id!);

  const toA: string[] = [];
  const toB: string[] = [];
  const n = options.perName;
  for (let i = 0; i < n; i++) toA.push((await q.add('a.process', { i, ...options.data }, { attempts: 3, backoff: { type: 'fixed', delay: 10 } })).id!);
  for (let i = 0; i < n; i++) toB.push((await q.add('b.second', { i }, { jobId: `b-${i}` })).id!);
  for (let i = 1; i <= 5; i++) toA.push((await q.add('a.process', { p: i }, { priority: i })).id!);
  const delayedSoon: string[] = [];
  for (let i = 0; i < 3; i++) {
    const id = (await q.add('b.second', { d: i }, { jobId: `soon-${i}`, delay: options.soonDelay })).id!;
    delayedSoon.push(id);
    toB.push(id);
  }
  for (let i = 0; i < 2; i++) toB.push((await q.add('b.second', { d: i }, { jobId: `later-${i}`, delay: 60_000 })).id!);
  const logJob = (await q.add('a.process', { logged: true }))!;
  await logJob.log('first line');
  await logJob.log('second line');
  toA.push(logJob.id!);
  const dedupJob = (await q.add('b.second', { dedup: true }, { jobId: 'dedup-1', deduplication: { id: 'dd1', ttl: 60_000 } })).id!;
  toB.push(dedupJob);
  const unowned = [(await q.add('c.nobody', {})).id!, (await q.add('c.nobody', {})).id!];
  // A flow: parent in waiting-children, child in wait with a parentKey; neither may move.
  const flows = new FlowProducer({ connection });
  closers.push(() => flows.close());
  await flows.add({ name: 'a.process', queueName: legacy, data: {}, children: [{ name: 'b.second', queueName: legacy, data: {} }] });
  await q.upsertJobScheduler(`sched-${legacy}`, { every: 60_000 }, { name: 'a.process', data: {} });
  // The destination already holds b-0: that job must be refused, never overwritten.
  const qb = new Queue(b, { connection });
  closers.push(() => qb.close());
  await qb.add('b.second', { original: true }, { jobId: 'b-0' });
  toB.splice(toB.indexOf('b-0'), 1);

  return {
    queue: q,
    expected: { toA, toB, failed, delayedSoon, collision: 'b-0', unowned, dedupJob, logJob: logJob.id! },
    release,
    async close() {
      release();
      for (const close of closers) await close().catch(() => undefined);
    },
  };
}

/** A single-node legacy mix (seedLegacyMix): 40 jobs per name, or 5 when small; some due in ~1 s. */
export async function buildFixture(options: { small?: boolean } = {}): Promise<Fixture> {
  const legacy = uniqueName('legacy');
  const a = uniqueName('qa');
  const b = uniqueName('qb');
  const mix = await seedLegacyMix(bullConnection(), legacy, b, { perName: options.small ? 5 : 40, soonDelay: 1000 });
  return {
    prefix: 'bull',
    legacy,
    a,
    b,
    topology: topologyFor(legacy, a, b),
    yaml: yamlFor(legacy, a, b),
    release: mix.release,
    legacyQueue: mix.queue,
    expected: mix.expected,
    close: mix.close,
  };
}

/** Every job hash (and its logs) of the given ids under a queue. */
export async function snapshot(redis: Redis, prefix: string, queue: string, ids: string[]): Promise<Map<string, { hash: Record<string, string>; logs: string[] }>> {
  const out = new Map<string, { hash: Record<string, string>; logs: string[] }>();
  for (const id of ids) {
    out.set(id, { hash: await redis.hgetall(`${prefix}:${queue}:${id}`), logs: await redis.lrange(`${prefix}:${queue}:${id}:logs`, 0, -1) });
  }
  return out;
}

/** Where the legacy mix stood before a move: A's wait order, B's delayed due times, the dedup TTL. */
export interface Placement { waitOrderA: string[]; delayedScores: Map<string, string>; dedupTtl: number }

/** Reads the Placement of a legacy mix (single node or cluster: one key per call). */
export async function readPlacement(redis: RedisCommander, f: { legacy: string; expected: MixExpected }): Promise<Placement> {
  const waitOrderA = (await redis.lrange(`bull:${f.legacy}:wait`, 0, -1)).filter((id) => f.expected.toA.includes(id));
  const delayedScores = new Map<string, string>();
  for (const id of f.expected.toB) {
    const score = await redis.zscore(`bull:${f.legacy}:delayed`, id);
    if (score !== null) delayedScores.set(id, score);
  }
  return { waitOrderA, delayedScores, dedupTtl: await redis.pttl(`bull:${f.legacy}:de:dd1`) };
}

/**
 * After a move of the legacy mix: same order in A's wait, same due times in B's delayed, failed kept
 * as failed, the deduplication key followed its job with its TTL, and the collision was refused
 * (B's own b-0 intact).
 */
export async function expectPlacementKept(redis: RedisCommander, f: { legacy: string; a: string; b: string; expected: MixExpected }, before: Placement): Promise<void> {
  expect((await redis.lrange(`bull:${f.a}:wait`, 0, -1)).filter((id) => before.waitOrderA.includes(id))).toEqual(before.waitOrderA);
  for (const [id, score] of before.delayedScores) expect(await redis.zscore(`bull:${f.b}:delayed`, id)).toBe(score);
  expect(await redis.zcard(`bull:${f.a}:failed`)).toBe(3);
  expect(await redis.get(`bull:${f.b}:de:dd1`)).toBe(f.expected.dedupJob);
  expect(await redis.exists(`bull:${f.legacy}:de:dd1`)).toBe(0);
  const ttl = await redis.pttl(`bull:${f.b}:de:dd1`);
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThanOrEqual(before.dedupTtl);
  expect(JSON.parse((await redis.hget(`bull:${f.b}:b-0`, 'data'))!)).toEqual({ original: true });
}

/**
 * Real workers on A and B after a move: every waiting, prioritized and soon-due job (plus the fresh
 * job added to A and B's own b-0) runs exactly once, nothing else runs, and no delayed job runs
 * before its due time. Waits up to `ms` for them all, then until A and B have nothing left to run
 * (only far-delayed jobs): a job queued twice has run twice by then.
 */
export async function expectEachRunOnce(connection: ConnectionOptions, f: { a: string; b: string; expected: MixExpected }, freshId: string, before: Placement, options: { ms: number }): Promise<void> {
  const runs = new Map<string, number>();
  const ranAt = new Map<string, number>();
  const processor = async (job: { id?: string; queueName: string }) => {
    const k = `${job.queueName}/${job.id}`;
    runs.set(k, (runs.get(k) ?? 0) + 1);
    ranAt.set(k, Date.now());
  };
  const workers = [new Worker(f.a, processor, { connection }), new Worker(f.b, processor, { connection })];
  const expectRun = [...f.expected.toA.map((id) => `${f.a}/${id}`), ...f.expected.toB.filter((id) => !id.startsWith('later-')).map((id) => `${f.b}/${id}`), `${f.a}/${freshId}`, `${f.b}/b-0`];
  const deadline = Date.now() + options.ms;
  while (expectRun.some((k) => !runs.has(k)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const queues = [new Queue(f.a, { connection }), new Queue(f.b, { connection })];
  try {
    const idle = async () => (await Promise.all(queues.map((q) => q.getJobCounts('wait', 'prioritized', 'active')))).every((c) => Object.values(c).every((n) => n === 0));
    await until(idle, 'A and B to have nothing left to run', options.ms);
  } finally {
    await Promise.all([...workers.map((w) => w.close()), ...queues.map((q) => q.close())]);
  }
  expect(expectRun.filter((k) => runs.get(k) !== 1)).toEqual([]);
  expect([...runs.keys()].filter((k) => !expectRun.includes(k))).toEqual([]);
  for (const id of f.expected.delayedSoon) {
    const due = Math.floor(Number(before.delayedScores.get(id)) / 4096);
    expect(ranAt.get(`${f.b}/${id}`)!).toBeGreaterThanOrEqual(due);
  }
}
