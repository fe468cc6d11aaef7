import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { runCli } from './helpers/cli.js';
import { freshDatabase, sql } from './helpers/postgres.js';
import { tempFile } from './helpers/temp.js';
import { testContext } from './helpers/context.js';
import { claimWorkerJob, createTableQueues, JOB_QUEUE_MIX, recoverWorkerJobs, seed, TABLES_YAML, WORKER_JOB_MIX } from './helpers/table-queues.js';
import { resolveTableSource } from '../src/table/resolve.js';
import { listStuck, releaseStuck } from '../src/table/stuck.js';

/** Issue 15 item 5: `queuectl stuck` lists rows locked past the lock timeout; --release makes them ready again. */

const state = (url: string, table: string, ids: string[]) =>
  sql(url, `SELECT id, status::text AS status, attempts, "lockedBy" FROM "${table}" WHERE id = ANY($1) ORDER BY id`, [ids]);

describe('queuectl stuck', () => {
  it('lists stuck rows of every table source; --release needs --yes off a terminal; --dry-run changes nothing', async () => {
    const url = await freshDatabase();
    await createTableQueues(url);
    await seed(url, 'WorkerJob', WORKER_JOB_MIX);
    await seed(url, 'JobQueue', JOB_QUEUE_MIX);
    const file = tempFile('tablestuck', 'queuectl.yaml', TABLES_YAML);
    const env = { APP_DB: url };
    const listed = await runCli(['stuck', '-c', file, '--json'], { env });
    expect(listed.code).toBe(0);
    const doc = JSON.parse(listed.stdout);
    expect(doc.schema).toBe('queuectl/stuck@1');
    const bySource = Object.fromEntries(doc.sources.map((s: { source: string }) => [s.source, s]));
    expect(bySource['worker-jobs'].rows.map((r: { id: string }) => r.id)).toEqual(['interpret-stuck-1', 'insights-stuck-1']);
    expect(bySource['worker-jobs'].rows[0]).toMatchObject({ family: 'INTERPRET_EVENT', lockedBy: 'worker-dead', attempts: 1, maxAttempts: 3 });
    expect(bySource['job-queue'].rows.map((r: { id: string }) => r.id)).toEqual(['lead-stuck-1']); // lockTimeout 5m
    const longer = JSON.parse((await runCli(['stuck', '-c', file, '--json', '--source', 'worker-jobs', '--older-than', '20m'], { env })).stdout);
    expect(longer.sources[0].rows.map((r: { id: string }) => r.id)).toEqual(['interpret-stuck-1']);

    const human = await runCli(['stuck', '-c', file, '--source', 'worker-jobs'], { env });
    expect(human.stdout).toContain('worker-jobs: 2 stuck rows (active, locked longer than 10m) in table "public"."WorkerJob" in database');
    expect(human.stdout).toMatch(/interpret-stuck-1 +INTERPRET_EVENT +worker-dead +30m +1\/3/);

    const before = await state(url, 'WorkerJob', ['interpret-stuck-1', 'insights-stuck-1']);
    const refused = await runCli(['stuck', '-c', file, '--source', 'worker-jobs', '--release'], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--yes');
    const dry = await runCli(['stuck', '-c', file, '--source', 'worker-jobs', '--release', '--dry-run'], { env });
    expect(dry.code).toBe(0);
    expect(await state(url, 'WorkerJob', ['interpret-stuck-1', 'insights-stuck-1'])).toEqual(before);

    const released = await runCli(['stuck', '-c', file, '--source', 'worker-jobs', '--release', '--yes'], { env });
    expect(released.code).toBe(0);
    expect(released.stderr).toContain('worker-jobs: released 2');
    expect(await state(url, 'WorkerJob', ['interpret-stuck-1', 'insights-stuck-1'])).toEqual([
      { id: 'insights-stuck-1', status: 'PENDING', attempts: 3, lockedBy: null },
      { id: 'interpret-stuck-1', status: 'PENDING', attempts: 2, lockedBy: null },
    ]);
    const again = await runCli(['stuck', '-c', file, '--source', 'worker-jobs', '--release', '--yes', '--json'], { env });
    expect(JSON.parse(again.stdout).sources[0]).toMatchObject({ total: 0, released: 0 });
    expect((await runCli(['stuck', '-c', file, '--source', 'worker-job'], { env })).stderr).toContain('did you mean "worker-jobs"?');
  });

  it('a release never touches a row that finished, was recovered, or is held by a worker meanwhile — with the app claiming throughout', async () => {
    const url = await freshDatabase();
    await createTableQueues(url);
    await seed(url, 'WorkerJob', [
      { type: 'INTERPRET_EVENT', status: 'PROCESSING', count: 40, lockedFor: -3600, attempts: 1, lockedBy: 'gone', prefix: 'stuck' },
      { type: 'INTERPRET_EVENT', status: 'PENDING', count: 200 },
    ]);
    const t = testContext({ yaml: TABLES_YAML, sourceUrl: url });
    const source = await resolveTableSource(t.ctx, 'worker-jobs');
    const { rows } = await listStuck(source, source.lockTimeoutMs, 1000);
    expect(rows).toHaveLength(40);
    // Between the listing and the release: one row finishes, one is recovered by the app, one is held FOR UPDATE.
    await sql(url, `UPDATE "WorkerJob" SET status = 'COMPLETED', "lockedAt" = NULL WHERE id = 'stuck-1'`);
    await sql(url, `UPDATE "WorkerJob" SET status = 'PENDING', "lockedAt" = NULL, "lockedBy" = NULL, "lastError" = 'Recovered' WHERE id = 'stuck-2'`);
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`SELECT id FROM "WorkerJob" WHERE id = 'stuck-3' FOR UPDATE`);
    // The application's workers claim ready rows the whole time.
    let claiming = true;
    const claimed: string[] = [];
    const workers = [1, 2, 3].map(async (n) => {
      while (claiming) {
        const row = await claimWorkerJob(url, `app-${n}`);
        if (row) claimed.push(row.id);
      }
    });
    const released = await releaseStuck(source, rows.map((r) => r.id), source.lockTimeoutMs);
    await holder.query('ROLLBACK');
    await holder.end();
    // The app keeps claiming after the release: released rows are ready rows like any other.
    const target = claimed.length + 20;
    while (claimed.length < target && claimed.length < 240 - 2) await new Promise((r) => setImmediate(r));
    claiming = false;
    await Promise.all(workers);
    await t.ctx.close();

    expect(released.sort()).toEqual(rows.map((r) => r.id).filter((id) => !['stuck-1', 'stuck-2', 'stuck-3'].includes(id)).sort());
    const after = await sql(url, `SELECT id, status::text AS status, attempts FROM "WorkerJob" WHERE id LIKE 'stuck-%'`);
    const byId: Record<string, { status: string; attempts: number }> = Object.fromEntries(after.map((r: { id: string; status: string; attempts: number }) => [r.id, r]));
    expect(byId['stuck-1']).toMatchObject({ status: 'COMPLETED', attempts: 1 });
    // recovered by the app, so not ours to release: ready with its attempts, or claimed again by the app (its claim counts one)
    expect(byId['stuck-2'].attempts).toBe(byId['stuck-2'].status === 'PENDING' ? 1 : 2);
    expect(byId['stuck-3']).toMatchObject({ status: 'PROCESSING', attempts: 1 });
    for (const id of released) {
      // released: attempts + 1; then possibly claimed by the app (its claim counts one more)
      const row = byId[id];
      expect(row.status === 'PENDING' ? row.attempts : row.attempts - 1).toBe(2);
      expect(['PENDING', 'PROCESSING']).toContain(row.status);
    }
    // nothing claimed twice, nothing lost
    expect(new Set(claimed).size).toBe(claimed.length);
    expect((await sql(url, 'SELECT count(*)::int AS n FROM "WorkerJob"'))[0].n).toBe(240);
    expect(await recoverWorkerJobs(url)).toBe(1); // only the row the holder kept, still locked an hour ago
  });
});
