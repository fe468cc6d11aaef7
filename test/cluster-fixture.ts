import { FlowProducer, Queue, Worker, type Job } from 'bullmq';
import type { Cluster } from 'ioredis';
import { clusterClient, uniqueName } from './helpers/redis.js';
import { topologyFor } from './migrate-fixture.js';
import type { Topology } from '../src/topology/types.js';

/** Queue names with their own hash tag, drawn until legacy, a and b sit in three different slots. */
export async function taggedNames(redis: Cluster): Promise<{ legacy: string; a: string; b: string }> {
  for (;;) {
    const names = { legacy: `{${uniqueName('legacy')}}`, a: `{${uniqueName('qa')}}`, b: `{${uniqueName('qb')}}` };
    const slots = await Promise.all(Object.values(names).map((n) => redis.cluster('KEYSLOT', `bull:${n}:wait`)));
    if (new Set(slots).size === 3) return names;
  }
}

export interface ClusterFixture {
  legacy: string;
  a: string;
  b: string;
  topology: Topology;
  expected: { toA: string[]; toB: string[]; failed: string[]; delayedSoon: string[]; unowned: string[]; collision: string; dedupJob: string; logJob: string };
  close(): Promise<void>;
}

async function until(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A legacy queue on the cluster with a mix like test/migrate-fixture.ts: failed, one active job,
 * waiting numeric and custom ids, prioritized, delayed (some due in ~1.5 s), logs, a deduplication
 * key, an unowned name, a flow, a scheduler, and an id the destination already holds.
 */
export async function buildClusterFixture(): Promise<ClusterFixture> {
  const connection = clusterClient();
  const { legacy, a, b } = await taggedNames(connection);
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
  for (let i = 0; i < 30; i++) toA.push((await q.add('a.process', { i, text: 'é ✓ \u0000 bytes' }, { attempts: 3, backoff: { type: 'fixed', delay: 10 } })).id!);
  for (let i = 0; i < 30; i++) toB.push((await q.add('b.second', { i }, { jobId: `b-${i}` })).id!);
  for (let i = 1; i <= 5; i++) toA.push((await q.add('a.process', { p: i }, { priority: i })).id!);
  const delayedSoon: string[] = [];
  for (let i = 0; i < 3; i++) delayedSoon.push((await q.add('b.second', { d: i }, { jobId: `soon-${i}`, delay: 1500 })).id!);
  toB.push(...delayedSoon);
  for (let i = 0; i < 2; i++) toB.push((await q.add('b.second', { d: i }, { jobId: `later-${i}`, delay: 60_000 })).id!);
  const logJob = await q.add('a.process', { logged: true });
  await logJob.log('first line');
  await logJob.log('second line');
  toA.push(logJob.id!);
  const dedupJob = (await q.add('b.second', { dedup: true }, { jobId: 'dedup-1', deduplication: { id: 'dd1', ttl: 60_000 } })).id!;
  toB.push(dedupJob);
  const unowned = [(await q.add('c.nobody', {})).id!, (await q.add('c.nobody', {})).id!];
  const flows = new FlowProducer({ connection });
  closers.push(() => flows.close());
  await flows.add({ name: 'a.process', queueName: legacy, data: {}, children: [{ name: 'b.second', queueName: legacy, data: {} }] });
  await q.upsertJobScheduler(`sched-${legacy}`, { every: 60_000 }, { name: 'a.process', data: {} });
  const qb = new Queue(b, { connection });
  closers.push(() => qb.close());
  await qb.add('b.second', { original: true }, { jobId: 'b-0' });
  toB.splice(toB.indexOf('b-0'), 1);

  return {
    legacy,
    a,
    b,
    topology: topologyFor(legacy, a, b),
    expected: { toA, toB, failed, delayedSoon, unowned, collision: 'b-0', dedupJob, logJob: logJob.id! },
    async close() {
      release();
      for (const close of closers) await close().catch(() => undefined);
    },
  };
}

/** Each job's hash and logs (cluster-safe: one key at a time). */
export async function snapshotJobs(redis: Cluster, queue: string, ids: string[]): Promise<Map<string, { hash: Record<string, string>; logs: string[] }>> {
  const out = new Map<string, { hash: Record<string, string>; logs: string[] }>();
  for (const id of ids) out.set(id, { hash: await redis.hgetall(`bull:${queue}:${id}`), logs: await redis.lrange(`bull:${queue}:${id}:logs`, 0, -1) });
  return out;
}

export function clusterYaml(legacy: string, a: string, b: string, prefix = 'bull'): string {
  return `version: 1\nprefix: "${prefix}"\nqueues:\n  "${a}": { jobs: [a.process], dedup: none }\n  "${b}": { jobs: [b.second], dedup: none }\nworkers:\n  w: { queues: ["${a}", "${b}"] }\nlegacy:\n  "${legacy}": { note: shared }\n`;
}

/** Every key on every master matching a pattern (SCAN, never KEYS). */
export async function scanAll(redis: Cluster, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  for (const node of redis.nodes('master')) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
  }
  return keys;
}
