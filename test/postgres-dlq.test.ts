import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Job } from 'bullmq';
import { bin, repoRoot, runCli } from './helpers/cli.js';
import { freshDatabase, migrateBullmq, pgQueue, pgWorker, sql } from './helpers/postgres.js';
import { tempFile } from './helpers/temp.js';
import { until } from './helpers/wait.js';
import { DLQ_PAGE_SQL, FAILED_PAGE_SQL } from '../src/dlq/postgres-read.js';

/**
 * `queuectl dlq` on BullMQ's PostgreSQL backend, with real BullMQ queues and workers: a worker
 * that fails jobs fills the failed set (or the app's dead-letter queue); retry puts them back the
 * way BullMQ's reprocess_job does; a succeeding worker then runs each exactly once.
 */

const FIELDS = '{ queue: originalQueue, id: originalJobId, name: originalName, data: originalData, reason: failedReason, failedAt: failedAt, attempts: attemptsMade }';
const topology = () => tempFile('pgdlq', 'queuectl.yaml', `version: 1
queues:
  mail: { jobs: [send, urgent], attempts: 1, deadLetter: failed }
  ocr: { jobs: [ocr.process], attempts: 1, deadLetter: { queue: ocr-dead, fields: ${FIELDS} } }
  ocr-dead: { jobs: [dead-letter], dedup: none, attempts: 1, deadLetter: failed }
`);

const state = async (url: string, queue: string) => Object.fromEntries((await sql(url, `SELECT id, state::text AS state FROM bullmq.job WHERE queue = $1`, [queue])).map((r) => [r.id, r.state]));
const count = async (url: string, queue: string, st: string) => Number((await sql(url, `SELECT count(*) AS n FROM bullmq.job WHERE queue = $1 AND state = $2`, [queue, st]))[0].n);

describe('dlq on PostgreSQL', () => {
  it('a queue\'s failed set: list, stats, show, retry (reprocess_job, attempts reset, never twice), discard', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const mail = pgQueue(url, 'mail');
    const failing = pgWorker(url, 'mail', async (job: Job) => {
      throw new Error(`mailbox full for ${job.id}`);
    });
    for (let i = 1; i <= 4; i++) await mail.add('send', { orgId: `org-${i % 2}`, n: i }, { jobId: `m-${i}` });
    await mail.add('urgent', { orgId: 'org-1' }, { jobId: 'm-5', priority: 3 });
    await until(async () => (await count(url, 'mail', 'failed')) === 5, 'mail: 5 failed');
    await failing.close();
    const base = ['-c', topology(), '--url', url];

    const list = await runCli(['dlq', 'list', '--json', ...base]);
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    const items = JSON.parse(list.stdout).items;
    expect(items.map((i: { ref: string }) => i.ref).sort()).toEqual(['mail/m-1', 'mail/m-2', 'mail/m-3', 'mail/m-4', 'mail/m-5']);
    expect(items[0]).toMatchObject({ queue: 'mail', attemptsMade: 1 });
    expect(items.find((i: { id: string }) => i.id === 'm-2').failedReason).toBe('mailbox full for m-2');
    const org = JSON.parse((await runCli(['dlq', 'list', '--json', '--org', 'org-1', '--name', 'send', ...base])).stdout).items;
    expect(org.map((i: { id: string }) => i.id).sort()).toEqual(['m-1', 'm-3']);

    const stats = JSON.parse((await runCli(['dlq', 'stats', '--json', ...base])).stdout);
    expect(stats.queues.find((r: { queue: string }) => r.queue === 'mail')).toMatchObject({ style: 'failed', count: 5, sampled: 5 });

    const show = await runCli(['dlq', 'show', 'mail/m-2', '--json', ...base]);
    expect(show.code).toBe(0);
    const shown = JSON.parse(show.stdout);
    expect(shown.item.ref).toBe('mail/m-2');
    expect(shown.job.stacktrace.join('\n')).toContain('mailbox full for m-2');

    // discard: --reason required, dry run and confirmation as on Redis
    expect((await runCli(['dlq', 'discard', 'mail/m-4', ...base])).code).toBe(2);
    const dry = await runCli(['dlq', 'discard', 'mail/m-4', '--reason', 'bounced', '--dry-run', '--json', ...base]);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, planned: 1, discarded: 0 });
    const noYes = await runCli(['dlq', 'discard', 'mail/m-4', '--reason', 'bounced', ...base]);
    expect(noYes.code).toBe(2);
    expect((await state(url, 'mail'))['m-4']).toBe('failed');
    const discard = await runCli(['dlq', 'discard', 'mail/m-4', '--reason', 'bounced', '--yes', '--json', ...base]);
    expect(discard.code).toBe(0);
    expect(JSON.parse(discard.stdout).discarded).toBe(1);
    expect((await state(url, 'mail'))['m-4']).toBeUndefined();
    const [record] = await sql(url, `SELECT data FROM bullmq.event WHERE queue = 'mail' AND event = 'queuectl:dlq:discarded'`);
    expect(record.data).toMatchObject({ ref: 'mail/m-4', reason: 'bounced' });

    // retry: dry run changes nothing; then every failed job back to waiting under its id
    const plan = await runCli(['dlq', 'retry', '--all', '--dry-run', '--json', ...base]);
    expect(JSON.parse(plan.stdout)).toMatchObject({ planned: 4, retried: 0 });
    expect(await count(url, 'mail', 'failed')).toBe(4);
    const retry = await runCli(['dlq', 'retry', '--all', '--yes', '--json', ...base]);
    expect(retry.stderr).not.toMatch(/Warning|queuectl:/);
    expect(retry.code).toBe(0);
    expect(JSON.parse(retry.stdout).retried).toBe(4);
    const rows = await sql(url, `SELECT id, state::text AS state, priority, attempts_made, failed_reason FROM bullmq.job WHERE queue = 'mail' ORDER BY id`);
    expect(rows).toEqual([
      { id: 'm-1', state: 'waiting', priority: 0, attempts_made: 0, failed_reason: null },
      { id: 'm-2', state: 'waiting', priority: 0, attempts_made: 0, failed_reason: null },
      { id: 'm-3', state: 'waiting', priority: 0, attempts_made: 0, failed_reason: null },
      { id: 'm-5', state: 'waiting', priority: 3, attempts_made: 0, failed_reason: null },
    ]);
    const events = await sql(url, `SELECT data->>'jobId' AS id FROM bullmq.event WHERE queue = 'mail' AND event = 'waiting' AND data->>'prev' = 'failed'`);
    expect(events.map((e) => e.id).sort()).toEqual(['m-1', 'm-2', 'm-3', 'm-5']);
    const again = await runCli(['dlq', 'retry', '--all', '--yes', '--json', ...base]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).retried).toBe(0);
    expect((await runCli(['dlq', 'show', 'mail/m-1', ...base])).code).toBe(2);

    const runs: string[] = [];
    pgWorker(url, 'mail', async (job: Job) => {
      runs.push(job.id!);
      return 'sent';
    });
    await until(async () => (await count(url, 'mail', 'completed')) === 4, 'mail: 4 completed');
    expect(runs.sort()).toEqual(['m-1', 'm-2', 'm-3', 'm-5']);
  }, 180_000); // fourteen spawned commands: minutes on a loaded 2-core machine

  it('a dead-letter queue in the declared item shape: retried into its queue under its id and marked, once', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const ocr = pgQueue(url, 'ocr');
    const dead = pgQueue(url, 'ocr-dead');
    // The app's worker: on the last failure it writes the job into the dead-letter queue.
    const failing = pgWorker(url, 'ocr', async (job: Job) => {
      throw new Error(`unreadable scan ${job.id}`);
    });
    failing.on('failed', (job, error) => {
      if (job) void dead.add('dead-letter', { originalQueue: 'ocr', originalJobId: job.id, originalName: job.name, originalData: job.data, failedReason: error.message, failedAt: Date.now(), attemptsMade: job.attemptsMade });
    });
    for (let i = 1; i <= 3; i++) await ocr.add('ocr.process', { orgId: 'org-9', file: `f${i}.pdf` }, { jobId: `o-${i}` });
    await until(async () => (await count(url, 'ocr-dead', 'waiting')) === 3, 'ocr-dead: 3 dead letters');
    await failing.close();
    // The failed originals are removed, as an app that dead-letters would (removeOnFail).
    await sql(url, `DELETE FROM bullmq.job WHERE queue = 'ocr'`);
    const base = ['-c', topology(), '--url', url];

    const list = JSON.parse((await runCli(['dlq', 'list', '--json', '--queue', 'ocr', ...base])).stdout).items;
    expect(list.map((i: { queue: string; id: string }) => `${i.queue}/${i.id}`).sort()).toEqual(['ocr/o-1', 'ocr/o-2', 'ocr/o-3']);
    expect(list[0].failedReason).toMatch(/^unreadable scan o-/);
    const show = JSON.parse((await runCli(['dlq', 'show', 'ocr/o-2', '--json', ...base])).stdout);
    expect(show.carried.data).toEqual({ orgId: 'org-9', file: 'f2.pdf' });

    const discard = await runCli(['dlq', 'discard', 'ocr/o-3', '--reason', 'file gone', '--yes', '--json', ...base]);
    expect(discard.code).toBe(0);
    expect(JSON.parse(discard.stdout).discarded).toBe(1);

    const retry = await runCli(['dlq', 'retry', '--all', '--yes', '--json', ...base]);
    expect(retry.stderr).not.toMatch(/Warning|queuectl:/);
    expect(retry.code).toBe(0);
    expect(JSON.parse(retry.stdout).retried).toBe(2);
    expect(await state(url, 'ocr')).toEqual({ 'o-1': 'waiting', 'o-2': 'waiting' });
    const [o2] = await sql(url, `SELECT name, data, max_attempts FROM bullmq.job WHERE queue = 'ocr' AND id = 'o-2'`);
    expect(o2).toEqual({ name: 'ocr.process', data: { orgId: 'org-9', file: 'f2.pdf' }, max_attempts: 1 });
    const marks = await sql(url, `SELECT opts->'queuectl'->>'status' AS status, data->>'originalJobId' AS id FROM bullmq.job WHERE queue = 'ocr-dead' ORDER BY 2`);
    expect(marks.map((m) => m.status)).toEqual(['retried', 'retried', 'discarded']);
    const again = await runCli(['dlq', 'retry', '--all', '--yes', '--json', ...base]);
    expect(JSON.parse(again.stdout).retried).toBe(0);
    const stats = JSON.parse((await runCli(['dlq', 'stats', '--json', ...base])).stdout);
    expect(stats.queues.find((r: { queue: string }) => r.queue === 'ocr')).toMatchObject({ style: 'queue', holder: 'ocr-dead', count: 0 });

    const runs: string[] = [];
    pgWorker(url, 'ocr', async (job: Job) => {
      runs.push(job.id!);
    });
    await until(async () => (await count(url, 'ocr', 'completed')) === 2, 'ocr: 2 completed');
    expect(runs.sort()).toEqual(['o-1', 'o-2']);
  });

  it('a bulk retry killed with SIGKILL at observed progress is finished by a rerun: none twice, none lost', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const mail = pgQueue(url, 'mail');
    const total = 6000;
    for (let from = 0; from < total; from += 1000) {
      await mail.addBulk(Array.from({ length: 1000 }, (_, i) => ({ name: 'send', data: { n: from + i }, opts: { jobId: `b-${from + i}` } })));
    }
    // Failed the way move_to_failed leaves a row (a worker failing 6000 jobs one by one is slow).
    await sql(url, `UPDATE bullmq.job SET state = 'failed', failed_reason = 'smtp down', attempts_made = 1, finished_at_ms = added_at_ms + 1 WHERE queue = 'mail'`);
    const base = ['-c', topology(), '--url', url];
    const child = spawn(process.execPath, [bin, 'dlq', 'retry', '--all', '--yes', '--rate', '2000', ...base], { cwd: repoRoot, stdio: 'ignore' });
    let exited = false;
    const exit = new Promise((r) => child.once('exit', r)).then(() => (exited = true));
    await until(async () => exited || (await count(url, 'mail', 'waiting')) >= 1000, '1000 jobs back in waiting');
    child.kill('SIGKILL');
    await exit;
    const moved = await count(url, 'mail', 'waiting');
    expect(moved).toBeLessThan(total);
    expect(moved + (await count(url, 'mail', 'failed'))).toBe(total);
    const rerun = await runCli(['dlq', 'retry', '--all', '--yes', '--json', ...base]);
    expect(rerun.code).toBe(0);
    expect(JSON.parse(rerun.stdout).retried).toBe(total - moved);
    expect(await count(url, 'mail', 'waiting')).toBe(total);
    const waitingEvents = await sql(url, `SELECT count(*) AS n, count(DISTINCT data->>'jobId') AS d FROM bullmq.event WHERE queue = 'mail' AND event = 'waiting' AND data->>'prev' = 'failed'`);
    expect(waitingEvents[0]).toEqual({ n: String(total), d: String(total) });
  }, 120_000);

  it('a batch that fails midway leaves every job where it was (one transaction), exit 3 in one line', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const mail = pgQueue(url, 'mail');
    const failing = pgWorker(url, 'mail', async () => {
      throw new Error('boom');
    });
    for (let i = 1; i <= 5; i++) await mail.add('send', { i }, { jobId: `t-${i}` });
    await until(async () => (await count(url, 'mail', 'failed')) === 5, 'mail: 5 failed');
    await failing.close();
    // The 4th job of the batch cannot be written (a server-side refusal after 3 writes of the batch).
    await sql(url, `CREATE FUNCTION public.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.id = 't-4' AND NEW.state = 'waiting' THEN RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse BEFORE UPDATE ON bullmq.job FOR EACH ROW EXECUTE FUNCTION public.refuse();`);
    const base = ['-c', topology(), '--url', url];
    const r = await runCli(['dlq', 'retry', '--all', '--yes', ...base]);
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('queuectl:'))).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).toMatch(/^queuectl: .*disk full/m);
    expect(await count(url, 'mail', 'failed')).toBe(5);
    expect(await sql(url, `SELECT count(*)::int AS n FROM bullmq.event WHERE queue = 'mail' AND event = 'waiting' AND data->>'prev' = 'failed'`)).toEqual([{ n: 0 }]);
    await sql(url, 'DROP TRIGGER refuse ON bullmq.job');
    const rerun = await runCli(['dlq', 'retry', '--all', '--yes', '--json', ...base]);
    expect(JSON.parse(rerun.stdout).retried).toBe(5);
  });

  it('pages through the indexes: no sequential scan of job on a table of realistic size', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    await sql(url, `
      INSERT INTO bullmq.job (queue, id, seq, name, state, added_at_ms, finished_at_ms)
      SELECT 'q' || (g % 100), g::text, g, 'n',
             (ARRAY['waiting','completed','completed','failed'])[1 + g % 4]::bullmq.job_state, g, g
        FROM generate_series(1, 200000) AS g`);
    await sql(url, 'ANALYZE bullmq.job');
    const failed = JSON.stringify(await sql(url, `EXPLAIN (FORMAT JSON) ${FAILED_PAGE_SQL('"bullmq"')}`, ['q3', 0, Date.now(), 5000, '5000', 500]));
    const dead = JSON.stringify(await sql(url, `EXPLAIN (FORMAT JSON) ${DLQ_PAGE_SQL('"bullmq"')}`, ['q3', '', 500]));
    expect(failed).not.toMatch(/Seq Scan/);
    expect(failed).toMatch(/job_finished_idx/);
    expect(dead).not.toMatch(/Seq Scan/);
    expect(dead).toMatch(/job_pkey/);
  });

  it('no BullMQ schema, or no server: exit 3 in one line, before anything is read', async () => {
    const url = await freshDatabase();
    const r = await runCli(['dlq', 'list', '-c', topology(), '--url', url]);
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^queuectl: no BullMQ schema "bullmq"/);
    const closed = await runCli(['dlq', 'retry', '--all', '--yes', '-c', topology(), '--url', 'postgres://app:pw@127.0.0.1:1/db', '--timeout', '2000']);
    expect(closed.code).toBe(3);
    expect(closed.stderr.trim().split('\n')).toHaveLength(1);
    expect(closed.stderr).not.toContain(':pw@');
  });

  it('--canary on PostgreSQL: the first retried job must complete in the real worker before the rest go', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const mail = pgQueue(url, 'mail');
    let fail = true;
    const runs: string[] = [];
    pgWorker(url, 'mail', async (job: Job) => {
      if (fail) throw new Error('smtp down');
      runs.push(job.id!);
    });
    for (let i = 1; i <= 3; i++) await mail.add('send', { i }, { jobId: `c-${i}` });
    await until(async () => (await count(url, 'mail', 'failed')) === 3, 'mail: 3 failed');
    fail = false;
    const r = await runCli(['dlq', 'retry', '--all', '--yes', '--canary', '1', '--json', '-c', topology(), '--url', url]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ retried: 3, canary: { ok: true, timedOut: false } });
    expect(doc.canary.states).toHaveLength(1);
    await until(async () => (await count(url, 'mail', 'completed')) === 3, 'mail: 3 completed');
    expect(runs.sort()).toEqual(['c-1', 'c-2', 'c-3']);
  });
});
