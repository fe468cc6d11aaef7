import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { freshDatabase, sql } from './helpers/postgres.js';
import { tempFile } from './helpers/temp.js';
import { testContext } from './helpers/context.js';
import { createTableQueues, seed } from './helpers/table-queues.js';
import { guessColumns } from '../src/table/columns.js';
import { guessStatuses } from '../src/table/statuses.js';
import { resolveTableSource } from '../src/table/resolve.js';
import { isTableName } from '../src/table/identifier.js';
import { UsageError } from '../src/errors.js';

/** Issue 15 item 1: declaring a legacy table source, and the mapping guessed from the live table. */

const cols = (...names: string[]) => names.map((name) => ({ name, type: 'text' }));

describe('column guesser (pure)', () => {
  it('maps the WorkerJob and JobQueue shapes with nothing declared', () => {
    const worker = guessColumns(cols('id', 'type', 'payload', 'status', 'priority', 'availableAt', 'attempts', 'maxAttempts', 'lastError', 'lockedAt', 'lockedBy', 'idempotencyKey', 'userId', 'createdAt', 'startedAt', 'completedAt'));
    expect(worker.columns).toEqual({
      id: 'id', name: 'type', data: 'payload', status: 'status', runAt: 'availableAt', priority: 'priority', attemptsMade: 'attempts',
      maxAttempts: 'maxAttempts', lastError: 'lastError', lockedAt: 'lockedAt', lockedBy: 'lockedBy', idempotencyKey: 'idempotencyKey',
      createdAt: 'createdAt', startedAt: 'startedAt', completedAt: 'completedAt',
    });
    expect(worker.declared).toEqual([]);
    const snake = guessColumns(cols('job_id', 'kind', 'args', 'state', 'run_at', 'attempt', 'max_attempts', 'last_error', 'locked_at', 'locked_by'));
    expect(snake.columns).toMatchObject({ id: 'job_id', name: 'kind', data: 'args', status: 'state', runAt: 'run_at', attemptsMade: 'attempt', maxAttempts: 'max_attempts' });
  });

  it('an ambiguous column is a usage error naming the candidates; declaring one settles it', () => {
    const table = cols('id', 'type', 'name', 'payload', 'status');
    const error = (() => { try { guessColumns(table, {}, 'legacy.jobs.table'); } catch (e) { return e as UsageError; } })();
    expect(error).toBeInstanceOf(UsageError);
    expect(error!.exitCode).toBe(2);
    expect(error!.message).toContain('name column is ambiguous');
    expect(error!.message).toContain('"type", "name"');
    expect(error!.hint).toContain('columns: { name: type }');
    expect(guessColumns(table, { name: 'name' }).columns.name).toBe('name');
  });

  it('a missing required column names what was looked for and the table\'s columns', () => {
    expect(() => guessColumns(cols('id', 'type', 'status'))).toThrow(/no data column found \(looked for payload, data, args/);
    expect(() => guessColumns(cols('id', 'type', 'status', 'payload'), { runAt: 'due' })).toThrow(/columns.runAt names column "due", which the table does not have/);
  });
});

describe('status guesser (pure)', () => {
  it('reads the WorkerJob and JobQueue enums; JobQueue has no failed status', () => {
    expect(guessStatuses(['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'DEAD_LETTER']).status)
      .toEqual({ ready: 'PENDING', active: 'PROCESSING', completed: 'COMPLETED', failed: 'FAILED', dead: 'DEAD_LETTER' });
    const jq = guessStatuses(['PENDING', 'PROCESSING', 'COMPLETED', 'DEAD_LETTER']);
    expect(jq.status).toEqual({ ready: 'PENDING', active: 'PROCESSING', completed: 'COMPLETED', dead: 'DEAD_LETTER' });
    expect(jq.unmapped).toEqual([]);
  });

  it('lowercase values, unmapped ones reported, a declared value must exist in an enum', () => {
    const r = guessStatuses(['queued', 'running', 'done', 'paused'], {}, { closed: false });
    expect(r.status).toEqual({ ready: 'queued', active: 'running', completed: 'done' });
    expect(r.unmapped).toEqual(['paused']);
    expect(() => guessStatuses(['PENDING', 'PROCESSING'], { dead: 'DEAD' })).toThrow(/status.dead is "DEAD", which the status type does not have/);
    expect(() => guessStatuses(['queued'], {}, { closed: false })).toThrow(/no "active" status value found/);
    expect(() => guessStatuses(['PENDING', 'READY', 'RUNNING'])).toThrow(/ready status is ambiguous — candidates "PENDING", "READY"/);
  });

  it('table names as written in SQL', () => {
    for (const ok of ['jobs', '"WorkerJob"', 'app."JobQueue"', '"a""b"']) expect(isTableName(ok)).toBe(true);
    for (const bad of ['jobs; DROP TABLE x', '"open', 'a.b.c', '']) expect(isTableName(bad)).toBe(false);
  });
});

const TOPOLOGY = `version: 1
defaults: { attempts: 3, backoff: 5s, removeOnComplete: 1000, removeOnFail: 5000, deadLetter: failed }
queues:
  interpret: { jobs: [INTERPRET_EVENT], jobId: "interpret-{eventId}" }
workers:
  interpreter: { queues: [interpret] }
legacy:
  worker-jobs:
    table: { name: '"WorkerJob"', urlEnv: APP_DB }
  job-queue:
    table: { name: '"JobQueue"', urlEnv: APP_DB, priority: higher-first, lockTimeout: 5m }
`;

describe('table sources on a live PostgreSQL', () => {
  it('resolves both fixture tables with no columns: and no status:', async () => {
    const url = await freshDatabase();
    await createTableQueues(url);
    const t = testContext({ yaml: TOPOLOGY, sourceUrl: url });
    const worker = await resolveTableSource(t.ctx, 'worker-jobs');
    expect(worker.table.sql).toBe('"public"."WorkerJob"');
    expect(worker.columns).toMatchObject({ id: 'id', name: 'type', data: 'payload', status: 'status', runAt: 'availableAt', attemptsMade: 'attempts', lockedAt: 'lockedAt' });
    expect(worker.status).toEqual({ ready: 'PENDING', active: 'PROCESSING', completed: 'COMPLETED', failed: 'FAILED', dead: 'DEAD_LETTER' });
    expect(worker.statusType).toBe('"JobStatus"');
    expect(worker.provenance).toMatchObject({ status: 'enum', priority: 'default', lockTimeout: 'default' });
    expect(worker.lockTimeoutMs).toBe(600_000);
    const queue = await resolveTableSource(t.ctx, 'job-queue');
    expect(queue.columns.runAt).toBe('scheduledFor');
    expect(queue.status).toEqual({ ready: 'PENDING', active: 'PROCESSING', completed: 'COMPLETED', dead: 'DEAD_LETTER' });
    expect(queue.lockTimeoutMs).toBe(300_000);
    await t.ctx.close();
  });

  it('a text status column: values guessed from the rows', async () => {
    const url = await freshDatabase();
    await sql(url, `CREATE TABLE jobs (id bigserial PRIMARY KEY, kind text, args jsonb, state text, run_at timestamptz);
      CREATE INDEX ON jobs(state);
      INSERT INTO jobs(kind, args, state) VALUES ('a', '{}', 'queued'), ('a', '{}', 'running'), ('b', '{}', 'queued'), ('b', '{}', 'discarded')`);
    const t = testContext({ yaml: 'version: 1\nqueues: {}\nlegacy:\n  jobs: { table: { name: jobs } }\n', sourceUrl: url });
    const source = await resolveTableSource(t.ctx, 'jobs');
    expect(source.status).toEqual({ ready: 'queued', active: 'running', dead: 'discarded' });
    expect(source.provenance.status).toBe('values');
    await t.ctx.close();
  });

  it('topology validate --live prints the chosen mapping; --json carries it; the URL comes from urlEnv', async () => {
    const url = await freshDatabase();
    await createTableQueues(url);
    await seed(url, 'WorkerJob', [{ type: 'INTERPRET_EVENT', status: 'PENDING', count: 3 }]);
    const file = tempFile('tablesrc', 'queuectl.yaml', TOPOLOGY);
    const human = await runCli(['topology', 'validate', '--live', '-c', file], { env: { APP_DB: url } });
    expect(human.stderr).toBe('');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('worker-jobs: table "public"."WorkerJob"');
    expect(human.stdout).toMatch(/columns: id=id\* name=type\* data=payload\* status=status\* runAt=availableAt\*/);
    expect(human.stdout).toContain('status:  ready=PENDING active=PROCESSING completed=COMPLETED failed=FAILED dead=DEAD_LETTER');
    expect(human.stdout).toContain('priority: higher-first (default)   lockTimeout: 10m (default)');
    expect(human.stdout).not.toContain(new URL(url).password || '\u0000');
    const json = await runCli(['topology', 'validate', '--live', '--json', '-c', file], { env: { APP_DB: url } });
    const doc = JSON.parse(json.stdout);
    expect(doc.tables.map((m: { source: string }) => m.source)).toEqual(['job-queue', 'worker-jobs']);
    expect(doc.tables[0].columns.runAt).toEqual({ column: 'scheduledFor', guessed: true });
  });

  it('exit 2 in one line: unset urlEnv, a missing table, an ambiguous column', async () => {
    const url = await freshDatabase();
    await createTableQueues(url);
    await sql(url, 'CREATE TABLE twice (id text PRIMARY KEY, type text, name text, payload jsonb, status text)');
    const unset = await runCli(['topology', 'validate', '--live', '-c', tempFile('tablesrc', 'queuectl.yaml', TOPOLOGY)]);
    expect(unset.code).toBe(2);
    expect(unset.stderr.trim()).toMatch(/^queuectl: table source "job-queue": APP_DB is not set — export APP_DB=/);
    const missing = await runCli(['topology', 'validate', '--live', '-c', tempFile('tablesrc', 'queuectl.yaml', 'version: 1\nqueues: {}\nlegacy:\n  x: { table: { name: nope } }\n'), '--source-url', url]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('legacy.x.table: no table nope in database');
    const ambiguous = await runCli(['topology', 'validate', '--live', '-c', tempFile('tablesrc', 'queuectl.yaml', 'version: 1\nqueues: {}\nlegacy:\n  x: { table: { name: twice } }\n')], { env: { DATABASE_URL: url } });
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr.trim().split('\n')).toHaveLength(1);
    expect(ambiguous.stderr).toContain('the name column is ambiguous — candidates "type", "name"');
  });

  it('the schema refuses a URL in urlEnv, an unknown column role and a bad priority direction', async () => {
    const bad = await runCli(['topology', 'validate', '-c', tempFile('tablesrc', 'queuectl.yaml', `version: 1
queues: {}
legacy:
  x: { table: { name: jobs, urlEnv: "postgres://a@b/c", columns: { runAtt: x }, priority: desc } }
`)]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('urlEnv names an environment variable');
    expect(bad.stderr).toContain('runAtt');
    expect(bad.stderr).toContain('higher-first or lower-first');
  });
});
