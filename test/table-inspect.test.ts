import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { redisUrl } from './helpers/redis.js';
import { freshDatabase, sql } from './helpers/postgres.js';
import { tempFile } from './helpers/temp.js';
import { testContext } from './helpers/context.js';
import { createTableQueues, JOB_QUEUE_MIX, seed, TABLES_YAML, WORKER_JOB_MIX } from './helpers/table-queues.js';
import { resolveTableSource } from '../src/table/resolve.js';
import { activeQuery, attemptsQuery, exceededQuery, familyStatusQuery, priorityQuery, readyQuery, statusQuery, type Query } from '../src/table/reads.js';
import { run as inspect } from '../src/commands/inspect.js';
import type { TableSource } from '../src/table/types.js';
import { readOnly } from '../src/table/session.js';
import { stuckQueries } from '../src/table/stuck.js';
import { deadPageQuery } from '../src/table/dead.js';

/** Issue 15 item 2: inspect of a legacy table source, index-backed on a realistic table. */


describe('inspect <table source>', () => {
  it('per family: ready, scheduled, active, stuck, failed, dead, completed, oldest ready; attempts; lock holders', async () => {
    const url = await freshDatabase();
    await createTableQueues(url);
    await seed(url, 'WorkerJob', WORKER_JOB_MIX);
    await seed(url, 'JobQueue', JOB_QUEUE_MIX);
    const t = testContext({ yaml: TABLES_YAML, sourceUrl: url, json: true });
    expect(await inspect({ byStatus: true }, t.ctx, ['worker-jobs', 'job-queue'])).toBe(0);
    await t.ctx.close();
    const doc = t.json();
    expect(doc.schema).toBe('queuectl/inspect@1');
    expect(doc.queues).toBeUndefined(); // only the tables were named: the --url backend is never dialled
    const [worker, queue] = doc.tables;
    const family = (name: string) => worker.families.find((f: { family: string }) => f.family === name);
    expect(family('INTERPRET_EVENT')).toMatchObject({ ready: 12, scheduled: 3, active: 3, stuck: 1, failed: 0, dead: 4, completed: 20, other: 0 });
    expect(family('INTERPRET_EVENT').oldestReadyMs).toBeGreaterThanOrEqual(59_000);
    expect(family('DETECT_PATTERNS')).toMatchObject({ ready: 5, scheduled: 0, failed: 2, dead: 1 });
    expect(family('GENERATE_INSIGHTS')).toMatchObject({ ready: 0, scheduled: 2, active: 1, stuck: 1, completed: 6, oldestReadyMs: null });
    expect(worker.holders).toEqual(expect.arrayContaining([
      expect.objectContaining({ lockedBy: 'worker-a', rows: 2, stuck: 0 }),
      expect.objectContaining({ lockedBy: 'worker-dead', rows: 1, stuck: 1 }),
      expect.objectContaining({ lockedBy: 'worker-b', rows: 1, stuck: 1 }),
    ]));
    // rows not completed by attempts: 12+5+2 ready at 0; 3 retries + 2 active + 1 stuck at 1; 2 failed + 1 stuck at 2; 5 dead at 3
    expect(worker.attempts).toEqual([{ attempts: 0, rows: 19 }, { attempts: 1, rows: 6 }, { attempts: 2, rows: 3 }, { attempts: 3, rows: 5 }]);
    expect(worker.statuses).toEqual([
      { status: 'COMPLETED', role: 'completed', rows: 26 }, { status: 'DEAD_LETTER', role: 'dead', rows: 5 }, { status: 'FAILED', role: 'failed', rows: 2 },
      { status: 'PENDING', role: 'ready', rows: 22 }, { status: 'PROCESSING', role: 'active', rows: 4 },
    ]);
    expect(worker.warnings).toEqual([]);
    expect(worker.mapping.columns.runAt).toEqual({ column: 'availableAt', guessed: true });
    // JobQueue: lockTimeout 5m, so the lead_import row locked 20 min ago is stuck; no FAILED status at all
    const q = (name: string) => queue.families.find((f: { family: string }) => f.family === name);
    expect(q('lead_import')).toMatchObject({ active: 1, stuck: 1 });
    expect(q('campaign_send')).toMatchObject({ ready: 0, scheduled: 4, completed: 10 });
    expect(q('ai_generation')).toMatchObject({ ready: 8, active: 1, stuck: 0, dead: 3 });
    expect(queue.mapping.status).toEqual({ ready: 'PENDING', active: 'PROCESSING', completed: 'COMPLETED', dead: 'DEAD_LETTER' });
  });

  it('the CLI prints the mapping and the family table; missing indexes are a plain warning', async () => {
    const url = await freshDatabase();
    await createTableQueues(url);
    await seed(url, 'WorkerJob', WORKER_JOB_MIX);
    const file = tempFile('tableinspect', 'queuectl.yaml', TABLES_YAML);
    const ok = await runCli(['inspect', 'worker-jobs', '-c', file], { env: { APP_DB: url } });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('worker-jobs: table "public"."WorkerJob"');
    expect(ok.stdout).toMatch(/family +ready +scheduled +active +stuck +failed +dead +completed +oldest ready/);
    expect(ok.stdout).toMatch(/INTERPRET_EVENT +12 +3 +3 +1 +0 +4 +20 +1m/);
    expect(ok.stdout).toMatch(/worker-dead +1 +1 +30m/);
    await sql(url, 'DROP INDEX "WorkerJob_status_availableAt_priority_idx"; DROP INDEX "WorkerJob_type_status_idx"');
    const warned = await runCli(['inspect', 'worker-jobs', '-c', file], { env: { APP_DB: url } });
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain('warning: "public"."WorkerJob" has no index on (type, status)');
    expect(warned.stderr).toContain('has no index serving the claim query on "status", "availableAt", "priority"');
    expect(warned.stdout).toMatch(/INTERPRET_EVENT +12 +3 +3 +1 +0 +4 +20/);
  });

  it('an unknown table source name is exit 2 with a did-you-mean', async () => {
    const file = tempFile('tableinspect', 'queuectl.yaml', `prefix: qc-${Date.now()}\n${TABLES_YAML}`);
    const r = await runCli(['inspect', 'worker-job', '-c', file, '--url', redisUrl()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('did you mean "worker-jobs"?');
  });
});

describe('index-backed reads on a realistic table (200k rows)', () => {
  it('EXPLAIN shows no sequential scan for any read of inspect, check, stuck and dlq, on both designs', async () => {
    const url = await freshDatabase();
    await createTableQueues(url);
    const families = ['INTERPRET_EVENT', 'DETECT_PATTERNS', 'GENERATE_INSIGHTS', 'GENERATE_REVIEW', 'GENERATE_TOMORROW_PLAN', 'SUGGEST_UOM_UPDATE'];
    await seed(url, 'WorkerJob', families.flatMap((type) => [
      { type, status: 'COMPLETED', count: 30_000, attempts: 1 },
      { type, status: 'PENDING', count: 2_520, dueIn: -30 },
      { type, status: 'PENDING', count: 500, dueIn: 600, prefix: `${type}-later` },
      { type, status: 'PROCESSING', count: 20, lockedFor: -20, attempts: 1 },
      { type, status: 'DEAD_LETTER', count: 300, attempts: 3, lastError: 'boom' },
    ]));
    const qFamilies = ['ai_generation', 'campaign_send', 'crm_sync', 'lead_import'];
    await seed(url, 'JobQueue', qFamilies.flatMap((type) => [
      { type, status: 'COMPLETED', count: 45_000, attempts: 1 },
      { type, status: 'PENDING', count: 4_000 },
      { type, status: 'PROCESSING', count: 10, lockedFor: -10, attempts: 1 },
      { type, status: 'DEAD_LETTER', count: 500, attempts: 3 },
    ]));
    await sql(url, 'ANALYZE "WorkerJob", "JobQueue"');
    expect((await sql(url, 'SELECT count(*)::int AS n FROM "WorkerJob"'))[0].n).toBeGreaterThanOrEqual(200_000);
    const t = testContext({ yaml: TABLES_YAML, sourceUrl: url });
    for (const name of ['worker-jobs', 'job-queue']) {
      const source = await resolveTableSource(t.ctx, name);
      const queries = [familyStatusQuery, statusQuery, readyQuery, activeQuery, attemptsQuery, exceededQuery, priorityQuery].map((q) => q(source)).filter((q): q is Query => q !== undefined);
      expect(queries.length).toBe(7);
      // stuck's count and list; dlq's pages (first, filtered, and after a cursor)
      queries.push(...stuckQueries(source, source.lockTimeoutMs, 1000));
      queries.push(deadPageQuery(source, {}, undefined, 500), deadPageQuery(source, { names: [families[0]], since: Date.now() - 86_400_000 }, { failedMs: Date.now(), id: 'z' }, 500));
      for (const q of queries) {
        const plan = await explain(source, q);
        expect(plan, `${name}: ${q.text}`).not.toContain('Seq Scan');
        expect(plan).toMatch(/Index (Only )?Scan|Bitmap Index Scan/);
      }
    }
    await t.ctx.close();
  }, 120_000);
});

/** The plan of `q` as inspect and check run it: inside readOnly()'s transaction and settings. */
async function explain(source: TableSource, q: Query): Promise<string> {
  return readOnly(source.db, async () => {
    const rows = await source.db.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${q.text}`, q.params);
    return JSON.stringify(rows[0]['QUERY PLAN']);
  });
}
