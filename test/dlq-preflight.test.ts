import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { client, uniqueName } from './helpers/redis.js';
import { testContext } from './helpers/context.js';
import { deletePrefix, seedFailed } from './dlq-helpers.js';
import { run as retry } from '../src/commands/dlq-retry.js';
import { run as discard } from '../src/commands/dlq-discard.js';
import { applyDiscard, applyRetry } from '../src/dlq/apply.js';
import { collectItems } from '../src/dlq/read.js';
import { planRetry } from '../src/dlq/plan.js';
import { dlqSources } from '../src/dlq/sources.js';

// Issue 13.1: Redis does not roll back a script that fails after its first write. Every dlq script
// checks each key it touches first; one wrong-type key (or bad value) refuses the batch whole, and
// the plan reports it. Each case corrupts one key and proves every item is exactly where it was.
const prefix = uniqueName('p');
let redis: Redis;
const N = 100;

beforeAll(() => {
  redis = client();
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
});

/** Every key under the queues with its type and content: equal before and after = nothing moved, nothing written. */
async function snapshot(...queues: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const queue of queues) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:${queue}:*`, 'COUNT', 1000);
      for (const key of keys) out[key] = await contentOf(key);
      cursor = next;
    } while (cursor !== '0');
  }
  return out;
}

async function contentOf(key: string): Promise<string> {
  const type = await redis.type(key);
  const read: Record<string, () => Promise<unknown>> = {
    string: () => redis.get(key),
    list: () => redis.lrange(key, 0, -1),
    zset: () => redis.zrange(key, 0, -1, 'WITHSCORES'),
    hash: async () => Object.entries(await redis.hgetall(key)).sort(),
    stream: () => redis.xrange(key, '-', '+'),
    set: async () => (await redis.smembers(key)).sort(),
  };
  return `${type} ${JSON.stringify(await read[type]?.())}`;
}

type Corrupt = (key: string) => Promise<unknown>;
const asString: Corrupt = async (key) => redis.set(key, 'not-bullmq');
const asHash: Corrupt = async (key) => (await redis.del(key), redis.hset(key, 'x', '1'));
const field = (name: string, value: string): Corrupt => async (key) => redis.hset(key, name, value);

/** [key suffix, corruption, what the one line says about it] */
type Case = [string, Corrupt, RegExp];
const typeCase = (suffix: string, corrupt: Corrupt, found: string, expected: string): Case => [suffix, corrupt, new RegExp(`:${suffix} is a ${found} where BullMQ keeps a ${expected}`)];

function expectOneLine(error: { exitCode?: number; message: string }, key: string) {
  expect(error.exitCode).toBe(3);
  expect(error.message).toContain(key);
  expect(error.message).not.toContain('\n');
}

/** 100 failed jobs, every other one prioritized (so `pc`/`prioritized` are touched too). */
async function seedFailedQueue(q: string): Promise<void> {
  await seedFailed(redis, prefix, q, N);
  const pipeline = redis.pipeline();
  for (let i = 1; i < N; i += 2) pipeline.hset(`${prefix}:${q}:job-${i}`, 'priority', 5, 'opts', '{"attempts":1,"priority":5}');
  await pipeline.exec();
}

describe('retry-failed.lua: a bad key of the queue refuses the batch whole', () => {
  const cases: Case[] = [
    typeCase('wait', asString, 'string', 'list'),
    typeCase('pc', asHash, 'hash', 'string'),
    typeCase('events', asString, 'string', 'stream'),
    typeCase('marker', asString, 'string', 'zset'),
    typeCase('meta', asString, 'string', 'hash'),
    typeCase('active', asString, 'string', 'list'),
    typeCase('prioritized', asString, 'string', 'zset'),
    ['pc', asString, /:pc holds string "not-bullmq" where BullMQ keeps an integer/],
    ['meta', field('opts.maxLenEvents', 'lots'), /:meta holds field opts.maxLenEvents "lots" where BullMQ keeps a whole number/],
    ['meta', field('concurrency', 'many'), /:meta holds field concurrency "many" where BullMQ keeps a number/],
    typeCase('job-50', asString, 'string', 'hash'),
  ];
  it.each(cases)('%s: retry exits 3 naming it, the plan reports it, the script refuses it; no job moves', async (suffix, corrupt, says) => {
    const q = uniqueName('qf');
    const yaml = `version: 1\nprefix: "${prefix}"\nqueues:\n  ${q}: { jobs: [work], attempts: 1, deadLetter: failed }\nworkers:\n  w: { queues: [${q}] }\n`;
    await seedFailedQueue(q);
    const key = `${prefix}:${q}:${suffix}`;
    await corrupt(key);
    const before = await snapshot(q);

    const error = await retry({ all: true }, testContext({ yaml, yes: true }).ctx).catch((e) => e);
    expectOneLine(error, key);
    expect(error.message).toMatch(says);
    expect(error.message).toContain('nothing retried');
    const dry = testContext({ yaml, json: true });
    expect(await retry({ all: true, dryRun: true }, dry.ctx)).toBe(1);
    expect(dry.json().blocking).toEqual([expect.objectContaining({ key })]);
    // The script's own check (a key changed between plan and apply): same refusal, nothing written.
    const items = await collectItems({ client: redis, mode: 'single', masters: [] } as never, prefix, [{ style: 'failed', queue: q }], { filters: {} });
    expect(items).toHaveLength(N);
    const apply = applyRetry(planRetry(items, { queues: {}, legacy: {} } as never).items, { client: redis, prefix, topology: { queues: {}, legacy: {} } as never, who: 't@h' });
    await expect(apply).rejects.toMatchObject({ exitCode: 3, message: expect.stringMatching(says) });
    expect(await snapshot(q)).toEqual(before);
    expect(await redis.zcard(`${prefix}:${q}:failed`)).toBe(N);
  });

  it('a failed set of the wrong type is a blocking problem of the plan, not an empty set', async () => {
    const q = uniqueName('qf');
    const yaml = `version: 1\nprefix: "${prefix}"\nqueues:\n  ${q}: { jobs: [work], attempts: 1, deadLetter: failed }\nworkers:\n  w: { queues: [${q}] }\n`;
    await redis.set(`${prefix}:${q}:failed`, 'x');
    const dry = testContext({ yaml, json: true });
    expect(await retry({ all: true, dryRun: true }, dry.ctx)).toBe(1);
    expect(dry.json().blocking).toEqual([{ key: `${prefix}:${q}:failed`, found: 'string', expected: 'zset' }]);
    const error = await retry({ all: true }, testContext({ yaml, yes: true }).ctx).catch((e) => e);
    expectOneLine(error, `${prefix}:${q}:failed`);
  });
});

/** A dead-letter queue of 100 items in the default shape, feeding queue `t`; every other one carries a priority. */
async function seedDeadLetters(dlq: string, t: string, shape: 'default' | 'foreign' = 'default'): Promise<void> {
  const pipeline = redis.pipeline();
  const now = Date.now();
  for (let i = 0; i < N; i++) {
    const opts = i % 2 ? { priority: 3 } : {};
    const data = shape === 'default'
      ? { originalQueue: t, originalJobId: `j-${i}`, jobData: { n: i }, error: { message: 'boom' }, attempts: 3, failedAt: now - N + i, opts }
      : { originalQueue: t, originalJobId: `j-${i}`, originalName: 'work', originalData: { n: i }, failedReason: 'boom', failedAt: new Date(now - N + i).toISOString(), attemptsMade: 3, originalOpts: opts };
    pipeline.hset(`${prefix}:${dlq}:${i + 1}`, 'name', 'dead-letter', 'data', JSON.stringify(data), 'opts', '{}', 'timestamp', now - N + i, 'delay', 0, 'priority', 0);
    pipeline.lpush(`${prefix}:${dlq}:wait`, String(i + 1));
  }
  await pipeline.exec();
}

const dlqYaml = (t: string, dlq: string) => `version: 1
prefix: "${prefix}"
queues:
  ${t}: { jobs: [work], attempts: 2, deadLetter: { queue: ${dlq}, fields: { queue: originalQueue, id: originalJobId, name: originalName, data: originalData, reason: failedReason, failedAt: failedAt, attempts: attemptsMade, opts: originalOpts } } }
  ${dlq}: { jobs: [dead-letter], attempts: 1, dedup: none, deadLetter: failed }
workers:
  w: { queues: [${t}] }
`;

describe('retry-add.lua and mark.lua: a bad key of the target or the dead-letter queue refuses the batch whole', () => {
  const cases: Case[] = [
    typeCase('wait', asString, 'string', 'list'),
    typeCase('pc', asHash, 'hash', 'string'),
    typeCase('events', asString, 'string', 'stream'),
    typeCase('marker', asString, 'string', 'zset'),
    typeCase('meta', asString, 'string', 'hash'),
    typeCase('id', asHash, 'hash', 'string'),
    typeCase('active', asString, 'string', 'list'),
    typeCase('failed', asString, 'string', 'zset'),
    typeCase('prioritized', asString, 'string', 'zset'),
    typeCase('queuectl:dlq-retried', asString, 'string', 'hash'),
    typeCase('j-50', asString, 'string', 'hash'),
    ['meta', field('opts.maxLenEvents', '-1'), /:meta holds field opts.maxLenEvents "-1" where BullMQ keeps a whole number/],
  ];
  it.each(cases)('target %s: retry exits 3 naming it; no item is added or marked', async (suffix, corrupt, says) => {
    const t = uniqueName('qt');
    const dlq = uniqueName('dlq');
    const yaml = dlqYaml(t, dlq);
    await seedDeadLetters(dlq, t, 'foreign');
    const key = `${prefix}:${t}:${suffix}`;
    await corrupt(key);
    const before = await snapshot(t, dlq);
    const error = await retry({ all: true }, testContext({ yaml, yes: true }).ctx).catch((e) => e);
    expectOneLine(error, key);
    expect(error.message).toMatch(says);
    const dry = testContext({ yaml, json: true });
    expect(await retry({ all: true, dryRun: true }, dry.ctx)).toBe(1);
    expect(dry.json().blocking).toEqual([expect.objectContaining({ key })]);
    const topology = (await testContext({ yaml }).ctx.topology()).topology;
    const items = await collectItems({ client: redis, mode: 'single', masters: [] } as never, prefix, dlqSources(topology), { filters: { queues: [dlq] } });
    expect(items).toHaveLength(N);
    await expect(applyRetry(planRetry(items, topology).items, { client: redis, prefix, topology, who: 't@h' })).rejects.toMatchObject({ exitCode: 3, message: expect.stringMatching(says) });
    expect(await snapshot(t, dlq)).toEqual(before);
  });

  it('the dead-letter queue meta or an item hash of the wrong type: mark refuses, nothing marked', async () => {
    const t = uniqueName('qt');
    const dlq = uniqueName('dlq');
    const yaml = dlqYaml(t, dlq);
    await seedDeadLetters(dlq, t, 'foreign');
    await redis.set(`${prefix}:${dlq}:meta`, 'x');
    const before = await snapshot(t, dlq);
    const error = await discard({ all: true, reason: 'r' }, testContext({ yaml, yes: true }).ctx).catch((e) => e);
    expectOneLine(error, `${prefix}:${dlq}:meta`);
    expect(await snapshot(t, dlq)).toEqual(before);
    await redis.del(`${prefix}:${dlq}:meta`);
    // An item hash turned into a string after the plan read it.
    const topology = (await testContext({ yaml }).ctx.topology()).topology;
    const items = await collectItems({ client: redis, mode: 'single', masters: [] } as never, prefix, dlqSources(topology), { filters: { queues: [dlq] } });
    await redis.set(`${prefix}:${dlq}:7`, 'x');
    const before2 = await snapshot(t, dlq);
    await expect(applyDiscard(items, 'r', { client: redis, prefix, topology, who: 't@h' })).rejects.toMatchObject({ exitCode: 3, message: expect.stringContaining(`${prefix}:${dlq}:7 is a string`) });
    expect(await snapshot(t, dlq)).toEqual(before2);
  });
});

describe('discard-failed.lua: a bad key refuses the batch whole', () => {
  const cases: Case[] = [
    typeCase('events', asString, 'string', 'stream'),
    typeCase('meta', asString, 'string', 'hash'),
    typeCase('completed', asString, 'string', 'zset'),
    typeCase('delayed', asString, 'string', 'zset'),
    typeCase('prioritized', asString, 'string', 'zset'),
    typeCase('waiting-children', asString, 'string', 'zset'),
    typeCase('job-50', asString, 'string', 'hash'),
    ['meta', field('opts.maxLenEvents', '1e3'), /opts.maxLenEvents "1e3"/],
  ];
  it.each(cases)('%s: discard exits 3 naming it; no job is removed', async (suffix, corrupt, says) => {
    const q = uniqueName('qd');
    const yaml = `version: 1\nprefix: "${prefix}"\nqueues:\n  ${q}: { jobs: [work], attempts: 1, deadLetter: failed }\nworkers:\n  w: { queues: [${q}] }\n`;
    await seedFailedQueue(q);
    const key = `${prefix}:${q}:${suffix}`;
    await corrupt(key);
    const before = await snapshot(q);
    const error = await discard({ all: true, reason: 'r' }, testContext({ yaml, yes: true }).ctx).catch((e) => e);
    expectOneLine(error, key);
    expect(error.message).toMatch(says);
    const dry = testContext({ yaml, json: true });
    expect(await discard({ all: true, reason: 'r', dryRun: true }, dry.ctx)).toBe(1);
    expect(dry.json().blocking).toEqual([expect.objectContaining({ key })]);
    const items = await collectItems({ client: redis, mode: 'single', masters: [] } as never, prefix, [{ style: 'failed', queue: q }], { filters: {} });
    await expect(applyDiscard(items, 'r', { client: redis, prefix, topology: { queues: {}, legacy: {} } as never, who: 't@h' })).rejects.toMatchObject({ exitCode: 3 });
    expect(await snapshot(q)).toEqual(before);
  });
});
