import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../src/commands/dedup-check.js';
import { postgresDedupSite } from '../src/dedup/postgres-site.js';
import { planAll, runPlansOn } from '../src/dedup/run.js';
import { InterruptedError } from '../src/errors.js';
import type { DedupReport } from '../src/dedup/types.js';
import { testContext } from './helpers/context.js';
import { freshDatabase, migrateBullmq, pgQueue, sql } from './helpers/postgres.js';

/**
 * dedup-check on BullMQ's PostgreSQL backend: real BullMQ producers (one pool each) and a canary
 * worker on createPostgresBackend, on a scratch schema built by BullMQ's migrations and dropped
 * afterwards; --live adds far-delayed canaries to the real schema and removes them.
 */

const contexts: ReturnType<typeof testContext>[] = [];
afterAll(async () => {
  await Promise.all(contexts.map((t) => t.ctx.close()));
});

async function dedupCheck(url: string, yaml: string, opts: Record<string, unknown> = {}, globals: Record<string, unknown> = {}) {
  const t = testContext({ yaml, json: true, redis: url, ...globals });
  contexts.push(t);
  const code = await run({ settleMs: 20_000, ...opts }, t.ctx);
  return { code, report: t.json<DedupReport>(), stderr: t.stderr() };
}

const schemas = async (url: string) => (await sql(url, `SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_%' AND nspname <> 'information_schema' ORDER BY 1`)).map((r) => r.nspname);

const PASSING = `
version: 1
defaults:
  attempts: 3
  backoff: { type: exponential, delay: 2s }
  removeOnComplete: { age: 1d, count: 1000 }
queues:
  process: { jobs: [smartupload.process], jobId: "process-{sessionId}", concurrency: 4 }
  secondpass:
    jobs: [smartupload.secondPass]
    jobId: "secondpass-{org.id}-{sessionId}"
    backoff: { type: steps, steps: [30s, 2m, 5m] }
    deduplication: { id: "sp-{sessionId}", ttl: 5m }
  perrequest:
    jobs: [smartupload.process]
    jobId: "process-{requestId}"
    payload:
      type: object
      properties: { sessionId: { type: string }, requestId: { type: string, description: "new per request" } }
      required: [sessionId, requestId]
`;

describe('dedup-check on PostgreSQL', () => {
  it('on a scratch schema: the same verdicts as on Redis (one job, one successful execution), and the schema is dropped', async () => {
    const url = await freshDatabase();
    const before = await schemas(url);
    const { code, report } = await dedupCheck(url, PASSING, { copies: '4' });
    expect(code, JSON.stringify(report)).toBe(1);
    expect(report.results.map((r) => [r.queue, r.jobs, r.attempts, r.completions, r.ok])).toEqual([
      ['process', 1, 2, 1, true],
      ['secondpass', 1, 2, 1, true],
      ['perrequest', 4, 8, 4, false],
    ]);
    expect(report.results[1].detail).toMatch(/deduplication key set/);
    expect(report.results[2].detail).toMatch(/^4 jobs from 4 copies of one session — jobId "process-\{requestId\}" reads requestId/);
    expect(await schemas(url)).toEqual(before);
  }, 60_000);

  it('--live: far-delayed canaries on the real schema, counted and removed; the real jobs untouched', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    await pgQueue(url, 'process').add('smartupload.process', { sessionId: 'real' }, { jobId: 'process-real' });
    const yaml = 'version: 1\nqueues:\n  process: { jobs: [smartupload.process], jobId: "process-{sessionId}", attempts: 3 }\n';
    const refused = dedupCheck(url, yaml, { live: true });
    await expect(refused).rejects.toThrow(/needs a confirmation/);
    const { code, report } = await dedupCheck(url, yaml, { live: true }, { yes: true });
    expect(code, JSON.stringify(report)).toBe(0);
    expect(report.results[0]).toMatchObject({ queue: 'process', jobs: 1, ok: true });
    const rows = await sql(url, `SELECT id, name FROM bullmq.job WHERE queue = 'process'`);
    expect(rows).toEqual([{ id: 'process-real', name: 'smartupload.process' }]);
    expect(await schemas(url)).toEqual(['bullmq', 'public']);
  }, 60_000);

  it('interrupted mid-run: the scratch schema is dropped all the same', async () => {
    const url = await freshDatabase();
    const before = await schemas(url);
    const t = testContext({ yaml: PASSING, redis: url });
    contexts.push(t);
    const { topology } = await t.ctx.topology();
    const abort = new AbortController();
    const plans = planAll(Object.values(topology.queues), 3, false);
    const running = runPlansOn(postgresDedupSite(await t.ctx.postgres()), plans, { copies: 3, live: false, prefix: '', signal: abort.signal, onQueue: () => abort.abort() });
    await expect(running).rejects.toThrow(InterruptedError);
    expect(await schemas(url)).toEqual(before);
  });

  it('a duplicate report whose transaction commits after a later event is still counted (the listener steps past it)', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const t = testContext({ yaml: PASSING, redis: url });
    contexts.push(t);
    const site = postgresDedupSite(await t.ctx.postgres());
    const from = await site.lastEventId('q', 'bullmq');
    const events = site.events('q', 'bullmq', from);
    const heard: string[] = [];
    events.on('duplicated', ({ jobId }) => void heard.push(jobId));
    events.on('added', ({ jobId }) => void heard.push(`added ${jobId}`));
    events.on('error', () => undefined);
    await events.waitUntilReady();
    const slow = new pg.Client({ connectionString: url });
    await slow.connect();
    const waitHeard = async (n: number) => {
      while (heard.length < n) await new Promise((r) => setTimeout(r, 20));
    };
    try {
      // Two producers at once: the first takes the lower event id but commits last.
      await slow.query('BEGIN');
      await slow.query(`SELECT bullmq.publish_event('q', 'duplicated', '{"jobId":"a"}'::jsonb)`);
      await sql(url, `SELECT bullmq.publish_event('q', 'duplicated', '{"jobId":"b"}'::jsonb)`);
      await waitHeard(1);
      await slow.query('COMMIT');
      await sql(url, `SELECT bullmq.publish_event('q', 'added', '{"jobId":"c"}'::jsonb)`);
      await waitHeard(2);
      // BullMQ's listener paged past "a" (the reason not to trust it here); the event table has both.
      expect(heard).toEqual(['b', 'added c']);
      expect(await site.duplicateReports('q', 'bullmq', from, undefined, 1)).toBe(2);
      expect(await site.duplicateReports('q', 'bullmq', from, new Set(['b']), 1)).toBe(1);
    } finally {
      await slow.end();
      await events.close();
    }
  });
});
