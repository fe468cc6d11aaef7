import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { run } from '../src/commands/migrate.js';
import { testContext, type TestContext } from './helpers/context.js';
import { startRedis } from './helpers/redis.js';
import { yamlFor } from './migrate-fixture.js';
import { locateAll, seedLegacy } from './migrate-seed.js';
import { closeOpenQueues, freshDatabase, migrateBullmq, pgQueue } from './helpers/postgres.js';

/**
 * `migrate --yes` moves in one pass: the move's own classification is the plan, so each job is
 * read once (one HMGET of its hash), where plan + confirm + move reads it twice. The report, the
 * JSON document and the verification are the same either way. A private redis-server, so the
 * command counts (INFO commandstats) are this test's alone.
 */
const [LEGACY, A, B] = ['legacy', 'qa', 'qb'];
const JOBS = 600;
const yaml = yamlFor(LEGACY, A, B);

let server: Awaited<ReturnType<typeof startRedis>>;
let redis: Redis;
beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { lazyConnect: false });
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

/** The same legacy queue every time: all kinds of jobs that stay, a duplicate and a renamed one. */
async function seed(): Promise<{ read: number }> {
  await redis.flushall(); // the private redis-server this file started above: only its own keys
  const jobs = [...(await seedLegacy(redis, { queue: LEGACY, jobs: JOBS, names: ['a.process', 'b.second'], unowned: 12 })).values()];
  const waitingA = jobs.filter((j) => j.state === 'wait' && j.name === 'a.process' && j.id.startsWith('job-'));
  const [flow, locked, collision, duplicate] = waitingA.slice(3, 7);
  await redis.hset(`bull:${LEGACY}:${flow.id}`, 'parentKey', 'bull:parents:1');
  await redis.set(`bull:${LEGACY}:${locked.id}:lock`, 'a-worker');
  await redis.hset(`bull:${A}:${collision.id}`, 'name', 'a.process', 'data', '{"another":"job"}');
  await redis.hset(`bull:${A}:${duplicate.id}`, 'name', 'a.process', 'data', duplicate.data);
  const numericB = jobs.find((j) => j.state === 'wait' && j.name === 'b.second' && /^\d+$/.test(j.id))!;
  await redis.hset(`bull:${B}:${numericB.id}`, 'name', 'b.second', 'data', '{}');
  return { read: jobs.filter((j) => j.state !== 'failed').length };
}

async function hmgetCalls(): Promise<number> {
  const stats = await redis.info('commandstats');
  return Number(/cmdstat_hmget:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

/** Runs migrate --yes and returns its output and how many HMGETs Redis served meanwhile. */
async function migrate(options: { json: boolean; twoPass: boolean }): Promise<{ code: number; t: TestContext; hmget: number }> {
  const t = testContext({ yaml, json: options.json, yes: !options.twoPass, redis: server.url });
  // The interactive path: someone at a terminal who answers yes after reading the plan.
  if (options.twoPass) Object.assign(t.ctx, { prompt: { ...t.ctx.prompt, yes: false, interactive: true, confirm: async () => true } });
  await redis.config('RESETSTAT');
  const code = await run({ from: LEGACY }, t.ctx);
  const hmget = await hmgetCalls();
  await t.ctx.close();
  return { code, t, hmget };
}

/** What may differ between two runs: how long each phase took, and progress lines. */
const withoutTimings = (doc: Record<string, unknown>) => ({ ...doc, timings: undefined });
const withoutProgress = (text: string) => text.split('\n').filter((l) => !/^moved \d+\//.test(l)).join('\n');

describe('migrate --yes: one pass', () => {
  it('reads each job once, where plan + confirm + move reads it twice; same document, report and verification', async () => {
    const { read } = await seed();
    const twoPassJson = await migrate({ json: true, twoPass: true });
    await seed();
    const onePassJson = await migrate({ json: true, twoPass: false });

    expect(twoPassJson.hmget).toBeGreaterThanOrEqual(2 * read);
    expect(onePassJson.hmget).toBeGreaterThanOrEqual(read);
    expect(onePassJson.hmget).toBeLessThan(1.2 * read);

    const doc = onePassJson.t.json();
    expect(doc.verified).toBe(true);
    expect(doc.skipped.map((s: { reason: string }) => s.reason).sort()).toEqual(['collision', 'flow', 'locked', 'unowned']);
    expect(doc.renamed).toHaveLength(1);
    expect(doc.duplicates).toHaveLength(1);
    expect(withoutTimings(doc)).toEqual(withoutTimings(twoPassJson.t.json()));
    expect(onePassJson.code).toBe(twoPassJson.code);
    expect(onePassJson.code).toBe(1); // jobs stay that keep the legacy queue from retiring

    // The human report: stdout the same; the plan printed on stderr either way.
    await seed();
    const twoPass = await migrate({ json: false, twoPass: true });
    await seed();
    const onePass = await migrate({ json: false, twoPass: false });
    expect(onePass.t.stdout()).toBe(twoPass.t.stdout());
    expect(onePass.t.stdout()).toContain('Verified: counts per destination and state balance.');
    expect(withoutProgress(onePass.t.stderr())).toBe(withoutProgress(twoPass.t.stderr()));
    expect(onePass.t.stderr()).toContain('destination');

    // And every job is where the two-pass run put it: moved, or still in the legacy queue.
    const left = await locateAll(redis, 'bull', [LEGACY]);
    const stayed = doc.skipped.reduce((a: number, s: { count: number }) => a + s.count, 0);
    expect(stayed).toBeGreaterThan(3);
    expect([...left.values()].flat().filter((at) => at.state !== 'failed')).toHaveLength(stayed);
  });
});

describe('migrate --yes on PostgreSQL: one pass', () => {
  const pgYaml = `version: 1\nqueues:\n  alpha: { jobs: [a.process], dedup: none }\n  beta: { jobs: [b.second], dedup: none }\nworkers:\n  w: { queues: [alpha, beta] }\nlegacy:\n  legacy: { note: shared }\n`;

  /** A fresh database holding the same legacy queue: moving jobs, an unowned one, a collision and a duplicate. */
  async function seeded(): Promise<string> {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const legacy = pgQueue(url, 'legacy');
    const alpha = pgQueue(url, 'alpha');
    for (let i = 0; i < 40; i++) await legacy.add(i % 3 ? 'a.process' : 'b.second', { i }, { jobId: `j${i}` });
    await legacy.add('b.second', { p: 1 }, { priority: 2, jobId: 'p1' });
    await legacy.add('a.process', { later: true }, { delay: 3_600_000, jobId: 'later' });
    await legacy.add('mystery', {}, { jobId: 'unowned-1' });
    await alpha.add('a.process', { theirs: true }, { jobId: 'j1' });
    await alpha.add('a.process', { i: 2 }, { jobId: 'j2' });
    await closeOpenQueues();
    return url;
  }

  it('the same document, report and verification as plan + confirm + move', async () => {
    const runs: { code: number; doc: Record<string, unknown>; stdout: string }[] = [];
    for (const twoPass of [true, false]) {
      const url = await seeded();
      for (const json of [true, false]) {
        const t = testContext({ yaml: pgYaml, json, yes: !twoPass, redis: url });
        if (twoPass) Object.assign(t.ctx, { prompt: { ...t.ctx.prompt, yes: false, interactive: true, confirm: async () => true } });
        const code = await run({ from: 'legacy' }, t.ctx);
        await t.ctx.close();
        // The second run (human output) finds only what stays: the same on both paths too.
        runs.push({ code, doc: json ? t.json() : {}, stdout: json ? '' : t.stdout() });
      }
    }
    const [twoJson, twoHuman, oneJson, oneHuman] = runs;
    const doc = oneJson.doc as { verified: boolean; skipped: { reason: string }[]; duplicates: unknown[] };
    expect(doc.verified).toBe(true);
    expect(doc.skipped.map((s) => s.reason).sort()).toEqual(['collision', 'unowned']);
    expect(doc.duplicates).toHaveLength(1);
    expect(withoutTimings(oneJson.doc)).toEqual(withoutTimings(twoJson.doc));
    expect(oneJson.code).toBe(twoJson.code);
    expect(oneHuman.stdout).toBe(twoHuman.stdout);
    expect(oneHuman.code).toBe(twoHuman.code);
  }, 60_000);
});
