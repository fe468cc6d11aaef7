import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { run, runStatus } from '../src/commands/migrate.js';
import { InterruptedError, UsageError } from '../src/errors.js';
import { testContext } from './helpers/context.js';
import { bullConnection, client, uniqueName } from './helpers/redis.js';
import { buildFixture, yamlFor, type Fixture } from './migrate-fixture.js';

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

async function simpleLegacy(counts: { a?: number; b?: number; c?: number } = {}) {
  const legacy = uniqueName('legacy');
  const [a, b] = [uniqueName('qa'), uniqueName('qb')];
  const q = new Queue(legacy, { connection: bullConnection() });
  for (let i = 0; i < (counts.a ?? 30); i++) await q.add('a.process', { i });
  for (let i = 0; i < (counts.b ?? 20); i++) await q.add('b.second', { i }, { delay: 60_000 });
  for (let i = 0; i < (counts.c ?? 0); i++) await q.add('c.nobody', { i });
  await q.close();
  return { legacy, a, b, yaml: yamlFor(legacy, a, b) };
}

/** Every key of a queue with its type and size, to prove a dry run changed nothing. */
async function fingerprint(queue: string): Promise<string[]> {
  const redis = client();
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `bull:${queue}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) if (!key.endsWith(':events')) out.push(`${key}=${JSON.stringify(await redis.dump(key))}`);
  } while (cursor !== '0');
  return out.sort();
}

describe('queuectl migrate (command)', () => {
  it('dry run prints the plan and changes nothing; exit 1 for unowned names and collisions', async () => {
    const f = (fixture = await buildFixture({ small: true }));
    const before = [...(await fingerprint(f.legacy)), ...(await fingerprint(f.a)), ...(await fingerprint(f.b))];
    const t = testContext({ yaml: f.yaml, json: true });
    expect(await run({ from: f.legacy, dryRun: true, states: 'wait,prioritized,delayed' }, t.ctx)).toBe(1);
    const doc = t.json();
    expect(doc).toMatchObject({ schema: 'queuectl/migrate@1', from: f.legacy, dryRun: true, verified: false });
    expect(doc.plan.moves[f.a]).toEqual({ wait: 6, prioritized: 5 });
    expect(doc.skipped.map((s: { reason: string }) => s.reason)).toEqual(['unowned', 'active', 'flow', 'scheduler', 'collision']);
    expect(doc.skipped.find((s: { reason: string }) => s.reason === 'unowned').examples).toEqual(f.expected.unowned);
    expect([...(await fingerprint(f.legacy)), ...(await fingerprint(f.a)), ...(await fingerprint(f.b))]).toEqual(before);

    const human = testContext({ yaml: f.yaml });
    expect(await run({ from: f.legacy, dryRun: true }, human.ctx)).toBe(1);
    expect(human.stdout()).toContain('destination');
    expect(human.stdout()).toContain('no declared queue owns the name');
  });

  it('moves, verifies, journals; a rerun after a finished run is a new run that moves nothing', async () => {
    const s = await simpleLegacy({ a: 30, b: 20, c: 3 });
    const t = testContext({ yaml: s.yaml, json: true, yes: true });
    expect(await run({ from: s.legacy, batch: '7' }, t.ctx)).toBe(1); // the c.nobody jobs stay
    const doc = t.json();
    expect(doc.moved).toEqual({ [s.a]: 30, [s.b]: 20 });
    expect(doc.verified).toBe(true);
    expect(doc.skipped).toEqual([{ reason: 'unowned', count: 3, examples: expect.any(Array), names: { 'c.nobody': 3 }, states: { wait: 3 }, next: expect.stringContaining("add the name to a queue's jobs") }]);
    const redis = client();
    expect(await redis.llen(`bull:${s.a}:wait`)).toBe(30);
    expect(await redis.zcard(`bull:${s.b}:delayed`)).toBe(20);

    const again = testContext({ yaml: s.yaml, json: true, yes: true });
    expect(await run({ from: s.legacy, batch: '7' }, again.ctx)).toBe(1);
    expect(again.json().moved).toEqual({});
    expect(again.json().runId).toBe(`${doc.runId}-2`);

    const status = testContext({ yaml: s.yaml, json: true });
    expect(await runStatus({}, status.ctx)).toBe(0);
    const runRecord = status.json().runs.find((r: { id: string }) => r.id === doc.runId);
    expect(runRecord).toMatchObject({ source: s.legacy, state: 'done', moved: 50, left: 0, finished: true });
    expect(runRecord.progress).toEqual({ [`${s.a}:wait`]: 30, [`${s.b}:delayed`]: 20 });
  });

  it('runs do not merge: a later migration is a new run; only an unfinished run is continued', async () => {
    const s = await simpleLegacy({ a: 30, b: 0 });
    const first = testContext({ yaml: s.yaml, json: true, yes: true });
    expect(await run({ from: s.legacy }, first.ctx)).toBe(0);
    const firstId = first.json().runId;

    // Weeks later the old producer wrote 12 more jobs: a separate migration, a separate run.
    const q = new Queue(s.legacy, { connection: bullConnection() });
    for (let i = 0; i < 12; i++) await q.add('a.process', { later: i });
    await q.close();
    const second = testContext({ yaml: s.yaml, json: true, yes: true });
    expect(await run({ from: s.legacy }, second.ctx)).toBe(0);
    const secondId = second.json().runId;
    expect(secondId).not.toBe(firstId);
    expect(second.json().moved).toEqual({ [s.a]: 12 });
    expect(second.json().continued).toBe(false);

    // A run killed mid-move (kill -9) is left `running` in its journal: the rerun continues it.
    await client().hset(`bull:queuectl:migrate:${secondId}`, 'state', 'running');
    const rerun = testContext({ yaml: s.yaml, json: true, yes: true });
    expect(await run({ from: s.legacy }, rerun.ctx)).toBe(0);
    expect(rerun.json().runId).toBe(secondId);
    // --json: the document says so (stderr keeps only errors there; see migrate-crash's one-line check).
    expect(rerun.json().continued).toBe(true);

    const status = testContext({ yaml: s.yaml, json: true });
    await runStatus({}, status.ctx);
    const runs = status.json().runs.filter((r: { source: string }) => r.source === s.legacy);
    expect(runs.map((r: { id: string; moved: number; planned: number }) => [r.id, r.moved, r.planned]).sort()).toEqual([[firstId, 30, 30], [secondId, 12, 12]]);
    const human = testContext({ yaml: s.yaml });
    await runStatus({}, human.ctx);
    expect(human.stdout()).toMatch(/states/);
    expect(human.stdout()).toContain('wait,prioritized,delayed');
  });

  it('exits 0 when everything moved, with --names restricting and --to overriding', async () => {
    const s = await simpleLegacy({ a: 10, b: 5 });
    const t = testContext({ yaml: s.yaml, json: true, yes: true });
    expect(await run({ from: s.legacy, names: 'b.second', to: s.a }, t.ctx)).toBe(0);
    expect(t.json().moved).toEqual({ [s.a]: 5 });
    expect(await client().zcard(`bull:${s.a}:delayed`)).toBe(5);
    expect(await client().llen(`bull:${s.legacy}:wait`)).toBe(10);
  });

  it('from a declared queue moves only the names it does not own', async () => {
    const s = await simpleLegacy({ a: 0, b: 0 });
    const q = new Queue(s.a, { connection: bullConnection() });
    await q.add('a.process', {});
    await q.add('b.second', {}, { jobId: 'misrouted' });
    await q.close();
    const t = testContext({ yaml: s.yaml, json: true, yes: true });
    expect(await run({ from: s.a }, t.ctx)).toBe(0);
    expect(t.json().moved).toEqual({ [s.b]: 1 });
    expect(await client().lrange(`bull:${s.b}:wait`, 0, -1)).toEqual(['misrouted']);
    expect(await client().llen(`bull:${s.a}:wait`)).toBe(1);
  });

  it('refuses bad input and, off a terminal, asks for --yes', async () => {
    const s = await simpleLegacy({ a: 2, b: 0 });
    const t = testContext({ yaml: s.yaml });
    await expect(run({ from: s.legacy }, t.ctx)).rejects.toThrow(UsageError);
    await expect(run({}, t.ctx)).rejects.toThrow(/--from/);
    await expect(run({ from: 'nope' }, t.ctx)).rejects.toThrow(/neither a legacy nor a declared/);
    // Names that every JavaScript object answers to are not queues of the topology.
    for (const from of ['constructor', 'toString', '__proto__']) await expect(run({ from }, t.ctx)).rejects.toThrow(/neither a legacy nor a declared/);
    await expect(run({ from: s.legacy, states: 'active' }, t.ctx)).rejects.toThrow(/cannot be moved/);
    await expect(run({ from: s.legacy, batch: '0' }, t.ctx)).rejects.toThrow(/--batch/);
    expect(await client().llen(`bull:${s.legacy}:wait`)).toBe(2);
  });

  it('Ctrl-C before a batch stops with InterruptedError and leaves everything consistent', async () => {
    const s = await simpleLegacy({ a: 5, b: 0 });
    const controller = new AbortController();
    controller.abort();
    const t = testContext({ yaml: s.yaml, yes: true, signal: controller.signal });
    await expect(run({ from: s.legacy }, t.ctx)).rejects.toThrow(InterruptedError);
    const redis = client();
    expect((await redis.llen(`bull:${s.legacy}:wait`)) + (await redis.llen(`bull:${s.a}:wait`))).toBe(5);
  });

  it('drain: waits for an empty, quiet queue, then deletes its keys on --confirm', async () => {
    const s = await simpleLegacy({ a: 0, b: 0 });
    const q = new Queue(s.legacy, { connection: bullConnection() });
    const job = await q.add('a.process', {});
    await job.remove();
    await q.close();
    const t = testContext({ yaml: s.yaml, json: true });
    expect(await run({ from: s.legacy, strategy: 'drain', quietFor: '0', confirm: s.legacy }, t.ctx)).toBe(0);
    expect(t.json().deletedKeys).toBeGreaterThan(0);
    expect(await fingerprint(s.legacy)).toEqual([]);
    await expect(run({ from: s.legacy, strategy: 'drain', quietFor: '0', confirm: 'wrong' }, testContext({ yaml: s.yaml }).ctx)).rejects.toThrow(/does not match/);
  });
});
