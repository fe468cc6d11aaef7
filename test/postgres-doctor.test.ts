import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { LATEST_SCHEMA_VERSION } from 'bullmq';
import { runCli } from './helpers/cli.js';
import { freshDatabase, migrateBullmq, pgQueue, sql } from './helpers/postgres.js';
import { tempFile } from './helpers/temp.js';
import type { DoctorDocument } from '../src/commands/doctor.js';
import { evaluatePostgresChecks, type PostgresDoctorFacts } from '../src/doctor/postgres-checks.js';

/** `queuectl doctor` on BullMQ's PostgreSQL backend: a real cluster, BullMQ's own migrations, a real Queue. */

const doctor = async (url: string, extra: string[] = []) => {
  const result = await runCli(['doctor', '--json', '--url', url, ...extra]);
  return { ...result, doc: JSON.parse(result.stdout || '{}') as DoctorDocument };
};
const check = (doc: DoctorDocument, id: string) => doc.checks.find((c) => c.id === id);

describe('doctor on PostgreSQL', () => {
  it('a schema made by BullMQ\'s migrations, with jobs from a real Queue: every check ok, exit 0', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const queue = pgQueue(url, 'mail');
    await queue.add('send', { to: 'a@example.com' });
    const { code, doc, stderr } = await doctor(url);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(doc).toMatchObject({ schema: 'queuectl/doctor@1', backend: 'postgres', postgresSchema: 'bullmq' });
    expect(doc.url).toContain(':***@');
    expect(doc.checks.map((c) => c.id)).toEqual(['connectivity', 'latency', 'postgres-version', 'bullmq-schema', 'connections', 'oldest-transaction']);
    expect(doc.checks.every((c) => c.status === 'ok')).toBe(true);
    expect(check(doc, 'bullmq-schema')?.detail).toContain(`at version ${LATEST_SCHEMA_VERSION}`);
    expect(check(doc, 'postgres-version')?.detail).toMatch(/^PostgreSQL \d+/);
    expect(check(doc, 'connections')?.detail).toMatch(/^\d+ of \d+ usable connections in use \(max_connections 200, \d+ reserved\)/);
  });

  it('the human report names the server and schema; no password', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const r = await runCli(['doctor', '--url', url]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^PostgreSQL postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/qc_[0-9a-f]+ \(schema bullmq\)/);
    expect(r.stdout).toMatch(/bullmq-schema\s+ok/);
    expect(r.stdout).not.toContain(new URL(url).password);
  });

  it('no BullMQ schema: the check fails naming runMigrations, exit 1, and doctor created nothing', async () => {
    const url = await freshDatabase();
    const { code, doc } = await doctor(url);
    expect(code).toBe(1);
    expect(check(doc, 'bullmq-schema')).toMatchObject({ status: 'fail' });
    expect(check(doc, 'bullmq-schema')?.detail).toMatch(new RegExp(`no BullMQ schema "bullmq" .*expects schema version ${LATEST_SCHEMA_VERSION}.*runMigrations`));
    expect(await sql(url, `select nspname from pg_namespace where nspname = 'bullmq'`)).toEqual([]);
  });

  it('a schema behind (pending migrations) or ahead of queuectl\'s BullMQ fails, naming both versions', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    // As if the schema were made by an older BullMQ: its ledger stops two migrations short.
    await sql(url, `delete from bullmq.migration where version > $1`, [LATEST_SCHEMA_VERSION - 2]);
    const behind = await doctor(url);
    expect(behind.code).toBe(1);
    expect(check(behind.doc, 'bullmq-schema')?.detail).toMatch(
      new RegExp(`is at version ${LATEST_SCHEMA_VERSION - 2}, queuectl's BullMQ [\\d.]+ expects schema version ${LATEST_SCHEMA_VERSION} \\(2 pending migrations\\)`),
    );
    // And as if a newer BullMQ had migrated it.
    await sql(url, `insert into bullmq.migration (version, name, min_client_version) values ($1, 'from_the_future', 7)`, [LATEST_SCHEMA_VERSION + 1]);
    const ahead = await doctor(url);
    expect(ahead.code).toBe(1);
    expect(check(ahead.doc, 'bullmq-schema')?.detail).toMatch(new RegExp(`is at version ${LATEST_SCHEMA_VERSION + 1} \\(needs BullMQ 7\\+\\), newer than`));
  });

  it('--schema, or the topology\'s schema, names where BullMQ lives', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url, 'jobs');
    const flag = await doctor(url, ['--schema', 'jobs']);
    expect(flag.code).toBe(0);
    expect(flag.doc.postgresSchema).toBe('jobs');
    const topology = tempFile('pgtopo', 'queuectl.yaml', 'version: 1\nschema: jobs\nqueues:\n  mail: { jobs: [send] }\n');
    const fromFile = await doctor(url, ['-c', topology]);
    expect(fromFile.code).toBe(0);
    expect(fromFile.doc.postgresSchema).toBe('jobs');
    const wrong = await doctor(url); // default bullmq: not there
    expect(check(wrong.doc, 'bullmq-schema')).toMatchObject({ status: 'fail' });
  });

  it('--migrate runs BullMQ\'s migrations only when confirmed (--yes off a terminal), then reports the schema current', async () => {
    const url = await freshDatabase();
    const refused = await runCli(['doctor', '--migrate', '--url', url]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/Run BullMQ [\d.]+'s migrations on postgres:\/\/postgres:\*\*\*@.* \(schema bullmq\): no schema → version \d+\? needs a confirmation and stdin is not a terminal — rerun with --yes/);
    expect(await sql(url, `select 1 from pg_namespace where nspname = 'bullmq'`)).toEqual([]);

    const migrated = await runCli(['doctor', '--migrate', '--yes', '--json', '--url', url]);
    expect(migrated.code).toBe(0);
    expect(migrated.stderr).toMatch(new RegExp(`migrated BullMQ schema on .*: no schema → version ${LATEST_SCHEMA_VERSION}`));
    expect(check(JSON.parse(migrated.stdout), 'bullmq-schema')).toMatchObject({ status: 'ok' });
    expect(await sql(url, 'select max(version)::int as v from bullmq.migration')).toEqual([{ v: LATEST_SCHEMA_VERSION }]);
    // BullMQ can use it: a real Queue adds a job.
    await pgQueue(url, 'after-migrate').add('x', {});

    const again = await runCli(['doctor', '--migrate', '--yes', '--url', url]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/already at version \d+ .*nothing to migrate/);

    const redis = await runCli(['doctor', '--migrate', '--url', 'redis://127.0.0.1:1']);
    expect(redis.code).toBe(2);
    expect(redis.stderr).toMatch(/--migrate is for BullMQ on PostgreSQL/);
  });

  it('--migrate that fails is exit 3 in one line and leaves the ledger as it was (one transaction)', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    // A ledger that lost its last row: re-applying that migration hits objects that exist.
    await sql(url, `delete from bullmq.migration where version = $1`, [LATEST_SCHEMA_VERSION]);
    const r = await runCli(['doctor', '--migrate', '--yes', '--url', url]);
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^queuectl: PostgreSQL error at postgres:\/\/postgres:\*\*\*@.*already exists/);
    expect(await sql(url, 'select max(version)::int as v from bullmq.migration')).toEqual([{ v: LATEST_SCHEMA_VERSION - 1 }]);
  });

  it('reports the oldest open transaction of another session', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const holder = new pg.Client({ connectionString: url, application_name: 'long-report' });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT txid_current()');
      const { doc } = await doctor(url);
      expect(check(doc, 'oldest-transaction')?.detail).toMatch(/^open for \d+s: pid \d+ \(long-report\), user postgres, idle in transaction$/);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
  });
});

describe('doctor PostgreSQL checks (pure)', () => {
  const facts = (over: Partial<PostgresDoctorFacts> = {}): PostgresDoctorFacts => ({
    redacted: 'postgres://app:***@db/app', user: 'app', database: 'app', pingsMs: [1, 1, 1],
    serverVersion: '16.2', serverVersionNum: 160002, minimumMajor: 13, recommendedMajor: 14,
    maxConnections: 100, reservedConnections: 3, usedConnections: 10,
    schema: { schema: 'bullmq', status: 'current', version: 11, expected: 11, minClientMajor: 6, bullmqVersion: '6.7.0', bullmqMajor: 6 },
    ...over,
  });
  const status = (f: PostgresDoctorFacts, id: string) => evaluatePostgresChecks(f).find((c) => c.id === id)?.status;

  it('grades connection headroom, server version and transaction age', () => {
    expect(status(facts({ usedConnections: 80 }), 'connections')).toBe('warn');
    expect(status(facts({ usedConnections: 95 }), 'connections')).toBe('fail');
    expect(status(facts({ serverVersionNum: 130010, serverVersion: '13.10' }), 'postgres-version')).toBe('warn');
    expect(status(facts({ serverVersionNum: 120000, serverVersion: '12.0' }), 'postgres-version')).toBe('fail');
    const tx = (ageSeconds: number) => facts({ oldestTransaction: { pid: 1, ageSeconds, state: 'idle in transaction', applicationName: '', user: 'app' } });
    expect(status(tx(30), 'oldest-transaction')).toBe('ok');
    expect(status(tx(600), 'oldest-transaction')).toBe('warn');
    expect(status(tx(7200), 'oldest-transaction')).toBe('fail');
  });
});
