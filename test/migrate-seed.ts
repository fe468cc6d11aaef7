import type { Redis } from 'ioredis';

/** The job states a seeded legacy queue holds, as BullMQ 6.7.0 keys them. */
export type SeedState = 'wait' | 'prioritized' | 'delayed' | 'failed';
const ZSETS: SeedState[] = ['prioritized', 'delayed', 'failed'];
export const SEED_STATES: SeedState[] = ['wait', 'prioritized', 'delayed', 'failed'];

export interface SeededJob {
  id: string;
  name: string;
  data: string;
  state: SeedState;
  /** The zset score (prioritized, delayed, failed). */
  score?: string;
}

export interface SeedOptions {
  prefix?: string;
  queue: string;
  jobs: number;
  /** Job names, used round-robin; `unowned` more jobs get the name `c.nobody`. */
  names: string[];
  unowned?: number;
}

/**
 * Writes a legacy queue of `jobs` jobs the way BullMQ 6.7.0 leaves one, in pipelined raw writes
 * (50k jobs in about a second): half numeric ids, half custom; mostly waiting, some prioritized,
 * delayed (an hour out) and failed. Returns every job so a test can check each one afterwards.
 */
export async function seedLegacy(redis: Redis, options: SeedOptions): Promise<Map<string, SeededJob>> {
  const prefix = options.prefix ?? 'bull';
  const key = (s: string) => `${prefix}:${options.queue}:${s}`;
  const now = Date.now();
  const jobs = new Map<string, SeededJob>();
  const total = options.jobs + (options.unowned ?? 0);
  let numeric = 0;
  let pipe = redis.pipeline();
  const waitIds: string[] = [];
  const zadds: Record<string, (string | number)[]> = { prioritized: [], delayed: [], failed: [] };
  for (let i = 1; i <= total; i++) {
    const name = i > options.jobs ? 'c.nobody' : options.names[i % options.names.length];
    const id = i % 2 === 0 ? `job-${i}` : String(++numeric);
    const slot = i % 10;
    const state: SeedState = slot < 6 ? 'wait' : slot < 8 ? 'prioritized' : slot === 8 ? 'delayed' : 'failed';
    const priority = state === 'prioritized' ? 1 + (i % 7) : 0;
    const delay = state === 'delayed' ? 3_600_000 : 0;
    const data = JSON.stringify({ sessionId: `s${i}`, fileId: `f${i}`, i });
    const fields: (string | number)[] = ['name', name, 'data', data, 'opts', JSON.stringify({ attempts: 3, priority, delay }), 'timestamp', now - total + i, 'delay', delay, 'priority', priority];
    let score: string | undefined;
    if (state === 'wait') waitIds.push(id);
    else {
      score = String(state === 'prioritized' ? priority * 2 ** 32 + i : state === 'delayed' ? (now + delay + i) * 4096 + (i % 4096) : now - i);
      zadds[state].push(score, id);
      if (state === 'failed') fields.push('atm', 3, 'ats', 3, 'finishedOn', now - i, 'processedOn', now - i - 5, 'failedReason', 'boom', 'stacktrace', '["Error: boom"]');
    }
    pipe.hset(key(id), ...fields);
    jobs.set(id, { id, name, data, state, score });
    if (i % 2000 === 0) {
      if (waitIds.length) pipe.lpush(key('wait'), ...waitIds.splice(0));
      for (const s of ZSETS) if (zadds[s].length) pipe.zadd(key(s), ...zadds[s].splice(0));
      await pipe.exec();
      pipe = redis.pipeline();
    }
  }
  if (waitIds.length) pipe.lpush(key('wait'), ...waitIds);
  for (const s of ZSETS) if (zadds[s].length) pipe.zadd(key(s), ...zadds[s]);
  pipe.hset(key('meta'), 'opts.maxLenEvents', 10000, 'version', 'bullmq:6.7.0');
  pipe.set(key('id'), numeric);
  pipe.set(key('pc'), total);
  await pipe.exec();
  return jobs;
}

/** Where each job id is now: queue and state, every occurrence (duplicates show up as two). */
export async function locateAll(redis: Redis, prefix: string, queues: string[]): Promise<Map<string, { queue: string; state: SeedState; score?: string }[]>> {
  const where = new Map<string, { queue: string; state: SeedState; score?: string }[]>();
  const add = (id: string, at: { queue: string; state: SeedState; score?: string }) => {
    const list = where.get(id) ?? [];
    list.push(at);
    where.set(id, list);
  };
  for (const queue of queues) {
    for (const id of await redis.lrange(`${prefix}:${queue}:wait`, 0, -1)) add(id, { queue, state: 'wait' });
    for (const state of ZSETS) {
      const flat = await redis.zrange(`${prefix}:${queue}:${state}`, 0, -1, 'WITHSCORES');
      for (let i = 0; i < flat.length; i += 2) add(flat[i], { queue, state, score: flat[i + 1] });
    }
  }
  return where;
}

/**
 * locateAll where a test made a state key the wrong type: such a key is renamed aside while the
 * others are read (same hash tag, so it works on a cluster too), then put back.
 */
export async function locateAround(redis: Redis, prefix: string, queues: string[]): ReturnType<typeof locateAll> {
  const aside: string[] = [];
  for (const queue of queues) {
    for (const state of SEED_STATES) {
      const key = `${prefix}:${queue}:${state}`;
      const type = await redis.type(key);
      if (type !== 'none' && type !== (state === 'wait' ? 'list' : 'zset')) {
        await redis.rename(key, `${key}:aside`);
        aside.push(key);
      }
    }
  }
  try {
    return await locateAll(redis, prefix, queues);
  } finally {
    for (const key of aside) await redis.rename(`${key}:aside`, key);
  }
}

/** name and data of each id's hash under a queue, read in pipelines. */
export async function readHashes(redis: Redis, prefix: string, queue: string, ids: string[]): Promise<Map<string, { name: string | null; data: string | null; priority: string | null }>> {
  const out = new Map<string, { name: string | null; data: string | null; priority: string | null }>();
  for (let i = 0; i < ids.length; i += 5000) {
    const chunk = ids.slice(i, i + 5000);
    const pipe = redis.pipeline();
    for (const id of chunk) pipe.hmget(`${prefix}:${queue}:${id}`, 'name', 'data', 'priority');
    const replies = (await pipe.exec()) ?? [];
    chunk.forEach((id, k) => {
      const [name, data, priority] = replies[k][1] as (string | null)[];
      out.set(id, { name, data, priority });
    });
  }
  return out;
}
