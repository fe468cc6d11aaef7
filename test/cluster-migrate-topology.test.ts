import { afterAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import type { Cluster } from 'ioredis';
import { run } from '../src/commands/migrate.js';
import { acquireLease, copyBatch, readFlights, releaseLease, takeBatch, type CrossSlotRun } from '../src/migrate/cross-slot.js';
import { crossSlotLayout, leaseOwner } from '../src/migrate/cross-slot-keys.js';
import { withCrossSlotScripts } from '../src/migrate/cross-slot-scripts.js';
import { DEFAULT_STATES, journalKey, queuePrefix, runIdOf } from '../src/migrate/keys.js';
import { buildRouting } from '../src/migrate/routing.js';
import { emptyResult, type ApplyOptions, type ApplyResult } from '../src/migrate/apply.js';
import { testContext } from './helpers/context.js';
import { clusterClient, clusterUrl } from './helpers/redis.js';
import { clusterYaml, scanAll, taggedNames } from './cluster-fixture.js';
import { topologyFor } from './migrate-fixture.js';

/**
 * A parked batch records its destinations by position in the routing; the run id does not depend on
 * the topology. These tests park batches as a crash would leave them (taken, maybe copied, never
 * settled), edit the topology, and rerun: every job must end where its name belongs now, once.
 */
const redis = clusterClient();
afterAll(() => redis.disconnect());

/** Queues a and b both declared, in the order given (the routing indexes follow this order). */
function yamlOf(legacy: string, queues: [string, string][]): string {
  const declared = queues.map(([q, job]) => `  "${q}": { jobs: [${job}], dedup: none }`).join('\n');
  return `version: 1\nprefix: "bull"\nqueues:\n${declared}\nworkers:\n  w: { queues: [${queues.map(([q]) => `"${q}"`).join(', ')}] }\nlegacy:\n  "${legacy}": { note: shared }\n`;
}

/** Jobs added oldest first, each run of a name in its own block, so one batch holds one name. */
async function seed(legacy: string, blocks: [string, number][]): Promise<Map<string, string>> {
  const q = new Queue(legacy, { connection: redis });
  const names = new Map<string, string>();
  for (const [name, n] of blocks) for (const job of await q.addBulk(Array.from({ length: n }, (_, i) => ({ name, data: { i } })))) names.set(job.id!, name);
  await q.close();
  return names;
}

/** The original run (topology a then b): park `parks` batches; copy the ones marked true. */
async function park(legacy: string, a: string, b: string, parks: { size: number; copy: boolean }[]): Promise<void> {
  const routing = buildRouting(topologyFor(legacy, a, b), { from: legacy });
  expect(routing.dests).toEqual([a, b]);
  const runId = runIdOf({ prefix: 'bull', from: legacy, states: DEFAULT_STATES });
  const jKey = journalKey('bull', runId);
  const layout = crossSlotLayout('bull', routing, jKey, runId)!;
  const xrun: CrossSlotRun = { layout, owner: leaseOwner() };
  const options: ApplyOptions = { client: redis, prefix: 'bull', routing, states: DEFAULT_STATES, journalKey: jKey, batch: 0 };
  const result: ApplyResult = emptyResult();
  const scripts = withCrossSlotScripts(redis);
  const call = { src: queuePrefix('bull', legacy), routes: JSON.stringify(routing.routes), dests: JSON.stringify(routing.dests), tombstone: 'queuectl:moving:test' };
  await acquireLease(redis, xrun);
  let boundary = '';
  for (const { size, copy } of parks) {
    const taken = await takeBatch(scripts, xrun, { ...call, batch: size }, 'wait', boundary, result);
    expect(taken.taken).toBe(size);
    boundary = taken.next;
    if (copy) expect((await copyBatch(scripts, options, xrun, 'wait', taken, new Map(), result)).ids).toHaveLength(size);
  }
  await releaseLease(redis, xrun); // the "crashed" attempt: nothing settled
  expect((await readFlights(redis, xrun)).size).toBe(parks.length);
}

async function waitIds(queue: string): Promise<string[]> {
  return redis.lrange(`bull:${queue}:wait`, 0, -1);
}

async function rerun(legacy: string, yaml: string) {
  const t = testContext({ yaml, redis: clusterUrl(), json: true, yes: true });
  const code = await run({ from: legacy }, t.ctx);
  await t.ctx.close();
  return { code, doc: t.json(), stderr: t.stderr() };
}

async function expectNothingParked(legacy: string, runId: string): Promise<void> {
  expect(await scanAll(redis as Cluster, `bull:queuectl:xslot:*{${legacy.slice(1, -1)}}:j:*`)).toEqual([]);
  expect(await scanAll(redis as Cluster, `bull:queuectl:xslot:${runId}:*copied*`)).toEqual([]);
}

describe('cross-slot recovery after the topology was edited', () => {
  it('queues reordered: parked batches (copied or not) end in the queue owning their name, once', async () => {
    const { legacy, a, b } = await taggedNames(redis);
    // Oldest first: 10 b.second (parked, copied), 10 a.process (parked, not copied), then the rest.
    const names = await seed(legacy, [['b.second', 10], ['a.process', 10], ['b.second', 5], ['a.process', 5]]);
    await park(legacy, a, b, [{ size: 10, copy: true }, { size: 10, copy: false }]);
    expect(await waitIds(b)).toHaveLength(10); // the copy happened; the parked hashes are still there

    // b now comes first: position 1 is b, position 2 is a — the opposite of the parked records.
    const reordered = yamlOf(legacy, [[b, 'b.second'], [a, 'a.process']]);
    const dry = testContext({ yaml: reordered, redis: clusterUrl(), json: true });
    expect(await run({ from: legacy, dryRun: true }, dry.ctx)).toBe(0);
    await dry.ctx.close();
    expect(dry.json().plan.moves).toEqual({ [a]: { wait: 15 }, [b]: { wait: 5 } }); // parked a.process counted by name
    const { code, doc, stderr } = await rerun(legacy, reordered);
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('10 finished in their destination, 10 put back');
    expect(doc.verified).toBe(true);
    const [inA, inB] = [await waitIds(a), await waitIds(b)];
    expect(await waitIds(legacy)).toEqual([]);
    expect(inA.length + inB.length).toBe(names.size);
    expect(new Set([...inA, ...inB]).size).toBe(names.size);
    expect(inA.filter((id) => names.get(id) !== 'a.process')).toEqual([]);
    expect(inB.filter((id) => names.get(id) !== 'b.second')).toEqual([]);
    for (const id of inB) expect(await redis.hget(`bull:${b}:${id}`, 'name')).toBe('b.second');
    await expectNothingParked(legacy, doc.runId);
  });

  it('parked destination removed: not-copied jobs go back to the source (reported), copied ones stay copied', async () => {
    const { legacy, a, b } = await taggedNames(redis);
    // 5 b.second parked and copied into b, 5 b.second parked only, then 10 a.process, 5 b.second.
    const names = await seed(legacy, [['b.second', 10], ['a.process', 10], ['b.second', 5]]);
    const ids = [...names.keys()];
    await park(legacy, a, b, [{ size: 5, copy: true }, { size: 5, copy: false }]);

    // b is no longer declared: b.second has no owner, so its jobs stay in the legacy queue.
    const { code, doc, stderr } = await rerun(legacy, yamlOf(legacy, [[a, 'a.process']]));
    expect(code, stderr).toBe(1); // unowned jobs stay
    expect(stderr).toContain('5 finished in their destination, 5 put back');
    expect(stderr).toContain('5 of them were headed to a queue the topology no longer routes to');
    expect(doc.skipped.find((s: { reason: string }) => s.reason === 'unowned')).toMatchObject({ count: 10 });
    const copiedEarlier = ids.slice(0, 5);
    expect((await waitIds(b)).sort()).toEqual([...copiedEarlier].sort()); // nothing guessed into b, nothing doubled
    const inLegacy = await waitIds(legacy);
    expect(inLegacy.sort()).toEqual(ids.filter((id) => names.get(id) === 'b.second' && !copiedEarlier.includes(id)).sort());
    for (const id of inLegacy) expect(await redis.hget(`bull:${legacy}:${id}`, 'name')).toBe('b.second');
    for (const id of copiedEarlier) expect(await redis.exists(`bull:${legacy}:${id}`)).toBe(0);
    expect((await waitIds(a)).sort()).toEqual(ids.filter((id) => names.get(id) === 'a.process').sort());
    expect(await scanAll(redis as Cluster, `bull:queuectl:xslot:*{${legacy.slice(1, -1)}}:j:*`)).toEqual([]);

    // With b declared again, the rest moves there: still each job exactly once.
    const again = await rerun(legacy, clusterYaml(legacy, a, b));
    expect(again.code, again.stderr).toBe(0);
    expect(await waitIds(legacy)).toEqual([]);
    const inB = await waitIds(b);
    expect(inB).toHaveLength(15);
    expect(new Set(inB).size).toBe(15);
    await expectNothingParked(legacy, again.doc.runId);
  });

  it('two destinations sharing a hash tag (not the source\'s) keep their copy verdicts apart', async () => {
    const { legacy, a } = await taggedNames(redis);
    const tag = a.slice(1, -1);
    const [qa, qb] = [`{${tag}}a`, `{${tag}}b`];
    const names = await seed(legacy, [['a.process', 20], ['b.second', 20], ['a.process', 7]]);
    const yaml = yamlOf(legacy, [[qa, 'a.process'], [qb, 'b.second']]);
    const t = testContext({ yaml, redis: clusterUrl(), json: true, yes: true });
    expect(await run({ from: legacy, batch: '25' }, t.ctx), t.stderr()).toBe(0); // batches spanning both destinations
    await t.ctx.close();
    expect(t.json().moved).toEqual({ [qa]: 27, [qb]: 20 });
    expect(await waitIds(legacy)).toEqual([]);
    expect((await waitIds(qa)).every((id) => names.get(id) === 'a.process')).toBe(true);
    expect((await waitIds(qb)).every((id) => names.get(id) === 'b.second')).toBe(true);
  });
});
