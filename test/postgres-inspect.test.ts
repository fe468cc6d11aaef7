import { describe, expect, it } from 'vitest';
import { LATEST_SCHEMA_VERSION, type Job } from 'bullmq';
import { runCli } from './helpers/cli.js';
import { freshDatabase, migrateBullmq, pgQueue, pgWorker, sql } from './helpers/postgres.js';
import { tempFile } from './helpers/temp.js';
import { until } from './helpers/wait.js';
import { DISCOVER_SQL, QUEUES_SQL, matchWorkers } from '../src/inspect/postgres-source.js';
import { run } from '../src/commands/inspect.js';
import { testContext } from './helpers/context.js';

/** `queuectl inspect` on BullMQ's PostgreSQL backend: real BullMQ producers and workers, the same queuectl/inspect@1 document. */

const topology = () => tempFile('pginspect', 'queuectl.yaml', `version: 1
queues:
  mail: { jobs: [ok, bad, later, urgent] }
  busy: { jobs: [slow] }
  held: { jobs: [held] }
  absent: { jobs: [nothing] }
`);

describe('inspect on PostgreSQL', () => {
  it('counts per state, paused, oldest waiting and workers, as on Redis', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const mail = pgQueue(url, 'mail');
    const busy = pgQueue(url, 'busy');
    const held = pgQueue(url, 'held');

    // completed and failed, by a real worker that then stops
    const finisher = pgWorker(url, 'mail', async (job: Job) => {
      if (job.name === 'bad') throw new Error('no such mailbox');
      return 'sent';
    }, 'bullmq', { name: 'mailer' });
    await mail.add('ok', { n: 1 });
    await mail.add('ok', { n: 2 });
    await mail.add('bad', { n: 3 });
    await until(async () => {
      const c = await mail.getJobCounts();
      return c.completed === 2 && c.failed === 1;
    }, 'mail: 2 completed, 1 failed');
    await finisher.close();
    for (let i = 0; i < 3; i++) await mail.add('ok', { i });
    await mail.add('urgent', {}, { priority: 5 });
    await mail.add('urgent', {}, { priority: 7 });
    await mail.add('later', {}, { delay: 3_600_000 });

    // one job held active by a named worker, one more waiting behind it
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = pgWorker(url, 'busy', async () => gate, 'bullmq', { name: 'busy-worker', concurrency: 1 });
    await busy.add('slow', {});
    await until(async () => (await busy.getJobCounts()).active === 1, 'busy: 1 active');
    await busy.add('slow', {});
    await until(async () => (await busy.getWorkers()).length === 1, 'busy: its worker discoverable');

    await held.add('held', {});
    await held.pause();

    try {
      const r = await runCli(['inspect', '--json', '-c', topology(), '--url', url]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc).toMatchObject({ schema: 'queuectl/inspect@1', backend: 'postgres' });
      expect(doc.postgres).toMatchObject({ schema: 'bullmq', schemaVersion: LATEST_SCHEMA_VERSION, expectedSchemaVersion: LATEST_SCHEMA_VERSION });
      expect(doc.postgres.connections.max).toBe(200);
      expect(doc.postgres.jobTable.bytes).toBeGreaterThan(0);
      const q = (name: string) => doc.queues.find((x: { name: string }) => x.name === name);
      expect(doc.queues.map((x: { name: string }) => x.name)).toEqual(['absent', 'busy', 'held', 'mail']);
      expect(q('mail')).toMatchObject({
        kind: 'declared', exists: true, paused: false, workers: 0,
        counts: { waiting: 3, prioritized: 2, delayed: 1, active: 0, failed: 1, completed: 2, waitingChildren: 0 },
      });
      expect(q('mail').oldestWaitingMs).toBeGreaterThanOrEqual(0);
      expect(q('busy')).toMatchObject({ exists: true, workers: 1, counts: { active: 1, waiting: 1 } });
      expect(q('held')).toMatchObject({ exists: true, paused: true, counts: { waiting: 1 } });
      expect(q('absent')).toMatchObject({ exists: false, oldestWaitingMs: null, counts: { waiting: 0 } });

      const text = await runCli(['inspect', '-c', topology(), '--url', url]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/PostgreSQL \d+\.\d+.* · schema bullmq v\d+ \(BullMQ expects v\d+\) · connections \d+\/200 · job table .*, \d+ dead rows · oldest transaction/);
      expect(text.stdout).not.toContain(new URL(url).password);
    } finally {
      release();
      await slow.close();
    }
  });

  it('inspect job shows one job as on Redis; a missing id or an unknown queue is exit 2', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const queue = pgQueue(url, 'mail');
    const job = await queue.add('send', { to: 'a@example.com' }, { jobId: 'mail-1', priority: 4, attempts: 3 });
    await job.log('queued by the test');
    const later = await queue.add('send', { to: 'b@example.com' }, { jobId: 'mail-2', delay: 60_000 });
    const r = await runCli(['inspect', 'job', 'mail', 'mail-1', '--json', '--url', url]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.schema).toBe('queuectl/inspect-job@1');
    expect(doc.job).toMatchObject({
      queue: 'mail', id: 'mail-1', name: 'send', state: 'prioritized', priority: 4, data: { to: 'a@example.com' },
      attemptsMade: 0, logs: 1, failedReason: null, dueAt: null,
    });
    expect(doc.job.opts).toMatchObject({ attempts: 3, priority: 4 });
    expect(doc.job.timestamp).toBe(job.timestamp);
    const delayed = JSON.parse((await runCli(['inspect', 'job', 'mail', 'mail-2', '--json', '--url', url])).stdout).job;
    expect(delayed).toMatchObject({ state: 'delayed', delay: 60_000 });
    expect(Date.parse(delayed.dueAt)).toBe(later.timestamp + 60_000);
    const text = await runCli(['inspect', 'job', 'mail', 'mail-1', '--url', url]);
    expect(text.stdout).toMatch(/job:\s+mail\/mail-1/);

    const missing = await runCli(['inspect', 'job', 'mail', 'nope', '--url', url]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/job mail\/nope not found/);
    const unknown = await runCli(['inspect', 'job', 'mails', 'mail-1', '--url', url]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/"mails" is not a declared, legacy or live queue — did you mean "mail"/);
  });

  it('--watch redraws from PostgreSQL until Ctrl-C, with rates', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    await pgQueue(url, 'mail').add('send', {});
    const stop = new AbortController();
    const t = testContext({ redis: url, signal: stop.signal });
    const watching = run({ watch: '0.2' }, t.ctx, ['mail']);
    let settled = false;
    void watching.catch(() => undefined).finally(() => (settled = true));
    await until(() => settled || t.stdout().split(/^every 0.2s/m).length - 1 >= 2, 'two watch frames');
    stop.abort();
    expect(await watching, 'Ctrl-C ends --watch with 130, as every interrupted command').toBe(130);
    await t.ctx.close();
    expect(t.stdout()).toContain('waiting Δ/s');
    expect(t.stdout()).toMatch(/^mail\s+undeclared\s+1\s/m);
    expect(t.stdout()).toContain('schema bullmq v');
  });

  it('without a topology, shows the queues found in the schema; a named unknown queue is exit 2', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    await pgQueue(url, 'found-one').add('x', {});
    const all = await runCli(['inspect', '--json', '--url', url]);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout).queues.map((x: { name: string }) => x.name)).toEqual(['found-one']);
    const unknown = await runCli(['inspect', 'found-on', '--url', url]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/found-one/);
  });

  it('a missing BullMQ schema, or one at another version, is exit 3 in one line naming the versions and runMigrations', async () => {
    const url = await freshDatabase();
    const missing = await runCli(['inspect', '--url', url]);
    expect(missing.code).toBe(3);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(new RegExp(`no BullMQ schema "bullmq" on postgres://postgres:\\*\\*\\*@.*expects schema version ${LATEST_SCHEMA_VERSION}.*runMigrations`));
    expect(await sql(url, `select 1 from pg_namespace where nspname = 'bullmq'`)).toEqual([]); // nothing created

    await migrateBullmq(url);
    await sql(url, `delete from bullmq.migration where version = $1`, [LATEST_SCHEMA_VERSION]);
    const behind = await runCli(['inspect', '--url', url]);
    expect(behind.code).toBe(3);
    expect(behind.stderr.trim().split('\n')).toHaveLength(1);
    expect(behind.stderr).toMatch(new RegExp(`at version ${LATEST_SCHEMA_VERSION - 1}, queuectl's BullMQ [\\d.]+ expects schema version ${LATEST_SCHEMA_VERSION} \\(1 pending migration\\) — .*runMigrations`));
  });

  it('reads through the partial indexes: no sequential scan of job on a table of realistic size', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    // 200k jobs over 100 queues in every state, written straight into BullMQ's table (as its functions would).
    await sql(url, `
      INSERT INTO bullmq.job (queue, id, seq, name, state, priority, added_at_ms, process_at_ms, finished_at_ms, locked_until_ms)
      SELECT 'q' || (g % 100), g::text, g, 'n',
             (ARRAY['waiting','waiting','delayed','active','completed','completed','completed','failed'])[1 + g % 8]::bullmq.job_state,
             CASE WHEN g % 16 = 0 THEN 3 ELSE 0 END, g, g, g, g
        FROM generate_series(1, 200000) AS g`);
    await sql(url, 'ANALYZE bullmq.job');
    const plans = [
      await sql(url, `EXPLAIN (FORMAT JSON) ${QUEUES_SQL('"bullmq"')}`, [['q1', 'q2', 'q3'], Date.now()]),
      await sql(url, `EXPLAIN (FORMAT JSON) ${DISCOVER_SQL('"bullmq"')}`),
    ];
    const seqScansOfJob = (node: any): string[] => [
      ...(node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'job' ? ['Seq Scan on job'] : []),
      ...((node.Plans ?? []) as any[]).flatMap(seqScansOfJob),
    ];
    for (const [row] of plans) {
      const plan = row['QUERY PLAN'][0].Plan;
      expect(seqScansOfJob(plan)).toEqual([]);
      expect(JSON.stringify(plan)).toMatch(/job_ready_idx|job_pkey/);
    }
    expect(JSON.stringify(plans[0])).toMatch(/job_finished_idx/);
    expect(JSON.stringify(plans[0])).toMatch(/job_delayed_idx/);

    const r = await runCli(['inspect', '--json', '--all', '--url', url]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.queues).toHaveLength(100);
    const q1 = doc.queues.find((x: { name: string }) => x.name === 'q1');
    expect(q1.counts.completed + q1.counts.failed + q1.counts.active + q1.counts.delayed + q1.counts.waiting + q1.counts.prioritized).toBe(2000);
  });

  it('doctor and inspect work as a role that may only SELECT', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    await pgQueue(url, 'mail').add('ok', {});
    const role = `qc_ro_${Math.random().toString(16).slice(2, 10)}`;
    const rolePassword = `ro-${Math.random().toString(16).slice(2)}`;
    await sql(url, `CREATE ROLE ${role} LOGIN PASSWORD '${rolePassword}'`);
    try {
      await sql(url, `GRANT USAGE ON SCHEMA bullmq TO ${role}; GRANT SELECT ON ALL TABLES IN SCHEMA bullmq TO ${role}`);
      const ro = new URL(url);
      ro.username = role;
      ro.password = rolePassword;
      // The role really cannot write: the grant is SELECT only.
      await expect(sql(ro.toString(), `DELETE FROM bullmq.job`)).rejects.toThrow(/permission denied/);
      const inspect = await runCli(['inspect', '--json', '--url', ro.toString()]);
      expect(inspect.stderr).toBe('');
      expect(inspect.code).toBe(0);
      expect(JSON.parse(inspect.stdout).queues).toMatchObject([{ name: 'mail', counts: { waiting: 1 } }]);
      const doctor = await runCli(['doctor', '--json', '--url', ro.toString()]);
      expect(doctor.code).toBe(0);
      expect(JSON.parse(doctor.stdout).checks.every((c: { status: string }) => c.status === 'ok')).toBe(true);
    } finally {
      await sql(url, `DROP OWNED BY ${role}`);
      await sql(url, `DROP ROLE ${role}`);
    }
  });

  it('matches workers as BullMQ\'s getWorkers does (queue, queue:w:name; not queue events)', () => {
    const workers = matchWorkers([
      { app: 'mail', addr: '10.0.0.1:5000', idleSeconds: 1 },
      { app: 'mail:w:mailer', addr: '10.0.0.2:5000', idleSeconds: 2 },
      { app: 'mail:qe', addr: '10.0.0.3:5000', idleSeconds: 3 },
      { app: 'mailbox', addr: '10.0.0.4:5000', idleSeconds: 4 },
      { app: 'psql', addr: 'local', idleSeconds: 0 },
    ], ['mail']);
    expect(workers.get('mail')?.map((w) => w.name)).toEqual(['10.0.0.1:5000', 'mailer']);
  });
});
