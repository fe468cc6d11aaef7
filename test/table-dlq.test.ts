import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { redisUrl } from './helpers/redis.js';
import { freshDatabase, sql } from './helpers/postgres.js';
import { tempFile } from './helpers/temp.js';
import { claimWorkerJob, createTableQueues, failWorkerJob, JOB_QUEUE_MIX, seed, TABLES_YAML, WORKER_JOB_MIX } from './helpers/table-queues.js';

/** Issue 15 item 4: dlq list/show/stats/retry/discard on a table source's dead and failed rows. */

/** Never the machine's Redis: the run's own (under an empty prefix) unless a test names another --url. */
const cli = (url: string, file: string, args: string[]) =>
  runCli([...args, '-c', file, ...(args.includes('--url') ? [] : ['--url', redisUrl(), '--prefix', 'qc-tabledlq-none'])], { env: { APP_DB: url } });
const json = async (url: string, file: string, args: string[]) => {
  const r = await cli(url, file, [...args, '--json']);
  expect(r.stderr).not.toContain('queuectl:');
  return JSON.parse(r.stdout);
};
const ids = (doc: { items: { id: string }[] }) => doc.items.map((i) => i.id).sort();

describe('dlq on legacy table sources', () => {
  it('list with filters (family, reason, age, tenant column or data field), show and stats — without touching the BullMQ backend', async () => {
    const url = await freshDatabase();
    await createTableQueues(url);
    await seed(url, 'WorkerJob', [...WORKER_JOB_MIX, { type: 'GENERATE_REVIEW', status: 'DEAD_LETTER', count: 2, dueIn: -7200, attempts: 3, lastError: 'old failure', prefix: 'old' }]);
    await seed(url, 'JobQueue', JOB_QUEUE_MIX);
    const file = tempFile('tabledlq', 'queuectl.yaml', TABLES_YAML);
    // --url points nowhere: a table-only scope must never dial it
    const only = (args: string[]) => json(url, file, ['dlq', 'list', '--queue', 'worker-jobs', '--url', 'redis://127.0.0.1:1', ...args]);
    const all = await only([]);
    expect(all.items).toHaveLength(9); // 4 + 1 dead, 2 failed, 2 old dead
    expect(all.items[0]).toMatchObject({ ref: expect.stringMatching(/^worker-jobs\//), queue: 'worker-jobs', style: 'table' });
    expect(ids(await only(['--name', 'DETECT_PATTERNS']))).toEqual(['detect_patterns-dead_letter-1', 'detect_patterns-failed-1', 'detect_patterns-failed-2']);
    expect((await only(['--match-reason', 'quota'])).items).toHaveLength(4);
    expect(ids(await only(['--older-than', '1h']))).toEqual(['old-1', 'old-2']);
    expect((await only(['--since', '1h'])).items).toHaveLength(7);
    expect(ids(await only(['--tenant', 'userId=user-b']))).toEqual(['detect_patterns-failed-1', 'detect_patterns-failed-2']);
    const co2 = await json(url, file, ['dlq', 'list', '--queue', 'job-queue', '--tenant', 'companyId=co-2', '--url', 'redis://127.0.0.1:1']);
    expect(ids(co2)).toEqual(['crm_sync-dead_letter-1', 'crm_sync-dead_letter-2']);
    const bad = await cli(url, file, ['dlq', 'list', '--queue', 'interpret', '--tenant', 'userId=x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--tenant applies to legacy table sources');

    // dlq show has no --queue: the reference names the table source
    const show = await json(url, file, ['dlq', 'show', 'worker-jobs/detect_patterns-failed-1']);
    expect(show.item).toMatchObject({ name: 'DETECT_PATTERNS', failedReason: 'pattern store down', attemptsMade: 2 });
    expect(show.payload).toMatchObject({ id: 'detect_patterns-failed-1', status: 'FAILED', userId: 'user-b', payload: { eventId: 'detect_patterns-failed-1' } });

    const stats = await json(url, file, ['dlq', 'stats', '--queue', 'worker-jobs,job-queue', '--url', 'redis://127.0.0.1:1']);
    const byQueue = Object.fromEntries(stats.queues.map((q: { queue: string }) => [q.queue, q]));
    expect(byQueue['worker-jobs']).toMatchObject({ style: 'table', count: 9, holder: '"public"."WorkerJob"' });
    expect(byQueue['worker-jobs'].topReasons[0]).toEqual({ reason: 'LLM quota exceeded', count: 4 });
    expect(byQueue['job-queue']).toMatchObject({ count: 5 });
  }, 240_000);

  it('retry --all while the application claims: ready again, attempts reset, due now, last error kept; twice = once', async () => {
    const url = await freshDatabase();
    await createTableQueues(url);
    await seed(url, 'WorkerJob', [
      { type: 'INTERPRET_EVENT', status: 'DEAD_LETTER', count: 300, attempts: 3, lastError: 'LLM quota exceeded', dueIn: -3600, prefix: 'dead' },
      { type: 'DETECT_PATTERNS', status: 'DEAD_LETTER', count: 5, attempts: 3, lastError: 'other', prefix: 'keep' },
      { type: 'INTERPRET_EVENT', status: 'PENDING', count: 100, prefix: 'ready' },
    ]);
    const file = tempFile('tabledlq', 'queuectl.yaml', TABLES_YAML);
    let claiming = true;
    const claimed: string[] = [];
    const workers = [1, 2].map(async (n) => {
      while (claiming) {
        const row = await claimWorkerJob(url, `app-${n}`);
        if (row) claimed.push(row.id);
        else await new Promise((r) => setTimeout(r, 5));
      }
    });
    const dry = await json(url, file, ['dlq', 'retry', '--all', '--queue', 'worker-jobs', '--name', 'INTERPRET_EVENT', '--dry-run']);
    expect(dry).toMatchObject({ dryRun: true, planned: 300, retried: 0 });
    const refused = await cli(url, file, ['dlq', 'retry', '--all', '--queue', 'worker-jobs', '--name', 'INTERPRET_EVENT']);
    expect(refused.code).toBe(2);
    const done = await json(url, file, ['dlq', 'retry', '--all', '--queue', 'worker-jobs', '--name', 'INTERPRET_EVENT', '--yes', '--batch', '50']);
    expect(done.retried).toBe(300);
    // the application picks the retried rows up like any ready row
    while (claimed.filter((id) => id.startsWith('dead-')).length < 20) await new Promise((r) => setTimeout(r, 10));
    const again = await json(url, file, ['dlq', 'retry', '--all', '--queue', 'worker-jobs', '--name', 'INTERPRET_EVENT', '--yes']);
    expect(again).toMatchObject({ planned: 0, retried: 0 });
    claiming = false;
    await Promise.all(workers);
    const rows = await sql(url, `SELECT status::text AS status, attempts, "lastError", "availableAt" <= now() AS due FROM "WorkerJob" WHERE id LIKE 'dead-%'`);
    expect(rows).toHaveLength(300);
    for (const r of rows) {
      expect(r.lastError).toBe('LLM quota exceeded');
      expect(r.due).toBe(true);
      expect(['PENDING', 'PROCESSING']).toContain(r.status);
      expect(r.attempts).toBe(r.status === 'PENDING' ? 0 : 1);
    }
    expect(new Set(claimed).size).toBe(claimed.length);
    expect((await sql(url, `SELECT count(*)::int AS n FROM "WorkerJob" WHERE id LIKE 'keep-%' AND status = 'DEAD_LETTER'`))[0].n).toBe(5);
    // one that fails again goes back to the dead letters by the app's own path, and can be retried again
    const some = claimed.find((id) => id.startsWith('dead-'))!;
    await sql(url, `UPDATE "WorkerJob" SET attempts = "maxAttempts" WHERE id = $1`, [some]);
    await failWorkerJob(url, some, 'still failing');
    const ref = `worker-jobs/${some}`;
    expect((await json(url, file, ['dlq', 'retry', ref, '--yes'])).retried).toBe(1);
    const second = await cli(url, file, ['dlq', 'retry', ref, '--yes']);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('retried already?');
  }, 240_000);

  it('discard keeps the whole row with the reason in queuectl.discarded_rows; in bulk; idempotent', async () => {
    const url = await freshDatabase();
    await createTableQueues(url);
    await seed(url, 'JobQueue', JOB_QUEUE_MIX);
    const file = tempFile('tabledlq', 'queuectl.yaml', TABLES_YAML);
    const noReason = await cli(url, file, ['dlq', 'discard', '--all', '--queue', 'job-queue', '--yes']);
    expect(noReason.code).toBe(2);
    const r = await json(url, file, ['dlq', 'discard', '--all', '--queue', 'job-queue', '--match-reason', 'HubSpot', '--reason', 'token revoked for good, customer told', '--yes']);
    expect(r).toMatchObject({ planned: 2, discarded: 2 });
    expect((await sql(url, `SELECT count(*)::int AS n FROM "JobQueue" WHERE type = 'crm_sync' AND status = 'DEAD_LETTER'`))[0].n).toBe(0);
    const kept = await sql(url, 'SELECT row_id, family, reason, source, row_data FROM queuectl.discarded_rows ORDER BY row_id');
    expect(kept.map((k) => [k.row_id, k.family, k.reason, k.source])).toEqual([
      ['crm_sync-dead_letter-1', 'crm_sync', 'token revoked for good, customer told', 'job-queue'],
      ['crm_sync-dead_letter-2', 'crm_sync', 'token revoked for good, customer told', 'job-queue'],
    ]);
    expect(kept[0].row_data).toMatchObject({ lastError: 'HubSpot token revoked', payload: { companyId: 'co-2' } });
    const again = await json(url, file, ['dlq', 'discard', '--all', '--queue', 'job-queue', '--match-reason', 'HubSpot', '--reason', 'again', '--yes']);
    expect(again.planned).toBe(0);
    expect((await sql(url, 'SELECT count(*)::int AS n FROM queuectl.discarded_rows'))[0].n).toBe(2);
  }, 240_000);
});
