import { describe, expect, it } from 'vitest';
import type { Cluster, Redis } from 'ioredis';
import { run } from '../src/commands/migrate.js';
import { RedisError } from '../src/errors.js';
import { engineFor } from '../src/migrate/engine.js';
import { acquireLease, recoverCrossSlot, releaseLease, takeBatch } from '../src/migrate/cross-slot.js';
import { crossSlotLayout, leaseOwner } from '../src/migrate/cross-slot-keys.js';
import { withCrossSlotScripts } from '../src/migrate/cross-slot-scripts.js';
import { emptyResult } from '../src/migrate/apply.js';
import { journalKey, type MovableState } from '../src/migrate/keys.js';
import { buildRouting } from '../src/migrate/routing.js';
import { testContext } from './helpers/context.js';
import { clusterClient, clusterUrl, uniqueName } from './helpers/redis.js';
import { clusterYaml, scanAll, taggedNames } from './cluster-fixture.js';
import { topologyFor } from './migrate-fixture.js';
import { locateAll, locateAround, seedLegacy, type SeededJob } from './migrate-seed.js';

/**
 * The cross-slot take, copy and settle scripts check every key before their first write, like
 * move-batch.lua: a key of the wrong type refuses the step whole, the plan names it, and every job
 * is in a state or parked under the run's journal, never lost; after the fix a rerun finishes.
 */
const states: MovableState[] = ['wait', 'prioritized', 'delayed', 'failed'];
const DEDUP = 'sess-1';

interface Setup {
  redis: Cluster;
  legacy: string;
  a: string;
  b: string;
  jobs: Map<string, SeededJob>;
  special: string;
}

async function setup(): Promise<Setup> {
  const redis = clusterClient();
  const { legacy, a, b } = await taggedNames(redis);
  const jobs = await seedLegacy(redis as unknown as Redis, { queue: legacy, jobs: 40, names: ['a.process', 'b.second'] });
  for (const q of [a, b]) {
    await redis.hset(`bull:${q}:meta`, 'opts.maxLenEvents', 10000, 'version', 'bullmq:6.7.0');
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

/**
 * Every seeded job is in exactly one state of one queue, or parked by the run (journaled): a
 * parked job a destination already holds (copied, not yet settled) is finished by the next run.
 */
async function expectNothingLost(s: Setup, allowParked: boolean, victim?: string): Promise<void> {
  const where = await locateAround(s.redis as unknown as Redis, 'bull', [s.legacy, s.a, s.b]);
  const parked = new Set((await scanAll(s.redis, `bull:queuectl:xslot:*:${s.legacy}:j:*`)).filter((k) => !k.endsWith(':logs')).map((k) => k.slice(k.lastIndexOf(':j:') + 3)));
  if (!allowParked) expect([...parked]).toEqual([]);
  for (const job of s.jobs.values()) {
    const at = where.get(job.id) ?? [];
    expect(at.length, `job ${job.id}`).toBeLessThanOrEqual(1);
    if (parked.has(job.id)) expect(at.every((a) => a.queue !== s.legacy), `job ${job.id} parked and in ${s.legacy}`).toBe(true);
    else expect(at, `job ${job.id}`).toHaveLength(1);
    if (at.length === 1 && job.id !== victim) expect(await s.redis.hget(`bull:${at[0].queue}:${job.id}`, 'data'), job.id).toBe(job.data);
  }
}

function engine(s: Setup) {
  const routing = buildRouting(topologyFor(s.legacy, s.a, s.b), { from: s.legacy });
  const runId = uniqueName('run');
  const jKey = journalKey('bull', runId);
  return { routing, jKey, e: engineFor('cluster', 'bull', routing, jKey, runId) };
}

type Corrupt = (s: Setup) => { key: string; type: string };
const cases: [string, string, Corrupt][] = [
  ['take', 'source events a hash', (s) => ({ key: `bull:${s.legacy}:events`, type: 'hash' })],
  ['take', 'source marker a string', (s) => ({ key: `bull:${s.legacy}:marker`, type: 'string' })],
  ['take', "a job's :logs a string", (s) => ({ key: `bull:${s.legacy}:${s.special}:logs`, type: 'string' })],
  ['take', 'source deduplication key a hash', (s) => ({ key: `bull:${s.legacy}:de:${DEDUP}`, type: 'hash' })],
  ['take', 'source dn: key a string', (s) => ({ key: `bull:${s.legacy}:dn:${DEDUP}`, type: 'string' })],
  ['take', 'a job hash a string', (s) => ({ key: `bull:${s.legacy}:${[...s.jobs.values()].filter((j) => j.state === 'wait')[3].id}`, type: 'string' })],
  ['copy', 'destination wait a string', (s) => ({ key: `bull:${s.a}:wait`, type: 'string' })],
  ['copy', 'destination pc a hash', (s) => ({ key: `bull:${s.a}:pc`, type: 'hash' })],
  ['copy', 'destination events a hash', (s) => ({ key: `bull:${s.a}:events`, type: 'hash' })],
  ['copy', 'destination deduplication key a hash', (s) => ({ key: `bull:${s.a}:de:${DEDUP}`, type: 'hash' })],
  ['copy', "destination :logs of a moving job a string", (s) => ({ key: `bull:${s.a}:${s.special}:logs`, type: 'string' })],
];

async function make(redis: Cluster, key: string, type: string): Promise<void> {
  const keep = type === 'hash' && key.endsWith(`de:${DEDUP}`) ? await redis.get(key).catch(() => null) : null;
  await redis.del(key);
  if (type === 'string') await redis.set(key, 'x');
  else await redis.hset(key, 'x', keep ?? '1');
}

describe('migrate across cluster slots: a key of the wrong type refuses the step whole', () => {
  it.each(cases)('%s: %s — the plan names it, the move refuses it, nothing is lost, the fix lets a rerun finish', async (_script, _what, corrupt) => {
    const s = await setup();
    const { key, type } = corrupt(s);
    await make(s.redis, key, type);
    // A job whose own hash is the bad key: once deleted it stays listed, as missing-hash.
    const victim = s.jobs.has(key.slice(`bull:${s.legacy}:`.length)) ? key.slice(`bull:${s.legacy}:`.length) : undefined;
    const { routing, jKey, e } = engine(s);

    const dry = testContext({ yaml: clusterYaml(s.legacy, s.a, s.b), redis: clusterUrl(), json: true });
    const refused = await run({ from: s.legacy, dryRun: true, states: states.join(',') }, dry.ctx).catch((err: unknown) => err);
    await dry.ctx.close();
    expect(refused).toBeInstanceOf(RedisError);
    expect((refused as RedisError).message).toContain(`${key} is a ${type}, where BullMQ keeps a`);

    // Without a plan first: the step that meets the key refuses, whatever was taken stays journaled.
    const options = { client: s.redis, prefix: 'bull', routing, states, journalKey: jKey, batch: 7 };
    await expect(e.apply(options)).rejects.toThrow(`${key} is a ${type}`);
    await expectNothingLost(s, true, victim);

    await s.redis.del(key);
    await e.prepare(s.redis, () => undefined);
    await e.apply(options);
    await expectNothingLost(s, false, victim);
    expect([...(await locateAll(s.redis as unknown as Redis, 'bull', [s.legacy])).keys()]).toEqual(victim ? [victim] : []);
  });

  it('settle: a source key that turns bad after the take keeps the batch parked; after the fix recovery puts it back', async () => {
    const s = await setup();
    const { routing, jKey } = engine(s);
    const runId = uniqueName('run');
    const run = { layout: crossSlotLayout('bull', routing, jKey, runId)!, owner: leaseOwner() };
    await acquireLease(s.redis, run);
    const src = `bull:${s.legacy}:`;
    const taken = await takeBatch(withCrossSlotScripts(s.redis), run, { src, routes: JSON.stringify(routing.routes), dests: JSON.stringify(routing.dests), batch: 10, tombstone: 'queuectl:moving:t' }, 'wait', '', emptyResult());
    expect(taken.taken).toBe(10);
    await make(s.redis, `${src}events`, 'hash');
    await expect(recoverCrossSlot(s.redis, 'bull', routing, run)).rejects.toThrow(`${src}events is a hash, where BullMQ keeps a stream`);
    await expectNothingLost(s, true);
    await s.redis.del(`${src}events`);
    const recovered = await recoverCrossSlot(s.redis, 'bull', routing, run);
    expect(recovered.returned).toBe(10);
    await releaseLease(s.redis, run);
    await expectNothingLost(s, false);
  });

  it('settle: a parked hash deleted meanwhile does not stop the others going back (RENAME of a missing key fails)', async () => {
    const s = await setup();
    const { routing, jKey } = engine(s);
    const run = { layout: crossSlotLayout('bull', routing, jKey, uniqueName('run'))!, owner: leaseOwner() };
    await acquireLease(s.redis, run);
    const src = `bull:${s.legacy}:`;
    const taken = await takeBatch(withCrossSlotScripts(s.redis), run, { src, routes: JSON.stringify(routing.routes), dests: JSON.stringify(routing.dests), batch: 10, tombstone: 'queuectl:moving:t' }, 'wait', '', emptyResult());
    expect(taken.taken).toBe(10);
    const parked = (await scanAll(s.redis, `bull:queuectl:xslot:*:${s.legacy}:j:*`)).filter((k) => !k.endsWith(':logs')).sort();
    await s.redis.del(parked[5]);
    const lost = parked[5].slice(parked[5].lastIndexOf(':j:') + 3);
    const recovered = await recoverCrossSlot(s.redis, 'bull', routing, run);
    expect(recovered.returned).toBe(9);
    await releaseLease(s.redis, run);
    const where = await locateAll(s.redis as unknown as Redis, 'bull', [s.legacy]);
    for (const job of s.jobs.values()) if (job.state === 'wait' && job.id !== lost) expect(where.get(job.id), job.id).toHaveLength(1);
    expect(where.has(lost)).toBe(false);
  });
});
