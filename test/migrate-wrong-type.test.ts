import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { run } from '../src/commands/migrate.js';
import { RedisError } from '../src/errors.js';
import { applyMoves } from '../src/migrate/apply.js';
import { journalKey, type MovableState } from '../src/migrate/keys.js';
import { buildRouting } from '../src/migrate/routing.js';
import { testContext } from './helpers/context.js';
import { runCli } from './helpers/cli.js';
import { client, redisUrl, uniqueName } from './helpers/redis.js';
import { topologyFor, yamlFor } from './migrate-fixture.js';
import { locateAll, locateAround, readHashes, seedLegacy, type SeededJob } from './migrate-seed.js';

/**
 * A key of the wrong type where a migrate script reads or writes. Redis keeps the writes of a
 * script that fails midway, so the script checks every key before its first write: the batch is
 * refused whole, the plan names the key, and no job is ever in no state.
 */
const states: MovableState[] = ['wait', 'prioritized', 'delayed', 'failed'];
const DEDUP = 'sess-1';

interface Setup {
  redis: Redis;
  legacy: string;
  a: string;
  b: string;
  jobs: Map<string, SeededJob>;
  /** A job (routed to A, waiting) carrying logs and a deduplication key. */
  special: string;
}

async function setup(): Promise<Setup> {
  const redis = client();
  const [legacy, a, b] = [uniqueName('legacy'), uniqueName('qa'), uniqueName('qb')];
  const jobs = await seedLegacy(redis, { queue: legacy, jobs: 60, names: ['a.process', 'b.second'] });
  // Destinations that already exist, as BullMQ leaves them, so every destination key is in play.
  for (const q of [a, b]) {
    await redis.hset(`bull:${q}:meta`, 'opts.maxLenEvents', 10000, 'version', 'bullmq:6.7.0');
    await redis.set(`bull:${q}:id`, 0);
    await redis.set(`bull:${q}:pc`, 0);
    await redis.xadd(`bull:${q}:events`, '*', 'event', 'drained');
  }
  await redis.xadd(`bull:${legacy}:events`, '*', 'event', 'added', 'jobId', '1');
  const special = [...jobs.values()].find((j) => j.state === 'wait' && j.name === 'a.process')!.id;
  await redis.rpush(`bull:${legacy}:${special}:logs`, 'line 1', 'line 2');
  await redis.hset(`bull:${legacy}:${special}`, 'deid', DEDUP);
  await redis.set(`bull:${legacy}:de:${DEDUP}`, special);
  await redis.hset(`bull:${legacy}:dn:${DEDUP}`, 'name', 'a.process', 'data', '{}', 'jid', 'next-1');
  return { redis, legacy, a, b, jobs, special };
}

const locate = (s: Setup) => locateAround(s.redis, 'bull', [s.legacy, s.a, s.b]);

/** Every seeded job is in exactly one state of one queue, with its own hash beside it. */
async function expectNothingLost(s: Setup, skip: string[] = []): Promise<void> {
  const where = await locate(s);
  for (const job of s.jobs.values()) {
    const at = where.get(job.id);
    expect(at, `job ${job.id}`).toHaveLength(1);
    if (skip.includes(job.id)) continue;
    const hash = (await readHashes(s.redis, 'bull', at![0].queue, [job.id])).get(job.id)!;
    expect(hash.data, `hash of job ${job.id} in ${at![0].queue}`).toBe(job.data);
    expect(at![0].state).toBe(job.state);
  }
}

type Corrupt = (s: Setup) => { key: string; type: string; make: () => Promise<unknown> };
const asString = (key: string) => (s: Setup) => ({ key, type: 'string', make: () => s.redis.set(key, 'x') });
const asHash = (key: string) => (s: Setup) => ({ key, type: 'hash', make: () => s.redis.hset(key, 'x', '1') });

/** [what, how]: destination keys of A, source keys, keys of one job. */
const cases: [string, Corrupt][] = [
  ...['wait', 'active'].map((k): [string, Corrupt] => [`destination ${k} a string`, (s) => asString(`bull:${s.a}:${k}`)(s)]),
  ...['prioritized', 'delayed', 'failed', 'marker'].map((k): [string, Corrupt] => [`destination ${k} a string`, (s) => asString(`bull:${s.a}:${k}`)(s)]),
  ['destination meta a string', (s) => ({ key: `bull:${s.a}:meta`, type: 'string', make: () => s.redis.del(`bull:${s.a}:meta`).then(() => s.redis.set(`bull:${s.a}:meta`, 'x')) })],
  ['destination meta with a non-integer opts.maxLenEvents', (s) => ({ key: `bull:${s.a}:meta`, type: 'hash with opts.maxLenEvents "lots"', make: () => s.redis.hset(`bull:${s.a}:meta`, 'opts.maxLenEvents', 'lots') })],
  ['destination meta with a non-numeric concurrency', (s) => ({ key: `bull:${s.a}:meta`, type: 'hash with concurrency "some"', make: () => s.redis.hset(`bull:${s.a}:meta`, 'concurrency', 'some') })],
  ['destination id a hash', (s) => ({ key: `bull:${s.a}:id`, type: 'hash', make: () => s.redis.del(`bull:${s.a}:id`).then(() => s.redis.hset(`bull:${s.a}:id`, 'x', 1)) })],
  ['destination id not an integer', (s) => ({ key: `bull:${s.a}:id`, type: 'string "abc"', make: () => s.redis.set(`bull:${s.a}:id`, 'abc') })],
  ['destination pc a hash', (s) => ({ key: `bull:${s.a}:pc`, type: 'hash', make: () => s.redis.del(`bull:${s.a}:pc`).then(() => s.redis.hset(`bull:${s.a}:pc`, 'x', 1)) })],
  ['destination events a hash', (s) => ({ key: `bull:${s.a}:events`, type: 'hash', make: () => s.redis.del(`bull:${s.a}:events`).then(() => s.redis.hset(`bull:${s.a}:events`, 'x', 1)) })],
  ['destination deduplication key a hash', (s) => asHash(`bull:${s.a}:de:${DEDUP}`)(s)],
  ['source events a hash', (s) => ({ key: `bull:${s.legacy}:events`, type: 'hash', make: () => s.redis.del(`bull:${s.legacy}:events`).then(() => s.redis.hset(`bull:${s.legacy}:events`, 'x', 1)) })],
  ['source meta a string', (s) => ({ key: `bull:${s.legacy}:meta`, type: 'string', make: () => s.redis.del(`bull:${s.legacy}:meta`).then(() => s.redis.set(`bull:${s.legacy}:meta`, 'x')) })],
  ['source deduplication key a hash', (s) => ({ key: `bull:${s.legacy}:de:${DEDUP}`, type: 'hash', make: () => s.redis.del(`bull:${s.legacy}:de:${DEDUP}`).then(() => s.redis.hset(`bull:${s.legacy}:de:${DEDUP}`, 'x', s.special)) })],
  ['source dn: key a string', (s) => ({ key: `bull:${s.legacy}:dn:${DEDUP}`, type: 'string', make: () => s.redis.del(`bull:${s.legacy}:dn:${DEDUP}`).then(() => s.redis.set(`bull:${s.legacy}:dn:${DEDUP}`, 'x')) })],
  ["a job's :logs a string", (s) => ({ key: `bull:${s.legacy}:${s.special}:logs`, type: 'string', make: () => s.redis.del(`bull:${s.legacy}:${s.special}:logs`).then(() => s.redis.set(`bull:${s.legacy}:${s.special}:logs`, 'x')) })],
];

describe('migrate: a key of the wrong type refuses the batch whole (move-batch.lua)', () => {
  it.each(cases)('%s: the plan names it (dry run exit 3), the move refuses it, nothing is lost, and after the fix everything moves', async (_what, corrupt) => {
    const s = await setup();
    const { key, type, make } = corrupt(s);
    await make();
    const topology = topologyFor(s.legacy, s.a, s.b);
    const routing = buildRouting(topology, { from: s.legacy });

    // The plan finds it: the dry run prints it and fails with one line naming the key and its type.
    const dry = testContext({ yaml: yamlFor(s.legacy, s.a, s.b), json: true });
    const refused = await run({ from: s.legacy, dryRun: true, states: states.join(',') }, dry.ctx).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RedisError);
    expect((refused as RedisError).exitCode).toBe(3);
    expect((refused as RedisError).message).toContain(`${key} is a ${type}, where BullMQ keeps a`);
    expect(dry.json().plan.blocked).toContainEqual(expect.objectContaining({ key, found: type }));

    // The move, even without a plan first, refuses every batch that meets it and writes nothing there.
    const jKey = journalKey('bull', uniqueName('run'));
    await expect(applyMoves({ client: s.redis, prefix: 'bull', routing, states, journalKey: jKey, batch: 7 })).rejects.toThrow(new RegExp(`${escape(key)} is a ${escape(type)}`));
    await expectNothingLost(s);
    await expect(applyMoves({ client: s.redis, prefix: 'bull', routing, states, journalKey: jKey, batch: 7 })).rejects.toThrow(RedisError);
    await expectNothingLost(s);

    // Fixed (the key removed), a rerun moves every job.
    await s.redis.del(key);
    const result = await applyMoves({ client: s.redis, prefix: 'bull', routing, states, journalKey: jKey, batch: 7 });
    await expectNothingLost(s);
    const where = await locateAll(s.redis, 'bull', [s.legacy]);
    expect(where.size).toBe(0);
    expect(result.total).toBeGreaterThan(0);
  });

  it('a job hash that is not a hash: the plan names it, the move refuses its batch, the other jobs are untouched', async () => {
    const s = await setup();
    const victim = [...s.jobs.values()].filter((j) => j.state === 'wait')[4].id;
    const key = `bull:${s.legacy}:${victim}`;
    await s.redis.del(key);
    await s.redis.set(key, 'not a hash');
    const routing = buildRouting(topologyFor(s.legacy, s.a, s.b), { from: s.legacy });

    const dry = testContext({ yaml: yamlFor(s.legacy, s.a, s.b), json: true });
    await expect(run({ from: s.legacy, dryRun: true, states: states.join(',') }, dry.ctx)).rejects.toThrow(`${key} is a string, where BullMQ keeps a hash`);
    const jKey = journalKey('bull', uniqueName('run'));
    await expect(applyMoves({ client: s.redis, prefix: 'bull', routing, states, journalKey: jKey, batch: 7 })).rejects.toThrow(`${key} is a string`);
    await expectNothingLost(s, [victim]);
    expect(await s.redis.lpos(`bull:${s.legacy}:wait`, victim)).not.toBeNull();
  });

  it('a source state key of the wrong type and a journal of the wrong type are refused before any write', async () => {
    const s = await setup();
    const routing = buildRouting(topologyFor(s.legacy, s.a, s.b), { from: s.legacy });
    const jKey = journalKey('bull', uniqueName('run'));
    await s.redis.set(jKey, 'x');
    await expect(applyMoves({ client: s.redis, prefix: 'bull', routing, states, journalKey: jKey, batch: 7 })).rejects.toThrow(`${jKey} is a string, where BullMQ keeps a hash`);
    await expectNothingLost(s);
    await s.redis.del(jKey);

    // A source `prioritized` that is a string: nothing of that state can be read; the plan says so.
    const prioritized = [...s.jobs.values()].filter((j) => j.state === 'prioritized');
    await s.redis.del(`bull:${s.legacy}:prioritized`);
    await s.redis.set(`bull:${s.legacy}:prioritized`, 'x');
    const dry = testContext({ yaml: yamlFor(s.legacy, s.a, s.b), json: true });
    await expect(run({ from: s.legacy, dryRun: true, states: states.join(',') }, dry.ctx)).rejects.toThrow(`bull:${s.legacy}:prioritized is a string, where BullMQ keeps a zset`);
    const result = applyMoves({ client: s.redis, prefix: 'bull', routing, states, journalKey: jKey, batch: 7 });
    await expect(result).rejects.toThrow(`bull:${s.legacy}:prioritized is a string`);
    // wait (the state before it) moved whole; prioritized, delayed and failed did not start.
    for (const job of s.jobs.values()) {
      if (job.state === 'prioritized') continue;
      const where = (await locate(s)).get(job.id)!;
      expect(where).toHaveLength(1);
      expect(where[0].queue).toBe(job.state === 'wait' ? (job.name === 'a.process' ? s.a : s.b) : s.legacy);
    }
    expect(prioritized.length).toBeGreaterThan(0);
  });

  it('a journal counter that is not an integer (HINCRBY would fail after the first writes) refuses the batch before any write', async () => {
    const s = await setup();
    const routing = buildRouting(topologyFor(s.legacy, s.a, s.b), { from: s.legacy });
    const jKey = journalKey('bull', uniqueName('run'));
    await s.redis.hset(jKey, 'moved', 'abc');
    await expect(applyMoves({ client: s.redis, prefix: 'bull', routing, states, journalKey: jKey, batch: 7 })).rejects.toThrow(`${jKey} is a hash with moved "abc", where BullMQ keeps a hash with integer counters`);
    await expectNothingLost(s);
    expect(await s.redis.hget(jKey, 'moved')).toBe('abc');
  });
});

describe('bin/queuectl migrate with a destination wait that is a string (the reported case)', () => {
  it('dry run and real run: exit 3 and one line naming the key, its type and what to do; nothing moved or lost; after the fix it moves', async () => {
    const s = await setup();
    const key = `bull:${s.a}:wait`;
    await s.redis.set(key, 'x');
    const dir = mkdtempSync(join(tmpdir(), 'queuectl-wrongtype-'));
    try {
      writeFileSync(join(dir, 'queuectl.yaml'), yamlFor(s.legacy, s.a, s.b));
      const env = { REDIS_URL: redisUrl() };
      const expected = `queuectl: ${key} is a string, where BullMQ keeps a list: migrate moved nothing — repair or delete that key (redis-cli TYPE ${key}), then rerun`;
      const dry = await runCli(['migrate', '--from', s.legacy, '--dry-run'], { cwd: dir, env });
      expect(dry.code).toBe(3);
      expect(dry.stderr.trim()).toBe(expected);
      expect(dry.stdout).toContain(`Blocking: ${key} is a string`);
      for (let i = 0; i < 2; i++) {
        const moved = await runCli(['migrate', '--from', s.legacy, '--yes'], { cwd: dir, env });
        expect(moved.code).toBe(3);
        expect(moved.stderr.trim()).toBe(expected);
        await expectNothingLost(s);
      }
      expect(await s.redis.llen(`bull:${s.legacy}:wait`)).toBe([...s.jobs.values()].filter((j) => j.state === 'wait').length);
      await s.redis.del(key);
      const fixed = await runCli(['migrate', '--from', s.legacy, '--yes', '--states', states.join(',')], { cwd: dir, env });
      expect(fixed.code).toBe(0);
      await expectNothingLost(s);
      expect((await locateAll(s.redis, 'bull', [s.legacy])).size).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
