import { describe, expect, it, onTestFinished } from 'vitest';
import { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { redisDestination, tableMarkKey } from '../src/migrate/table-dest.js';
import type { OutboxEntry } from '../src/migrate/table-journal.js';
import { client, uniqueName } from './helpers/redis.js';

/**
 * The Redis destination of `migrate --from <table source>` (lua/table-add.lua) writes each job
 * as BullMQ 6's own add scripts do: the same hash, state, score, events, marker and counters as
 * BullMQ's Job.addJob writes for the same job in a twin queue; plus the row's last error, the
 * failed state of failed rows, the run's mark, and a refusal that writes nothing.
 */

const T = 1_700_000_000_000;
const entry = (seq: number, over: Partial<OutboxEntry>): OutboxEntry => ({
  seq, queue: 'a', jobId: `job-${seq}`, rowId: `row-${seq}`, name: 'SEND', data: JSON.stringify({ n: seq, text: 'x/y' }),
  opts: JSON.stringify({ attempts: 3, backoff: { type: 'exponential', delay: 5000 }, removeOnFail: 100 }), priority: 0, attempts: 3,
  runAtMs: null, timestampMs: T + seq, lastError: null, kind: 'run', ...over,
});

/** Outbox entries to run (wait, prioritized, delayed twice in one ms, a second queue) whose delay does not depend on the clock. */
const RUN: OutboxEntry[] = [
  entry(1, {}),
  entry(2, { priority: 3, opts: JSON.stringify({ attempts: 2, priority: 3 }) }),
  entry(3, { priority: 1, opts: JSON.stringify({ attempts: 2, priority: 1 }) }),
  entry(4, { runAtMs: T + 10 ** 10 }),
  entry(5, { runAtMs: T + 10 ** 10, timestampMs: T + 4 }),
  entry(6, { priority: 2, runAtMs: T + 2 * 10 ** 10, opts: JSON.stringify({ attempts: 1, priority: 2 }) }),
  entry(7, { queue: 'b', name: 'OTHER' }),
];

/** BullMQ's own add of the same job (what table-dest.ts called before table-add.lua). */
async function bullmqAdd(queues: Map<string, Queue>, e: OutboxEntry): Promise<void> {
  const q = queues.get(e.queue)!;
  const delay = e.runAtMs !== null && e.runAtMs > Date.now() ? e.runAtMs - e.timestampMs : 0;
  const opts = { ...JSON.parse(e.opts), timestamp: e.timestampMs, ...(delay > 0 ? { delay } : {}) };
  await new Job(q, e.name, JSON.parse(e.data), opts, e.jobId).addJob((await q.backend.client) as never);
}

/** Everything a queue holds, with what differs by design between two writes made apart taken out. */
async function snapshot(redis: Redis, prefix: string, queue: string) {
  const p = `${prefix}:${queue}:`;
  const jobs: Record<string, Record<string, unknown>> = {};
  for (const key of (await redis.keys(`${p}job-*`)).sort()) {
    const h: Record<string, unknown> = await redis.hgetall(key);
    h.opts = JSON.parse(String(h.opts)); // key order differs (BullMQ encodes through a Lua table)
    jobs[key.slice(p.length)] = h;
  }
  const prioritized = await redis.zrange(`${p}prioritized`, 0, -1, 'WITHSCORES');
  const events = (await redis.xrange(`${p}events`, '-', '+')).map(([, fields]) => fields.join(' '));
  return {
    jobs,
    wait: await redis.lrange(`${p}wait`, 0, -1),
    // priority·2^32 + the `pc` counter: the priority, and the order the counter gives.
    prioritized: prioritized.map((v, i) => (i % 2 === 0 ? v : String(Math.floor(Number(v) / 2 ** 32)))),
    delayed: await redis.zrange(`${p}delayed`, 0, -1, 'WITHSCORES'),
    marker: await redis.zrange(`${p}marker`, 0, -1, 'WITHSCORES'),
    events,
    id: await redis.get(`${p}id`),
    pc: await redis.get(`${p}pc`),
    meta: await redis.hgetall(`${p}meta`),
  };
}

describe('table move into BullMQ on Redis (table-add.lua)', () => {
  it('adds every job exactly as BullMQ 6 adds it, one script call per batch; an id the queue holds stays as it is', async () => {
    const redis = client();
    const ours = uniqueName('tda');
    const theirs = uniqueName('tdb');
    const queues = new Map(['a', 'b'].map((n) => [n, new Queue(n, { connection: redis as never, prefix: theirs })]));
    onTestFinished(async () => void (await Promise.allSettled([...queues.values()].map((q) => q.close()))));
    // The same job already in both queues under the id of entry 8.
    const held = new Queue('a', { connection: redis as never, prefix: ours });
    onTestFinished(() => held.close());
    for (const q of [held, queues.get('a')!]) await q.add('SEND', { held: true }, { jobId: 'job-8', timestamp: T });
    const all = [...RUN, entry(8, {})];

    for (const e of all) await bullmqAdd(queues, e);
    const dest = redisDestination(redis, ours, 'redis');
    const written = await dest.deliver('r1', all);

    expect(written).toEqual({ a: 7, b: 1 });
    for (const queue of ['a', 'b']) expect(await snapshot(redis, ours, queue), queue).toEqual(await snapshot(redis, theirs, queue));
    expect(await redis.hgetall(tableMarkKey(ours, 'r1'))).toEqual({ hwm: '8', 'queue:a': '7', 'queue:b': '1' });
  });

  it('keeps the last error, puts failed rows in the failed set, and writes nothing twice past the mark', async () => {
    const redis = client();
    const prefix = uniqueName('tdf');
    const dest = redisDestination(redis, prefix, 'redis');
    const entries = [entry(1, { lastError: 'timeout / upstream' }), entry(2, { kind: 'failed', lastError: 'gave up', attempts: 4, priority: 2 })];
    expect(await dest.deliver('r', entries)).toEqual({ a: 2 });
    const p = `${prefix}:a:`;
    const [lastError, stacktrace] = await redis.hmget(`${p}job-1`, 'failedReason', 'stacktrace');
    expect([lastError, JSON.parse(stacktrace!)]).toEqual(['timeout / upstream', ['timeout / upstream']]);
    expect(await redis.lrange(`${p}wait`, 0, -1)).toEqual(['job-1']);
    const [reason, atm, finishedOn] = await redis.hmget(`${p}job-2`, 'failedReason', 'atm', 'finishedOn');
    expect([reason, atm]).toEqual(['gave up', '4']);
    expect(await redis.zscore(`${p}failed`, 'job-2')).toBe(finishedOn);
    expect(await redis.zcard(`${p}prioritized`)).toBe(0);
    const events = (await redis.xrange(`${p}events`, '-', '+')).map(([, f]) => `${f[1]} ${f[3]}`);
    expect(events).toEqual(['added job-1', 'waiting job-1', 'added job-2', 'waiting job-2', 'failed job-2']);

    // A rerun after a crash before the outbox settled, once a worker ran job-1 and removed it.
    await redis.del(`${p}job-1`);
    await redis.lrem(`${p}wait`, 0, 'job-1');
    expect(await dest.deliver('r', entries)).toEqual({});
    expect(await redis.exists(`${p}job-1`)).toBe(0);
    expect(await redis.xlen(`${p}events`)).toBe(5);
    // The next batch goes on from the mark.
    expect(await dest.deliver('r', [...entries, entry(3, {})])).toEqual({ a: 1 });
    expect(await redis.hget(tableMarkKey(prefix, 'r'), 'hwm')).toBe('3');
  });

  it('refuses the whole batch when a key it writes has the wrong type, and writes nothing', async () => {
    const redis = client();
    const prefix = uniqueName('tdw');
    await redis.set(`${prefix}:b:events`, 'not a stream');
    const dest = redisDestination(redis, prefix, 'redis');
    await expect(dest.deliver('r', [entry(1, {}), entry(2, { queue: 'b' })])).rejects.toThrow(`${prefix}:b:events is a string, where BullMQ keeps a stream`);
    expect((await redis.keys(`${prefix}:*`)).sort()).toEqual([`${prefix}:b:events`]);
  });
});
