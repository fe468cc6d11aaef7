import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import type { Job } from 'bullmq';
import { bin, repoRoot, runCli } from './helpers/cli.js';
import { freshDatabase, migrateBullmq, pgQueue, pgWorker, sql } from './helpers/postgres.js';
import { tempFile } from './helpers/temp.js';
import { until } from './helpers/wait.js';

/**
 * `queuectl migrate --strategy drain` on BullMQ's PostgreSQL backend: nothing moves, a real old
 * BullMQ worker empties the legacy queue, then its rows go in one transaction.
 */

const yaml = () => tempFile('pgdrain', 'queuectl.yaml', `version: 1
queues:
  alpha: { jobs: [a.process], dedup: none }
workers:
  w: { queues: [alpha] }
legacy:
  legacy: { note: shared }
`);

const TABLES = ['job', 'job_log', 'meta', 'dedup', 'event', 'scheduler'];

async function rowsOf(url: string, queue: string): Promise<Record<string, number>> {
  const [row] = await sql(url, `SELECT ${TABLES.map((t) => `(SELECT count(*) FROM bullmq.${t} WHERE queue = $1)::int AS ${t}`).join(', ')}`, [queue]);
  return row;
}

function start(args: string[]) {
  const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, QUEUECTL_URL: undefined, REDIS_URL: undefined } });
  const out = { stdout: '', stderr: '', code: undefined as number | null | undefined };
  child.stdout.on('data', (d) => (out.stdout += d));
  child.stderr.on('data', (d) => (out.stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r((out.code = code))));
  return { out, exited, child };
}

describe('migrate --strategy drain on PostgreSQL', () => {
  it('says no worker is connected, follows a real worker emptying the queue, then deletes every row of the queue in one go, listing them', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const legacy = pgQueue(url, 'legacy');
    const alpha = pgQueue(url, 'alpha');
    for (let i = 0; i < 30; i++) await legacy.add('a.process', { i });
    await legacy.add('a.process', { dd: true }, { deduplication: { id: 'dd-1' } });
    await alpha.add('a.process', { theirs: true }, { jobId: 'theirs' });
    const alphaBefore = await rowsOf(url, 'alpha');
    const cfg = yaml();
    const run = start(['migrate', '--from', 'legacy', '--strategy', 'drain', '--confirm=legacy', '--quiet-for', '1s', '--json', '-c', cfg, '--url', url]);
    await until(() => /no worker is connected to legacy: nothing will drain its 31 job\(s\)/.test(run.out.stderr) || run.out.code !== undefined, 'the no-worker warning', 60_000);
    expect(run.out.stderr).toMatch(/start its old workers, or stop \(Ctrl-C\) and move the jobs instead: queuectl migrate --from legacy/);
    // Nothing moves in a drain.
    expect((await rowsOf(url, 'legacy')).job).toBe(31);
    pgWorker(url, 'legacy', async (job: Job) => void (await job.log(`ran ${job.id}`)), 'bullmq', { concurrency: 5 });
    expect(await run.exited, run.out.stderr).toBe(0);
    expect(run.out.stderr).toMatch(/Deleting legacy removes 31 completed job\(s\) and the queue's own rows \(.*31 job_log row\(s\).*\)/);
    const doc = JSON.parse(run.out.stdout);
    expect(doc).toMatchObject({ strategy: 'drain', drained: true, moved: {}, removed: { failed: 0, completed: 31 } });
    expect(doc.deletedRows).toBeGreaterThanOrEqual(62);
    expect(await rowsOf(url, 'legacy')).toEqual(Object.fromEntries(TABLES.map((t) => [t, 0])));
    expect(await rowsOf(url, 'alpha')).toEqual(alphaBefore);
  }, 180_000);

  it('refuses a wrong or missing confirmation before waiting; keeps failed jobs unless --include-failed', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const legacy = pgQueue(url, 'legacy');
    await legacy.add('a.process', { pending: true });
    const cfg = yaml();
    const wrong = await runCli(['migrate', '--from', 'legacy', '--strategy', 'drain', '--confirm=other', '-c', cfg, '--url', url]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/^queuectl: --confirm=other does not match "legacy" — pass --confirm=legacy\n$/);
    const none = await runCli(['migrate', '--from', 'legacy', '--strategy', 'drain', '-c', cfg, '--url', url]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^queuectl: deleting the rows of legacy after the drain needs a typed confirmation/);
    pgWorker(url, 'legacy', async (job: Job) => {
      if (job.data.fail) throw new Error('boom');
    });
    await legacy.add('a.process', { fail: true }, { jobId: 'bad' });
    await until(async () => (await legacy.getJobCounts()).failed === 1 && (await legacy.getJobCounts()).completed === 1, 'one failed, one completed');
    const kept = await runCli(['migrate', '--from', 'legacy', '--strategy', 'drain', '--confirm=legacy', '--quiet-for', '0s', '-c', cfg, '--url', url], { timeoutMs: 60_000 });
    expect(kept.code, kept.stderr).toBe(1);
    expect(kept.stdout).toMatch(/Kept the rows of legacy: deleting them would remove 1 failed job\(s\), 1 completed job\(s\)/);
    expect((await rowsOf(url, 'legacy')).job).toBe(2);
    const gone = await runCli(['migrate', '--from', 'legacy', '--strategy', 'drain', '--confirm=legacy', '--include-failed', '--quiet-for', '0s', '-c', cfg, '--url', url], { timeoutMs: 60_000 });
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.stdout).toMatch(/Deleted \d+ row\(s\) of legacy\. They held 1 failed job\(s\), 1 completed job\(s\) and/);
    expect((await rowsOf(url, 'legacy')).job).toBe(0);
  }, 120_000);
});
