import { describe, expect, it } from 'vitest';
import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { run } from '../src/commands/migrate.js';
import { journalKey } from '../src/migrate/keys.js';
import { testContext } from './helpers/context.js';
import { bullConnection, client, clusterClient, clusterUrl, redisUrl, uniqueName } from './helpers/redis.js';
import { clusterYaml, taggedNames } from './cluster-fixture.js';
import { yamlFor } from './migrate-fixture.js';

/** One Redis to run on: a single node, or the cluster with one hash tag per queue (cross-slot path). */
interface Where {
  label: string;
  names(): Promise<{ legacy: string; a: string; b: string }>;
  connection(): ConnectionOptions;
  redis(): Redis | Cluster;
  yaml(legacy: string, a: string, b: string): string;
  url(): string;
}
const WHERE: Where[] = [
  { label: 'single node', names: async () => ({ legacy: uniqueName('legacy'), a: uniqueName('qa'), b: uniqueName('qb') }), connection: bullConnection, redis: () => client(), yaml: yamlFor, url: redisUrl },
  { label: 'cluster, one tag per queue', names: () => taggedNames(clusterClient()), connection: () => clusterClient(), redis: () => clusterClient(), yaml: (l, a, b) => clusterYaml(l, a, b), url: clusterUrl },
];

/**
 * A rolling deploy: old producers keep adding to the legacy queue (automatic ids) while new
 * producers add to the per-family queues (automatic ids too, theirs starting at 1), both sides add
 * some jobs under the same custom id (a retried request that reached both), an old worker consumes
 * the legacy queue until the deploy completes, new workers consume the destinations, and
 * `migrate --follow` runs throughout.
 * Every job runs exactly once and none stays in the legacy queue.
 */
describe.each(WHERE)('migrate --follow during a rolling deploy ($label)', (where) => {
  it('automatic ids never collide, a job added to both sides under one custom id runs once, nothing stays', async () => {
    const connection = where.connection();
    const { legacy, a, b } = await where.names();
    const old = new Queue(legacy, { connection });
    const fresh = { [a]: new Queue(a, { connection }), [b]: new Queue(b, { connection }) };
    const nameOf = (k: number) => (k % 3 === 0 ? 'b.second' : 'a.process');
    const queueOf = (name: string) => (name === 'b.second' ? fresh[b] : fresh[a]);
    const tokens = new Set<string>();
    const runs = new Map<string, number>();
    const count = async (job: Job) => {
      runs.set(job.data.token, (runs.get(job.data.token) ?? 0) + 1);
    };

    // Before the deploy: a legacy backlog (ids 1..60), and the new queues already hold ids 1..60
    // of their own (completed jobs keep their hashes): the same numbers, other jobs.
    for (let k = 0; k < 60; k++) {
      tokens.add(`old-${k}`);
      await old.add(nameOf(k), { token: `old-${k}` });
    }
    const newWorkers = [a, b].map((q) => new Worker(q, count, { connection, concurrency: 4 }));
    for (let k = 0; k < 60; k++) {
      tokens.add(`new-${k}`);
      await queueOf(nameOf(k)).add(nameOf(k), { token: `new-${k}` });
    }
    const redis = where.redis();
    while ((await redis.zcard(`bull:${a}:completed`)) + (await redis.zcard(`bull:${b}:completed`)) < 60) await new Promise((r) => setTimeout(r, 20));

    // migrate --follow starts; once its first batch moved, the old worker (slower than the old
    // producers, so a backlog stays to be moved) and both producers run.
    const t = testContext({ yaml: where.yaml(legacy, a, b), redis: where.url(), json: true, yes: true });
    const migrating = run({ from: legacy, follow: true, quietFor: '1500ms', batch: '20' }, t.ctx);
    const started = Date.now();
    while ((await redis.llen(`bull:${legacy}:wait`)) === 60 && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 5));
    const oldWorker = new Worker(legacy, async (job) => {
      await count(job);
      await new Promise((r) => setTimeout(r, 25));
    }, { connection, concurrency: 1 });

    // During the cutover: both producers add with automatic ids; every 10th request reaches both
    // sides under one custom id with the same data (delayed, as a retry would be).
    let produced = 0;
    const producing = (async () => {
      for (let k = 100; k < 400; k++) {
        const name = nameOf(k);
        const token = `t-${k}`;
        tokens.add(token);
        if (k % 10 === 0) {
          const opts = { jobId: `session-${k}`, delay: 3_000 };
          await old.add(name, { token }, opts);
          await queueOf(name).add(name, { token }, opts);
        } else if (k % 2 === 0) {
          await old.add(name, { token });
        } else {
          await queueOf(name).add(name, { token });
        }
        produced = k;
        if (k % 25 === 0) await new Promise((r) => setTimeout(r, 20));
      }
    })();

    await producing;
    // The deploy completes: the old worker is shut down while migrate keeps moving what is left.
    await oldWorker.close();
    const code = await migrating;
    expect(produced).toBe(399);
    const doc = t.json();
    expect(doc.verified, JSON.stringify(doc.problems)).toBe(true);
    expect(code, JSON.stringify(doc.skipped)).toBe(0);

    // The new queues' ids 1..60 were taken: legacy jobs with those numbers moved under fresh ids,
    // recorded in --json and in the run's journal.
    expect(doc.renamed.length).toBeGreaterThan(0);
    const journal = await redis.hgetall(journalKey('bull', doc.runId));
    for (const r of doc.renamed) expect(journal[`id:${r.queue}:${r.from}`]).toBe(r.to);

    // Nothing stays in the legacy queue; everything runs, each exactly once.
    expect(await redis.llen(`bull:${legacy}:wait`)).toBe(0);
    expect(await redis.zcard(`bull:${legacy}:delayed`)).toBe(0);
    expect(await redis.zcard(`bull:${legacy}:prioritized`)).toBe(0);
    const deadline = Date.now() + 20_000;
    while (runs.size < tokens.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    // A job run twice would show up a moment later: wait until every worker is idle.
    for (const q of [legacy, a, b]) while ((await redis.llen(`bull:${q}:active`)) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await Promise.all([...newWorkers.map((w) => w.close()), old.close(), fresh[a].close(), fresh[b].close(), t.ctx.close()]);
    const missing = [...tokens].filter((k) => !runs.has(k));
    const twice = [...runs].filter(([, n]) => n > 1).map(([k, n]) => `${k}×${n}`);
    expect({ missing, twice }).toEqual({ missing: [], twice: [] });
    expect(runs.size).toBe(tokens.size);
  });

  it('the plan prints the id policy; a run renames, removes the duplicate, keeps the other job, and verifies', async () => {
    const connection = where.connection();
    const { legacy, a, b } = await where.names();
    const old = new Queue(legacy, { connection });
    const qa = new Queue(a, { connection });
    const numeric = await old.add('a.process', { token: 'legacy-1' });
    await old.add('a.process', { token: 'same' }, { jobId: 'dup-1', delay: 60_000 });
    await old.add('a.process', { token: 'mine' }, { jobId: 'other-1' });
    const taken = await qa.add('a.process', { token: 'dest-1' });
    expect(taken.id).toBe(numeric.id);
    await qa.add('a.process', { token: 'same' }, { jobId: 'dup-1', delay: 60_000 });
    await qa.add('a.process', { token: 'theirs' }, { jobId: 'other-1' });
    await Promise.all([old.close(), qa.close()]);

    const context = (extra: { json?: boolean; yes?: boolean }) => testContext({ yaml: where.yaml(legacy, a, b), redis: where.url(), ...extra });
    const dry = context({ json: true });
    expect(await run({ from: legacy, dryRun: true }, dry.ctx)).toBe(1); // other-1 stays
    await dry.ctx.close();
    const plan = dry.json().plan;
    expect(plan.renamed).toEqual({ count: 1, examples: [numeric.id] });
    expect(plan.duplicates).toEqual({ [a]: { delayed: 1 } });
    expect(plan.moves).toEqual({ [a]: { wait: 1 } });
    const human = context({});
    await run({ from: legacy, dryRun: true }, human.ctx);
    await human.ctx.close();
    expect(human.stdout()).toContain(`Ids: kept. A numeric id the destination already holds gets its next id (1 now, e.g. ${numeric.id})`);
    expect(human.stdout()).toContain('is a duplicate: kept once');

    const t = context({ json: true, yes: true });
    expect(await run({ from: legacy }, t.ctx)).toBe(1);
    await t.ctx.close();
    const doc = t.json();
    expect(doc.verified, JSON.stringify(doc.problems)).toBe(true);
    expect(doc.skipped).toEqual([expect.objectContaining({ reason: 'collision', count: 1, examples: ['other-1'] })]);
    expect(doc.duplicates).toEqual([{ queue: a, id: 'dup-1', name: where.label === 'single node' ? 'a.process' : '' }]);
    expect(doc.renamed).toHaveLength(1);
    const [{ from, to }] = doc.renamed;
    expect(from).toBe(numeric.id);
    const redis = where.redis();
    expect(JSON.parse((await redis.hget(`bull:${a}:${to}`, 'data'))!)).toEqual({ token: 'legacy-1' });
    expect(JSON.parse((await redis.hget(`bull:${a}:${from}`, 'data'))!)).toEqual({ token: 'dest-1' });
    expect(await redis.lrange(`bull:${a}:wait`, 0, -1)).toEqual(expect.arrayContaining([to]));
    expect(await redis.hget(journalKey('bull', doc.runId), `id:${a}:${from}`)).toBe(to);
    // The duplicate: one copy, in the destination; the other job under that id stays where it was.
    expect(await redis.exists(`bull:${legacy}:dup-1`)).toBe(0);
    expect(await redis.zscore(`bull:${legacy}:delayed`, 'dup-1')).toBeNull();
    expect(await redis.zscore(`bull:${a}:delayed`, 'dup-1')).not.toBeNull();
    expect(JSON.parse((await redis.hget(`bull:${legacy}:other-1`, 'data'))!)).toEqual({ token: 'mine' });
    // Automatic ids added from now on stay apart: the destination counter is far ahead of the legacy's.
    expect(Number(await redis.get(`bull:${a}:id`))).toBeGreaterThanOrEqual(Number(await redis.get(`bull:${legacy}:id`)) + 1_000_000);
  });
});
