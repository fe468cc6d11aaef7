import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { bullConnection } from './helpers/redis.js';

/** Polls until check() holds (BullMQ state settles asynchronously). */
export async function until(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting for BullMQ state');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Adds jobs and runs a real worker that fails every one (its last attempt), then closes it. */
export async function failJobs(prefix: string, queueName: string, jobs: { name: string; id?: string; data: Record<string, unknown>; reason?: string }[]): Promise<void> {
  const connection = bullConnection();
  const queue = new Queue(queueName, { connection, prefix });
  const worker = new Worker(queueName, async (job: Job) => {
    throw new Error(String(job.data.reason ?? 'boom'));
  }, { connection, prefix, concurrency: 5 });
  try {
    for (const job of jobs) await queue.add(job.name, { ...job.data, reason: job.reason ?? 'boom' }, { jobId: job.id, attempts: 1 });
    const ids = jobs.length;
    await until(async () => (await queue.getFailedCount()) >= ids);
  } finally {
    await worker.close();
    await queue.close();
  }
}

/** Deletes every key under a test file's own prefix (SCAN, never KEYS; never a flush of a shared server). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** Seeds failed jobs fast with raw BullMQ-shaped hashes (for bulk tests). */
export async function seedFailed(redis: Redis, prefix: string, queue: string, n: number, name = 'work'): Promise<string[]> {
  const ids: string[] = [];
  const now = Date.now();
  const pipeline = redis.pipeline();
  for (let i = 0; i < n; i++) {
    const id = `job-${i}`;
    ids.push(id);
    const key = `${prefix}:${queue}:${id}`;
    pipeline.hset(key, 'name', name, 'data', JSON.stringify({ n: i }), 'opts', '{"attempts":1}', 'timestamp', now - n + i,
      'delay', 0, 'priority', 0, 'atm', 1, 'ats', 1, 'failedReason', 'seeded', 'stacktrace', '["Error: seeded"]', 'processedOn', now - n + i, 'finishedOn', now - n + i);
    pipeline.zadd(`${prefix}:${queue}:failed`, now - n + i, id);
  }
  await pipeline.exec();
  return ids;
}

/** A worker that completes every job; returns the ids it ran (with repeats, to catch duplicates). */
export function succeedingWorker(prefix: string, queueName: string): { worker: Worker; ran: string[] } {
  const ran: string[] = [];
  const worker = new Worker(queueName, async (job: Job) => {
    ran.push(job.id!);
    return 'ok';
  }, { connection: bullConnection(), prefix, concurrency: 10 });
  return { worker, ran };
}

/** Runs a succeeding worker until job `id` is in the completed set; returns every id it ran (repeats too). */
export async function runUntilCompleted(redis: Redis, prefix: string, queueName: string, id: string): Promise<string[]> {
  const { worker, ran } = succeedingWorker(prefix, queueName);
  await until(async () => (await redis.zscore(`${prefix}:${queueName}:completed`, id)) !== null);
  await worker.close();
  return ran;
}
