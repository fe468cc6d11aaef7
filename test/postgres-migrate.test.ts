import { describe, expect, it, onTestFinished } from 'vitest';
import { spawn } from 'node:child_process';
import pg from 'pg';
import { FlowProducer, QueueEvents, createPostgresBackend, type Job } from 'bullmq';
import { bin, repoRoot, runCli } from './helpers/cli.js';
import { freshDatabase, migrateBullmq, pgQueue, pgWorker, sql } from './helpers/postgres.js';
import { tempFile } from './helpers/temp.js';
import { until } from './helpers/wait.js';

/**
 * `queuectl migrate` on BullMQ's PostgreSQL backend: a legacy shared queue moved into per-family
 * queues within one schema, with real BullMQ Postgres producers and workers on both sides.
 */

const yaml = () => tempFile('pgmig', 'queuectl.yaml', `version: 1
queues:
  alpha: { jobs: [a.process], dedup: none }
  beta: { jobs: [b.second], dedup: none }
workers:
  w: { queues: [alpha, beta] }
legacy:
  legacy: { note: shared }
`);

/** Every column of the source's rows but the queue, keyed by id (the move changes nothing else). */
async function rows(url: string, queues: string[]): Promise<Map<string, unknown>> {
  const found = await sql<{ id: string; row: unknown }>(url, `SELECT id, to_jsonb(j) - 'queue' AS row FROM bullmq.job j WHERE queue = ANY($1) ORDER BY id`, [queues]);
  return new Map(found.map((r) => [r.id, r.row]));
}

describe('migrate on PostgreSQL', () => {
  it('moves a mixed legacy queue whole, keeps order, leaves active, flow and colliding jobs, and real workers run every job once', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const legacy = pgQueue(url, 'legacy');
    const alpha = pgQueue(url, 'alpha');
    // The old worker: fails one job, then holds one active (locked) while the migration runs.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    onTestFinished(() => release());
    const old = pgWorker(url, 'legacy', async (job: Job) => {
      if (job.data.fail) throw new Error('boom');
      if (job.data.hold) await gate;
    }, 'bullmq', { concurrency: 1 });
    await legacy.add('b.second', { fail: true }, { jobId: 'failed-1' });
    await until(async () => (await legacy.getJobCounts()).failed === 1, 'one failed job');
    await legacy.add('a.process', { hold: true }, { jobId: 'held' });
    await until(async () => (await legacy.getJobCounts()).active === 1, 'one active job');

    const fifo: string[] = [];
    for (let i = 0; i < 5; i++) fifo.push((await legacy.add('a.process', { i }))!.id!);
    const logged = await legacy.add('a.process', { logged: true }, { deduplication: { id: 'dd-1' } });
    fifo.push(logged.id!);
    await logged.log('line one');
    await logged.log('line two');
    const prioritized: string[] = [];
    for (const p of [3, 1, 2]) prioritized.push((await legacy.add('b.second', { p }, { priority: p, jobId: `p${p}` })).id!);
    await legacy.add('a.process', { later: true }, { delay: 3_600_000, jobId: 'later' });
    await legacy.add('mystery', {}, { jobId: 'unowned-1' });
    await alpha.add('a.process', { theirs: true }, { jobId: 'taken' });
    await legacy.add('a.process', { ours: true }, { jobId: 'taken' });
    const flow = new FlowProducer({ connection: { connectionString: url, schema: 'bullmq' } as never }, createPostgresBackend as never);
    await flow.add({ name: 'a.process', queueName: 'legacy', data: { parent: true }, opts: { jobId: 'parent' }, children: [{ name: 'a.process', queueName: 'legacy', data: { child: true }, opts: { jobId: 'child' } }] });
    await flow.close();

    const movable = ['failed-1', ...fifo, ...prioritized, 'later'];
    const before = await rows(url, ['legacy']);
    const logsBefore = await sql(url, `SELECT job_id, idx, row FROM bullmq.job_log WHERE queue = 'legacy' ORDER BY job_id, idx`);

    // A real QueueEvents listener on a destination hears the moved jobs as BullMQ's add announces them.
    const events = new QueueEvents('alpha', { connection: { connectionString: url, schema: 'bullmq' } as never }, createPostgresBackend as never);
    onTestFinished(() => events.close());
    await events.waitUntilReady();
    const heard: string[] = [];
    events.on('waiting', ({ jobId }) => void heard.push(`waiting:${jobId}`));
    events.on('delayed', ({ jobId }) => void heard.push(`delayed:${jobId}`));

    const cfg = yaml();
    const dry = await runCli(['migrate', '--from', 'legacy', '--states', 'wait,prioritized,delayed,failed', '--dry-run', '--json', '-c', cfg, '--url', url]);
    expect(dry.stderr).toBe('');
    const plan = JSON.parse(dry.stdout);
    expect(plan.dryRun).toBe(true);
    expect(await sql(url, `SELECT count(*)::int AS n FROM bullmq.job WHERE queue = 'legacy'`)).toEqual([{ n: before.size }]);

    const r = await runCli(['migrate', '--from', 'legacy', '--states', 'wait,prioritized,delayed,failed', '--yes', '--json', '-c', cfg, '--url', url]);
    const doc = JSON.parse(r.stdout);
    // Jobs stay (active, flow, collision, unowned): exit 1, but the counts balance.
    expect(r.code, r.stderr).toBe(1);
    expect(doc.verified, JSON.stringify(doc.problems) + r.stderr).toBe(true);
    const after = await rows(url, ['alpha', 'beta']);
    for (const id of movable) expect(after.get(id), id).toEqual(before.get(id));
    expect(await sql(url, `SELECT id FROM bullmq.job WHERE queue = 'legacy' ORDER BY id`)).toEqual(['child', 'held', 'parent', 'taken', 'unowned-1'].map((id) => ({ id })));
    expect(await sql(url, `SELECT queue, id FROM bullmq.job WHERE queue = 'beta' AND id IN ('failed-1', 'p1')`)).toHaveLength(2);
    expect(await sql(url, `SELECT job_id, idx, row FROM bullmq.job_log WHERE queue = 'alpha' ORDER BY job_id, idx`)).toEqual(logsBefore);
    expect(await sql(url, `SELECT queue, job_id FROM bullmq.dedup WHERE dedup_id = 'dd-1'`)).toEqual([{ queue: 'alpha', job_id: logged.id }]);
    expect(await sql(url, `SELECT event FROM bullmq.event WHERE queue = 'alpha' AND data->>'jobId' = $1 ORDER BY id`, [fifo[0]])).toEqual([{ event: 'added' }, { event: 'waiting' }]);

    await until(() => heard.length === fifo.length + 1, 'QueueEvents heard every moved alpha job');
    expect(heard.sort()).toEqual([...fifo.map((id) => `waiting:${id}`), 'delayed:later'].sort());

    // Status shows the run done.
    const status = JSON.parse((await runCli(['migrate', 'status', '--json', '--url', url])).stdout);
    expect(status.runs[0]).toMatchObject({ source: 'legacy', state: 'done', moved: movable.length });

    // Real workers on the destinations: FIFO for alpha, priority order for beta, each job once.
    const ran: string[] = [];
    pgWorker(url, 'alpha', async (job: Job) => void ran.push(`alpha/${job.id}`), 'bullmq', { concurrency: 1 });
    pgWorker(url, 'beta', async (job: Job) => void ran.push(`beta/${job.id}`), 'bullmq', { concurrency: 1 });
    await until(() => ran.length === fifo.length + prioritized.length + 1, 'destination workers ran every waiting job');
    expect(ran.filter((j) => j.startsWith('alpha/') && j !== 'alpha/taken')).toEqual(fifo.map((id) => `alpha/${id}`));
    expect(ran.filter((j) => j.startsWith('beta/'))).toEqual(['beta/p1', 'beta/p2', 'beta/p3']);
    release();
    await until(async () => (await legacy.getJobCounts()).active === 0, 'the held job finished');
    await old.close();
    expect(new Set(ran).size).toBe(ran.length);
  }, 120_000);

  it('an old worker consuming the legacy queue during the move never runs a job twice', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const legacy = pgQueue(url, 'legacy');
    const total = 3000;
    await legacy.addBulk(Array.from({ length: total }, (_, i) => ({ name: 'a.process', data: { i } })));
    const ran: string[] = [];
    pgWorker(url, 'legacy', async (job: Job) => void ran.push(String(job.data.i)), 'bullmq', { concurrency: 4 });
    await until(() => ran.length > 0, 'the old worker started');
    const r = await runCli(['migrate', '--from', 'legacy', '--batch', '50', '--yes', '--json', '-c', yaml(), '--url', url]);
    expect([0, 1], r.stderr).toContain(r.code);
    // Both sides really ran: the move took jobs while the old worker took others.
    expect(JSON.parse(r.stdout).moved.alpha).toBeGreaterThan(0);
    const byOld = ran.length;
    pgWorker(url, 'alpha', async (job: Job) => void ran.push(String(job.data.i)), 'bullmq', { concurrency: 4 });
    await until(() => ran.length >= total, `all ${total} jobs ran`, 120_000);
    await until(async () => (await sql(url, `SELECT count(*)::int AS n FROM bullmq.job WHERE state IN ('waiting', 'active')`))[0].n === 0, 'nothing left');
    expect(ran.length).toBe(total);
    expect(new Set(ran).size).toBe(total);
    expect(byOld).toBeLessThan(total);
  }, 180_000);

  it('survives kill -9 at observed progress, 20+ times: nothing lost or duplicated, and workers run each job once', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const legacy = pgQueue(url, 'legacy');
    const total = 20_000;
    for (let i = 0; i < total; i += 2000) await legacy.addBulk(Array.from({ length: 2000 }, (_, k) => ({ name: (i + k) % 2 ? 'a.process' : 'b.second', data: { i: i + k } })));
    const cfg = yaml();
    const movedSoFar = async () => {
      const [journal] = await sql<{ ok: boolean }>(url, `SELECT to_regclass('queuectl.migrate_moved') IS NOT NULL AS ok`);
      if (!journal.ok) return 0;
      return (await sql<{ n: number }>(url, `SELECT coalesce(sum(moved), 0)::int AS n FROM queuectl.migrate_moved`))[0].n;
    };
    let kills = 0;
    for (let round = 0; round < 40 && kills < 22; round++) {
      const seen = await movedSoFar();
      if (seen >= total) break;
      const child = spawn(process.execPath, [bin, 'migrate', '--from', 'legacy', '--batch', '100', '--yes', '--json', '-c', cfg, '--url', url], { cwd: repoRoot, stdio: 'ignore', env: { ...process.env, QUEUECTL_URL: undefined, REDIS_URL: undefined } });
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      let done = false;
      void exited.then(() => (done = true));
      await until(async () => done || (await movedSoFar()) > seen, 'the run moved a batch', 60_000);
      if (!done) {
        child.kill('SIGKILL');
        kills += 1;
      }
      await exited;
      // Never half a batch: every job is in exactly one queue at every kill.
      const [c] = await sql<{ n: number; d: number }>(url, `SELECT count(*)::int AS n, count(DISTINCT (j.data->>'i'))::int AS d FROM bullmq.job j`);
      expect(c).toEqual({ n: total, d: total });
      expect(await movedSoFar()).toBe((await sql(url, `SELECT count(*)::int AS n FROM bullmq.job WHERE queue <> 'legacy'`))[0].n);
    }
    expect(kills).toBeGreaterThanOrEqual(20);
    const last = await runCli(['migrate', '--from', 'legacy', '--yes', '--json', '-c', cfg, '--url', url], { timeoutMs: 120_000 });
    expect(last.code, last.stderr).toBe(0);
    expect(await sql(url, `SELECT queue, count(*)::int AS n FROM bullmq.job GROUP BY queue ORDER BY queue`)).toEqual([{ queue: 'alpha', n: total / 2 }, { queue: 'beta', n: total / 2 }]);
    const ran = new Map<string, number>();
    for (const q of ['alpha', 'beta']) pgWorker(url, q, async (job: Job) => void ran.set(`${job.data.i}`, (ran.get(`${job.data.i}`) ?? 0) + 1), 'bullmq', { concurrency: 50 });
    await until(() => ran.size >= total, 'workers ran every job', 240_000, 200);
    await until(async () => (await sql(url, `SELECT count(*)::int AS n FROM bullmq.job WHERE state = 'completed'`))[0].n === total, 'all completed', 60_000, 200);
    expect([...ran.values()].every((n) => n === 1)).toBe(true);
  }, 600_000);

  it('a numeric id the destination holds gets its next id, the destination sequence stays ahead', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const legacy = pgQueue(url, 'legacy');
    const alpha = pgQueue(url, 'alpha');
    for (let i = 0; i < 3; i++) await alpha.add('a.process', { theirs: i });
    for (let i = 0; i < 3; i++) await legacy.add('a.process', { ours: i });
    const cfg = yaml();
    const r = await runCli(['migrate', '--from', 'legacy', '--yes', '--json', '-c', cfg, '--url', url]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.renamed.map((x: { from: string }) => x.from).sort()).toEqual(['1', '2', '3']);
    const ours = await sql<{ id: string; i: number }>(url, `SELECT id, (data->>'ours')::int AS i FROM bullmq.job WHERE queue = 'alpha' AND data ? 'ours' ORDER BY seq`);
    expect(ours.map((o) => o.i)).toEqual([0, 1, 2]);
    for (const o of ours) expect(Number(o.id)).toBeGreaterThan(1_000_000);
    expect(await sql(url, `SELECT old_id, new_id FROM queuectl.migrate_renamed ORDER BY old_id`)).toEqual(doc.renamed.map((x: { from: string; to: string }) => ({ old_id: x.from, new_id: x.to })).sort((a: { old_id: string }, b: { old_id: string }) => a.old_id.localeCompare(b.old_id)));
    // The destination's next own job gets an id no moved job holds.
    const next = await alpha.add('a.process', { after: true });
    expect(Number(next.id)).toBeGreaterThan(Math.max(...ours.map((o) => Number(o.id))));
  }, 60_000);

  it('a renamed numeric id that a numeric-looking custom id in the destination already holds takes the next free id, in the same batch', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const legacy = pgQueue(url, 'legacy');
    const alpha = pgQueue(url, 'alpha');
    for (let i = 0; i < 3; i++) await alpha.add('a.process', { theirs: i });
    for (let i = 0; i < 3; i++) await legacy.add('a.process', { ours: i });
    // The ids the renames will draw (the source's sequence + 1,000,000 and on), already held in the
    // destination by jobs an older client added with numeric-looking custom ids (BullMQ 6 refuses them at add).
    for (const id of ['1000004', '1000005']) {
      await alpha.add('a.process', { custom: id }, { jobId: `c-${id}` });
      await sql(url, `UPDATE bullmq.job SET id = $1 WHERE queue = 'alpha' AND id = $2`, [id, `c-${id}`]);
    }
    const r = await runCli(['migrate', '--from', 'legacy', '--yes', '--json', '-c', yaml(), '--url', url]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.verified).toBe(true);
    const ours = await sql<{ id: string }>(url, `SELECT id FROM bullmq.job WHERE queue = 'alpha' AND data ? 'ours' ORDER BY seq`);
    expect(ours).toHaveLength(3);
    for (const o of ours) expect(['1000004', '1000005']).not.toContain(o.id);
    expect(await sql(url, `SELECT id, data->>'custom' AS c FROM bullmq.job WHERE queue = 'alpha' AND data ? 'custom' ORDER BY id`)).toEqual([{ id: '1000004', c: '1000004' }, { id: '1000005', c: '1000005' }]);
    expect(doc.renamed.map((x: { to: string }) => x.to).sort()).toEqual(ours.map((o) => o.id).sort());
  }, 60_000);

  it('a dry run needs no write permission; without the right to create the queuectl schema a real run says which grant in one line; a pre-created schema is enough', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const legacy = pgQueue(url, 'legacy');
    await legacy.add('a.process', { n: 1 }, { jobId: 'x1' });
    const role = `qc_mig_${Math.random().toString(16).slice(2, 10)}`;
    const password = `pw-${Math.random().toString(16).slice(2)}`;
    await sql(url, `CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    onTestFinished(async () => {
      await sql(url, `DROP SCHEMA IF EXISTS queuectl CASCADE; DROP OWNED BY ${role}; DROP ROLE ${role}`);
    });
    await sql(url, `GRANT USAGE ON SCHEMA bullmq TO ${role}; GRANT SELECT ON ALL TABLES IN SCHEMA bullmq TO ${role}`);
    const as = new URL(url);
    as.username = role;
    as.password = password;
    const cfg = yaml();
    const dry = await runCli(['migrate', '--from', 'legacy', '--dry-run', '-c', cfg, '--url', as.toString()]);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/Dry run \(run [0-9a-f]+\): nothing was changed\./);
    // Enough to move jobs, not to create a schema.
    await sql(url, `GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA bullmq TO ${role}; GRANT USAGE ON ALL SEQUENCES IN SCHEMA bullmq TO ${role}`);
    const refused = await runCli(['migrate', '--from', 'legacy', '--yes', '-c', cfg, '--url', as.toString()]);
    expect(refused.code).toBe(3);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(new RegExp(`^queuectl: .*"queuectl" schema.* — .*GRANT CREATE ON DATABASE \\S+ TO ${role}.*CREATE SCHEMA queuectl AUTHORIZATION ${role}`));
    expect(await sql(url, `SELECT queue FROM bullmq.job`)).toEqual([{ queue: 'legacy' }]);
    await sql(url, `CREATE SCHEMA queuectl AUTHORIZATION ${role}`);
    const moved = await runCli(['migrate', '--from', 'legacy', '--yes', '-c', cfg, '--url', as.toString()]);
    expect(moved.code, moved.stderr).toBe(0);
    expect(await sql(url, `SELECT queue FROM bullmq.job`)).toEqual([{ queue: 'alpha' }]);
  }, 60_000);

  it('a lost connection mid-run is exit 3 in one line, never a half-moved batch; the same command continues the run', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const legacy = pgQueue(url, 'legacy');
    const total = 6000;
    for (let i = 0; i < total; i += 2000) await legacy.addBulk(Array.from({ length: 2000 }, (_, k) => ({ name: 'a.process', data: { i: i + k } })));
    const cfg = yaml();
    const moved = async () => (await sql<{ n: number }>(url, `SELECT count(*)::int AS n FROM bullmq.job WHERE queue = 'alpha'`))[0].n;
    const child = spawn(process.execPath, [bin, 'migrate', '--from', 'legacy', '--batch', '20', '--yes', '--json', '-c', cfg, '--url', url], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, QUEUECTL_URL: undefined, REDIS_URL: undefined } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await until(async () => (await moved()) > 0, 'the run moved a batch', 60_000);
    // The server ends queuectl's session (a failover, a network cut, an administrator).
    await sql(url, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'queuectl' AND datname = current_database()`);
    expect(await exited).toBe(3);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^queuectl: PostgreSQL/);
    const [journal] = await sql<{ state: string; n: number }>(url, `SELECT r.state, (SELECT coalesce(sum(moved), 0)::int FROM queuectl.migrate_moved m WHERE m.run_id = r.id) AS n FROM queuectl.migrate_run r`);
    expect(journal).toEqual({ state: 'running', n: await moved() });
    expect(await moved()).toBeLessThan(total);
    const again = await runCli(['migrate', '--from', 'legacy', '--yes', '--json', '-c', cfg, '--url', url], { timeoutMs: 120_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).continued).toBe(true);
    expect(await moved()).toBe(total);
    const status = JSON.parse((await runCli(['migrate', 'status', '--json', '--url', url])).stdout);
    expect(status.runs).toHaveLength(1);
    expect(status.runs[0]).toMatchObject({ state: 'done', moved: total, finished: true });
  }, 180_000);

  it('a job whose deduplication id a producer holds right now stays as locked (no deadlock with BullMQ), and the rerun moves it', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const legacy = pgQueue(url, 'legacy');
    await legacy.add('a.process', { n: 1 }, { deduplication: { id: 'busy-1' }, jobId: 'deduped' });
    await legacy.add('a.process', { n: 2 }, { jobId: 'plain' });
    // The lock BullMQ's add_job takes for that deduplication id, held by another session.
    const producer = new pg.Client({ connectionString: url });
    await producer.connect();
    await producer.query(`SELECT pg_advisory_lock(hashtext('bullmq:dedup:legacy:busy-1'))`);
    const cfg = yaml();
    const first = await runCli(['migrate', '--from', 'legacy', '--yes', '--json', '-c', cfg, '--url', url]);
    await producer.end();
    expect(first.code, first.stderr).toBe(1);
    // A reported stay, not an imbalance: verified, the job listed as locked, the journal done.
    const doc = JSON.parse(first.stdout);
    expect(doc).toMatchObject({ verified: true, problems: [] });
    expect(doc.skipped).toContainEqual(expect.objectContaining({ reason: 'locked', count: 1, examples: ['deduped'] }));
    expect(first.stderr).not.toMatch(/verification:/);
    expect(await sql(url, `SELECT state FROM queuectl.migrate_run`)).toEqual([{ state: 'done' }]);
    expect(await sql(url, `SELECT queue, id FROM bullmq.job ORDER BY id`)).toEqual([{ queue: 'legacy', id: 'deduped' }, { queue: 'alpha', id: 'plain' }]);
    const again = await runCli(['migrate', '--from', 'legacy', '--yes', '--json', '-c', cfg, '--url', url]);
    expect(again.code, again.stderr).toBe(0);
    expect(await sql(url, `SELECT queue, id FROM bullmq.job ORDER BY id`)).toEqual([{ queue: 'alpha', id: 'deduped' }, { queue: 'alpha', id: 'plain' }]);
    expect(await sql(url, `SELECT queue, job_id FROM bullmq.dedup`)).toEqual([{ queue: 'alpha', job_id: 'deduped' }]);
  }, 60_000);

  it('--follow keeps moving what producers still add to the legacy queue until it is quiet; workers run each job once', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const legacy = pgQueue(url, 'legacy');
    await legacy.addBulk(Array.from({ length: 100 }, (_, i) => ({ name: 'a.process', data: { i } })));
    const inAlpha = async () => (await sql<{ n: number }>(url, `SELECT count(*)::int AS n FROM bullmq.job WHERE queue = 'alpha'`))[0].n;
    const child = spawn(process.execPath, [bin, 'migrate', '--from', 'legacy', '--follow', '--quiet-for', '2s', '--yes', '--json', '-c', yaml(), '--url', url], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, QUEUECTL_URL: undefined, REDIS_URL: undefined } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // Producers keep writing to the legacy queue: each wave is moved before the next is added.
    let added = 100;
    for (let wave = 0; wave < 5; wave++) {
      await until(async () => (await inAlpha()) === added, `wave ${wave} moved`, 30_000);
      await legacy.addBulk(Array.from({ length: 50 }, (_, k) => ({ name: 'a.process', data: { i: added + k } })));
      added += 50;
    }
    expect(await exited, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ verified: true });
    expect(await inAlpha()).toBe(added);
    const ran = new Map<number, number>();
    pgWorker(url, 'alpha', async (job: Job) => void ran.set(job.data.i, (ran.get(job.data.i) ?? 0) + 1), 'bullmq', { concurrency: 10 });
    await until(() => ran.size === added, 'alpha ran every job', 60_000);
    expect([...ran.values()].every((n) => n === 1)).toBe(true);
  }, 120_000);
});
