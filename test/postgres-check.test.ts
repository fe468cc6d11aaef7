import { describe, expect, it } from 'vitest';
import { LATEST_SCHEMA_VERSION, type Job } from 'bullmq';
import { runCli } from './helpers/cli.js';
import { closeOpenQueues, freshDatabase, migrateBullmq, pgQueue, pgWorker, settledWrites, sql } from './helpers/postgres.js';
import { tempFile } from './helpers/temp.js';
import { until } from './helpers/wait.js';
import { DEEP_BATCH_SQL, SAMPLE_NAMES_SQL, findMisroutedPostgres } from '../src/check/postgres-names.js';
import pg from 'pg';
import { postgresCheckSource, workerConnections } from '../src/check/postgres-source.js';
import { testContext } from './helpers/context.js';
import { postgresFindings } from '../src/check/postgres-drift.js';
import type { PostgresCheckFacts } from '../src/check/types.js';
import type { Topology } from '../src/topology/types.js';

/** `topology check` on BullMQ's PostgreSQL backend: real BullMQ producers and workers, the same queuectl/topology-check@1 document and exit codes. */

const topologyYaml = (extraQueues = '') => tempFile('pgcheck', 'queuectl.yaml', `version: 1
queues:
${extraQueues}  ocr: { jobs: [ocr.process], concurrency: 2 }
  proc: { jobs: [smartupload.process] }
workers:
  ocr-worker: { queues: [ocr] }
  proc-worker: { queues: [proc] }
legacy:
  shared: { note: shared queue before the split }
`);

async function check(url: string, yaml: string, ...more: string[]) {
  const r = await runCli(['topology', 'check', '--json', '-c', yaml, '--url', url, ...more]);
  const doc = r.stdout ? JSON.parse(r.stdout) : undefined;
  const rules = (doc?.findings ?? []).map((f: { severity: string; rule: string; queue?: string }) => `${f.severity}:${f.rule}:${f.queue ?? ''}`);
  return { ...r, doc, rules };
}

/** A clean setup: each declared queue holds its own jobs, the live concurrency is the file's. */
async function cleanSetup(url: string) {
  await migrateBullmq(url);
  const ocr = pgQueue(url, 'ocr');
  await ocr.add('ocr.process', { fileId: 1 });
  await ocr.setGlobalConcurrency(2);
  await pgQueue(url, 'proc').add('smartupload.process', { sessionId: 1 });
  return { ocr };
}

describe('topology check on PostgreSQL', () => {
  it('in sync: exit 0, the same JSON document, the summary names the redacted URL', async () => {
    const url = await freshDatabase();
    await cleanSetup(url);
    // A worker of a declared queue is expected, not a finding.
    const worker = pgWorker(url, 'proc', async () => 'ok', 'bullmq', { name: 'proc-worker' });
    await until(async () => (await pgQueue(url, 'proc').getJobCounts()).completed === 1, 'proc: its job completed');
    await until(async () => (await pgQueue(url, 'proc').getWorkers()).length === 1, 'proc: its worker discoverable');
    const r = await check(url, topologyYaml());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.doc).toEqual({ schema: 'queuectl/topology-check@1', inSync: true, findings: [] });

    const text = await runCli(['topology', 'check', '-c', topologyYaml(), '--url', url]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^in sync: 2 queues, 1 legacy queue checked against postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/qc_\w+; job names sampled/);
    await worker.close();
  });

  it('each drift kind is exit 1 with its rule id; a queue with no rows is only a warning', async () => {
    const url = await freshDatabase();
    const { ocr } = await cleanSetup(url);
    // meta drift: concurrency other than the file's, a rate limit the file does not have
    await ocr.setGlobalConcurrency(5);
    await pgQueue(url, 'proc').setGlobalRateLimit(10, 1000);
    // a misrouted name: ocr's jobs pushed onto proc
    const proc = pgQueue(url, 'proc');
    for (let i = 0; i < 3; i++) await proc.add('ocr.process', { fileId: i }, { jobId: `mis-${i}` });
    // a legacy queue still holding jobs
    const shared = pgQueue(url, 'shared');
    for (const name of ['smartupload.process', 'ocr.process', 'other']) await shared.add(name, {});
    // an undeclared queue with a job, and a named worker on another undeclared queue (a Worker
    // writes that queue's meta as it starts, so the queue is undeclared too)
    await pgQueue(url, 'stray').add('whatever', {});
    const rogue = pgWorker(url, 'rogue', async () => 'ok', 'bullmq', { name: 'rogue-worker' });
    await until(async () => (await pgQueue(url, 'rogue').getWorkers()).length === 1, 'rogue: its worker discoverable');

    const yaml = topologyYaml('  idle: { jobs: [idle.job] }\n');
    const r = await check(url, yaml);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.doc.inSync).toBe(false);
    expect(r.rules).toEqual([
      'error:legacy-has-jobs:shared',
      'error:job-misrouted:proc',
      'error:queue-undeclared:rogue',
      'error:queue-undeclared:stray',
      'error:worker-undeclared-queue:rogue',
      'error:meta-concurrency-drift:ocr',
      'error:meta-ratelimit-drift:proc',
      'warning:queue-absent:idle',
    ]);
    const msg = (rule: string, queue?: string) => r.doc.findings.find((f: { rule: string; queue: string }) => f.rule === rule && (!queue || f.queue === queue)).message;
    // The same advice as on Redis (src/migrate/advice.ts).
    expect(msg('legacy-has-jobs')).toMatch(/legacy queue still holds 3 jobs \(3 waiting\) — run: queuectl migrate --from shared/);
    expect(msg('job-misrouted')).toBe('at least 3 jobs named ocr.process (e.g. mis-0, mis-1, mis-2), owned by ocr — run: queuectl migrate --from proc');
    expect(msg('queue-undeclared', 'stray')).toMatch(/^queue exists in PostgreSQL \(1 waiting\) but is neither declared nor legacy/);
    expect(msg('worker-undeclared-queue')).toMatch(/^1 worker connection \(rogue-worker\) consume this undeclared queue/);
    expect(msg('meta-concurrency-drift')).toMatch(/^live global concurrency is 5, the file says 2/);
    expect(msg('meta-ratelimit-drift')).toMatch(/^live rate limit is 10 per 1000 ms, the file says none/);
    expect(msg('queue-absent')).toMatch(/^declared but has no jobs or meta in schema "bullmq" — .*--schema/);

    // The human report: one grep-able line per finding, errors first.
    const text = await runCli(['topology', 'check', '-c', yaml, '--url', url]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^ERROR +job-misrouted +proc +at least 3 jobs named ocr\.process/m);
    expect(text.stdout).toMatch(/^drift: 7 errors, 1 warning — 3 queues, 1 legacy queue checked against postgres:\/\//m);
    await rogue.close();
  });

  it('a legacy queue holding only failed jobs names --states failed, as on Redis', async () => {
    const url = await freshDatabase();
    await cleanSetup(url);
    const shared = pgQueue(url, 'shared');
    await shared.add('boom', {});
    const worker = pgWorker(url, 'shared', async () => { throw new Error('no'); });
    await until(async () => (await shared.getJobCounts()).failed === 1, 'shared: 1 failed');
    await worker.close();
    const r = await check(url, topologyYaml());
    expect(r.code).toBe(1);
    expect(r.rules).toEqual(['error:legacy-has-jobs:shared']);
    expect(r.doc.findings[0].message).toMatch(/holds 1 job \(1 failed\) — run: queuectl migrate --from shared --states failed/);
  });

  it('the sample reads both ends of each state; --deep counts every job (a misrouted job in the middle)', async () => {
    const url = await freshDatabase();
    await cleanSetup(url);
    const proc = pgQueue(url, 'proc');
    const bulk = (n: number) => Array.from({ length: n }, (_, i) => ({ name: 'smartupload.process', data: { i } }));
    await proc.addBulk(bulk(200));
    await proc.add('ocr.process', {}, { jobId: 'hidden' });
    await proc.addBulk(bulk(200));
    const sampled = await check(url, topologyYaml(), '--sample', '20');
    expect(sampled.code).toBe(0);
    const deep = await check(url, topologyYaml(), '--deep');
    expect(deep.code).toBe(1);
    expect(deep.rules).toEqual(['error:job-misrouted:proc']);
    expect(deep.doc.findings[0].message).toBe('1 job named ocr.process (e.g. hidden), owned by ocr — run: queuectl migrate --from proc');
  });

  it('a missing BullMQ schema, or one behind, is exit 3 in one line (as every command on PostgreSQL)', async () => {
    const url = await freshDatabase();
    const missing = await check(url, topologyYaml());
    expect(missing.code).toBe(3);
    expect(missing.stdout).toBe('');
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/no BullMQ schema "bullmq" on postgres:\/\/postgres:\*\*\*@.*runMigrations/);

    await migrateBullmq(url);
    await sql(url, `delete from bullmq.migration where version = $1`, [LATEST_SCHEMA_VERSION]);
    const behind = await check(url, topologyYaml());
    expect(behind.code).toBe(3);
    expect(behind.stderr.trim().split('\n')).toHaveLength(1);
    expect(behind.stderr).toMatch(/\(1 pending migration\) — .*runMigrations/);
  });

  it('--prefix is refused on PostgreSQL (exit 2, naming --schema); --schema reads another schema', async () => {
    const url = await freshDatabase();
    const prefixed = await check(url, topologyYaml(), '--prefix', 'bull');
    expect(prefixed.code).toBe(2);
    expect(prefixed.stderr).toMatch(/use --schema/);
    await migrateBullmq(url, 'jobs');
    await pgQueue(url, 'ocr', 'jobs').add('ocr.process', {});
    await pgQueue(url, 'proc', 'jobs').add('ocr.process', {});
    const r = await check(url, topologyYaml(), '--schema', 'jobs');
    expect(r.rules).toEqual(['error:job-misrouted:proc']);
  });

  it('shows job-table bloat (dead rows of job from pg_stat_user_tables) as a warning', async () => {
    const url = await freshDatabase();
    await cleanSetup(url);
    // Autovacuum would clean up before the check runs; this table keeps its dead rows.
    await sql(url, 'ALTER TABLE bullmq.job SET (autovacuum_enabled = false)');
    const proc = pgQueue(url, 'proc');
    await proc.addBulk(Array.from({ length: 3000 }, (_, i) => ({ name: 'smartupload.process', data: { i } })));
    await proc.drain();
    await until(async () => {
      const [row] = await sql(url, `SELECT n_dead_tup::int AS dead FROM pg_stat_user_tables WHERE relid = 'bullmq.job'::regclass`);
      return (row?.dead ?? 0) >= 3000;
    }, 'the statistics collector counts the dead rows');
    const r = await check(url, topologyYaml());
    expect(r.code).toBe(0);
    expect(r.rules).toEqual(['warning:job-table-bloat:']);
    expect(r.doc.findings[0].message).toMatch(/^\d+% of bullmq\.job is dead rows \(\d+ dead, \d+ live; last autovacuum never\) — /);
  });

  it('more declared workers than the server has connections for is exit 1 (connections-headroom)', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    // The run's PostgreSQL has max_connections 200 (3 reserved): 100 consumers need 200.
    const names = Array.from({ length: 100 }, (_, i) => `q${i}`);
    const yaml = tempFile('pgcheck', 'queuectl.yaml', `version: 1\nqueues:\n${names.map((n) => `  ${n}: { jobs: [${n}.job] }`).join('\n')}\nworkers:\n  all: { queues: [${names.join(', ')}] }\n`);
    const r = await check(url, yaml);
    expect(r.code).toBe(1);
    expect(r.rules.filter((x: string) => x.startsWith('error:'))).toEqual(['error:connections-headroom:']);
    expect(r.doc.findings[0].message).toMatch(/^the declared workers \(100 queue consumers\) need at least 200 connections .*more than the 197 usable on postgres:\/\/postgres:\*\*\*@/);
  });

  it('reads other sessions\' open transactions, idle in transaction included, for long-transaction', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const idle = new pg.Client({ connectionString: url, application_name: 'forgotten' });
    await idle.connect();
    const t = testContext({ yaml: 'version: 1\nqueues:\n  ocr: { jobs: [ocr.process] }\n', redis: url });
    try {
      await idle.query('BEGIN');
      await idle.query('SELECT count(*) FROM bullmq.job');
      const [{ pid }] = (await idle.query('SELECT pg_backend_pid() AS pid')).rows;
      const { topology } = await t.ctx.topology();
      const source = await postgresCheckSource(t.ctx, topology);
      const live = await source.gather({ sample: 50, deep: false });
      expect(live.health).toBeUndefined();
      expect(live.postgres?.transactions).toContainEqual(expect.objectContaining({ pid, state: 'idle in transaction', applicationName: 'forgotten' }));
    } finally {
      await idle.end();
      await t.ctx.close();
    }
  });

  it('reads job names through the state indexes: no sequential scan of job on a table of realistic size', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    await sql(url, `
      INSERT INTO bullmq.job (queue, id, seq, name, state, priority, added_at_ms, process_at_ms, finished_at_ms, locked_until_ms)
      SELECT 'q' || (g % 100), g::text, g, CASE WHEN g % 997 = 0 THEN 'stray' ELSE 'n' END,
             (ARRAY['waiting','waiting','delayed','active','completed','completed','completed','failed'])[1 + g % 8]::bullmq.job_state,
             CASE WHEN g % 16 = 0 THEN 3 ELSE 0 END, g, g, g, g
        FROM generate_series(1, 200000) AS g`);
    await sql(url, 'ANALYZE bullmq.job');
    const seqScansOfJob = (node: any): string[] => [
      ...(node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'job' ? ['Seq Scan on job'] : []),
      ...((node.Plans ?? []) as any[]).flatMap(seqScansOfJob),
    ];
    const plan = async (text: string, params: unknown[]) => (await sql(url, `EXPLAIN (FORMAT JSON) ${text}`, params))[0]['QUERY PLAN'][0].Plan;
    // The sample: both ends of each state, each through that state's partial index.
    const sample = await plan(SAMPLE_NAMES_SQL('"bullmq"'), ['q1', 50, ['n']]);
    expect(seqScansOfJob(sample)).toEqual([]);
    for (const index of ['job_ready_idx', 'job_delayed_idx', 'job_active_idx', 'job_finished_idx']) expect(JSON.stringify(sample)).toContain(index);
    // --deep: bounded batches along the primary key.
    const deepBatch = await plan(DEEP_BATCH_SQL('"bullmq"'), ['q1', '', 5000, ['n'], 3]);
    expect(seqScansOfJob(deepBatch)).toEqual([]);
    expect(JSON.stringify(deepBatch)).toContain('job_pkey');

    const truth = (await sql(url, `SELECT count(*)::int AS n, count(*) FILTER (WHERE state = 'active')::int AS active, count(*) FILTER (WHERE state = 'failed')::int AS failed
                                      FROM bullmq.job WHERE queue = 'q1' AND name = 'stray' AND state IN ('waiting','delayed','active','failed')`))[0];
    expect(truth.n).toBeGreaterThan(0);
    // Many small batches add up to the exact count.
    const handle = { spec: { schema: 'bullmq' }, query: async (text: string, params: unknown[]) => sql(url, text, params) } as never;
    const [stray, ...others] = await findMisroutedPostgres(handle, '"bullmq"', 'q1', new Set(['n']), { sample: 50, deep: true, batch: 7 });
    expect(others).toEqual([]);
    expect(stray).toMatchObject({ queue: 'q1', name: 'stray', count: truth.n, active: truth.active, failed: truth.failed });
    expect(stray!.examples).toHaveLength(Math.min(3, truth.n));

    const yaml = tempFile('pgcheck', 'queuectl.yaml', `version: 1\nqueues:\n${Array.from({ length: 100 }, (_, i) => `  q${i}: { jobs: [n] }`).join('\n')}\n`);
    const deep = await check(url, yaml, '--deep');
    expect(deep.code).toBe(1);
    const q1 = deep.doc.findings.filter((f: { queue: string }) => f.queue === 'q1');
    expect(q1).toHaveLength(1);
    expect(q1[0].message).toMatch(new RegExp(`^${truth.n} jobs? named stray`));
  });

  it('inspect, topology check and doctor run as a SELECT-only, read-only role and write nothing', async () => {
    const url = await freshDatabase();
    const { ocr } = await cleanSetup(url);
    await ocr.setGlobalConcurrency(5); // drift, so check reads meta and finds something
    const proc = pgQueue(url, 'proc');
    await proc.add('ocr.process', {});
    const worker = pgWorker(url, 'shared', async (job: Job) => { if (job.name === 'boom') throw new Error('no'); return 'done'; });
    const shared = pgQueue(url, 'shared');
    await shared.add('ok', {});
    await shared.add('boom', {});
    await until(async () => { const c = await shared.getJobCounts(); return c.completed === 1 && c.failed === 1; }, 'shared: 1 completed, 1 failed');
    await worker.close();

    const role = `qc_ro_${Math.random().toString(16).slice(2, 10)}`;
    const password = `ro-${Math.random().toString(16).slice(2)}`;
    await sql(url, `CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    try {
      await sql(url, `GRANT USAGE ON SCHEMA bullmq TO ${role}; GRANT SELECT ON ALL TABLES IN SCHEMA bullmq TO ${role}`);
      // Every transaction of this role is read-only: a write of any kind would fail the command.
      await sql(url, `ALTER ROLE ${role} SET default_transaction_read_only = on`);
      const ro = new URL(url);
      ro.username = role;
      ro.password = password;
      const roUrl = ro.toString();
      await expect(sql(roUrl, `DELETE FROM bullmq.job`)).rejects.toThrow(/permission denied|read-only transaction/);

      // The seeding sessions report their statistics when they end: close them, and compare settled counters.
      await closeOpenQueues();
      const writes = () => settledWrites(url);
      const contents = () => sql(url, `SELECT (SELECT md5(string_agg(j::text, ',' ORDER BY queue, id)) FROM bullmq.job j) AS job,
                                              (SELECT md5(string_agg(m::text, ',' ORDER BY queue, field)) FROM bullmq.meta m) AS meta`);
      const before = { writes: await writes(), contents: await contents() };

      const inspect = await runCli(['inspect', '--json', '-c', topologyYaml(), '--url', roUrl]);
      expect(inspect.stderr).toBe('');
      expect(inspect.code).toBe(0);
      const c = await check(roUrl, topologyYaml());
      expect(c.stderr).toBe('');
      expect(c.code).toBe(1);
      expect(c.rules).toEqual(['error:legacy-has-jobs:shared', 'error:job-misrouted:proc', 'error:meta-concurrency-drift:ocr']);
      const deep = await check(roUrl, topologyYaml(), '--deep');
      expect(deep.code).toBe(1);
      const doctor = await runCli(['doctor', '--json', '--url', roUrl]);
      expect(doctor.stderr).toBe('');
      expect(doctor.code).toBe(0);

      expect(await contents()).toEqual(before.contents);
      expect(await writes()).toEqual(before.writes);
    } finally {
      await sql(url, `DROP OWNED BY ${role}`);
      await sql(url, `DROP ROLE ${role}`);
    }
  });
});

describe('topology check PostgreSQL findings (pure)', () => {
  const topology = (workers: Record<string, string[]>) => ({
    version: 1, prefix: 'bull', queues: {}, legacy: {},
    workers: Object.fromEntries(Object.entries(workers).map(([name, queues]) => [name, { name, queues }])),
  }) as unknown as Topology;
  const facts = (extra: Partial<PostgresCheckFacts> = {}): PostgresCheckFacts => ({
    where: 'postgres://app:***@db/app', schema: 'bullmq', maxConnections: 100, reservedConnections: 3, usedConnections: 10,
    transactions: [], jobTable: { liveRows: 5000, deadRows: 100, lastAutovacuum: null }, ...extra,
  });
  const rules = (t: Topology, f: PostgresCheckFacts) => postgresFindings(t, f).map((x) => `${x.severity}:${x.rule}`);

  it('connections: the declared workers need 2 each; more than the server has is an error, more than free a warning', () => {
    expect(rules(topology({ a: ['q1', 'q2'], b: ['q3'] }), facts())).toEqual([]);
    expect(rules(topology({ a: Array.from({ length: 40 }, (_, i) => `q${i}`) }), facts({ usedConnections: 30 }))).toEqual(['warning:connections-headroom']);
    const [error] = postgresFindings(topology({ a: Array.from({ length: 49 }, (_, i) => `q${i}`) }), facts());
    expect(error).toMatchObject({ rule: 'connections-headroom', severity: 'error' });
    expect(error!.message).toBe('the declared workers (49 queue consumers) need at least 98 connections (2 each: a pooled one and a LISTEN one), more than the 97 usable on postgres://app:***@db/app (max_connections 100, 3 reserved, 10 in use) — raise max_connections or put a pooler in front');
  });

  it('transactions open 5 minutes warn, an hour is an error, naming the session and its state', () => {
    const t = (ageSeconds: number, state = 'idle in transaction') => ({ pid: 42, ageSeconds, state, applicationName: 'billing', user: 'app' });
    expect(rules(topology({}), facts({ transactions: [t(30)] }))).toEqual([]);
    expect(rules(topology({}), facts({ transactions: [t(3600 * 2), t(400, 'active')] }))).toEqual(['error:long-transaction', 'warning:long-transaction']);
    expect(postgresFindings(topology({}), facts({ transactions: [t(400)] }))[0]!.message)
      .toBe('pid 42 (billing), user app, has had a transaction open for 6m40s (idle in transaction) — it holds back vacuum of the job table; end it (pg_terminate_backend(42)) and fix the client that leaves it open');
  });

  it('bloat: more than 20% dead rows of a job table of some size is a warning', () => {
    expect(rules(topology({}), facts({ jobTable: { liveRows: 100, deadRows: 500, lastAutovacuum: null } }))).toEqual([]);
    expect(rules(topology({}), facts({ jobTable: { liveRows: 4000, deadRows: 1000, lastAutovacuum: null } }))).toEqual([]);
    expect(rules(topology({}), facts({ jobTable: { liveRows: 4000, deadRows: 1001, lastAutovacuum: '2026-01-01T00:00:00Z' } }))).toEqual(['warning:job-table-bloat']);
  });

  it('workers: BullMQ\'s :w: mark always counts; a plain application_name only for a queue the schema knows', () => {
    const s = (app: string) => ({ app, addr: '10.0.0.1:5000', idleSeconds: 1 });
    expect(workerConnections([s('psql'), s('queuectl'), s('mail'), s('mail:qe'), s('rogue:w:r1'), s('ocr:w:o1')], ['mail', 'ocr'])).toEqual([
      { queue: 'mail', name: '10.0.0.1:5000', addr: '10.0.0.1:5000' },
      { queue: 'rogue', name: 'r1', addr: '10.0.0.1:5000' },
      { queue: 'ocr', name: 'o1', addr: '10.0.0.1:5000' },
    ]);
  });
});
