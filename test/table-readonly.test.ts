import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { redisUrl } from './helpers/redis.js';
import { freshDatabase, sql } from './helpers/postgres.js';
import { tempFile } from './helpers/temp.js';
import { createTableQueues, JOB_QUEUE_MIX, seed, TABLES_YAML, WORKER_JOB_MIX } from './helpers/table-queues.js';

/** Issue 15: every read-only command on table sources works as a role that may only SELECT the tables. */

describe('table sources as a SELECT-only role', () => {
  it('validate --live, inspect --by-status, topology check, stuck, dlq list/show/stats read; a write is exit 3 in one line', async () => {
    const url = await freshDatabase();
    await createTableQueues(url);
    await seed(url, 'WorkerJob', WORKER_JOB_MIX);
    await seed(url, 'JobQueue', JOB_QUEUE_MIX);
    const role = `qc_ro_${Math.random().toString(16).slice(2, 10)}`;
    const rolePassword = `ro-${Math.random().toString(16).slice(2)}`;
    await sql(url, `CREATE ROLE ${role} LOGIN PASSWORD '${rolePassword}'`);
    try {
      await sql(url, `GRANT SELECT ON "WorkerJob", "JobQueue" TO ${role}`);
      const ro = new URL(url);
      ro.username = role;
      ro.password = rolePassword;
      await expect(sql(ro.toString(), `UPDATE "WorkerJob" SET attempts = 0`)).rejects.toThrow(/permission denied/);
      // The prefix comes from the file, not --prefix: an explicit --prefix holding no queue while the
      // shared test server holds others is exit 2 by design (a mistyped prefix).
      const file = tempFile('tablero', 'queuectl.yaml', `prefix: qc-ro-${role}\n${TABLES_YAML}`);
      const run = (args: string[]) => runCli([...args, '-c', file, '--url', redisUrl()], { env: { APP_DB: ro.toString() } });
      const reads: [string[], (doc: any) => void][] = [
        [['topology', 'validate', '--live', '--json'], (d) => expect(d.tables).toHaveLength(2)],
        [['inspect', 'worker-jobs', 'job-queue', '--by-status', '--json'], (d) => expect(d.tables[0].families.length).toBe(3)],
        [['inspect', '--json'], (d) => expect(d.tables).toHaveLength(2)],
        [['stuck', '--json'], (d) => expect(d.sources[0].total + d.sources[1].total).toBe(3)],
        [['dlq', 'list', '--queue', 'worker-jobs,job-queue', '--json'], (d) => expect(d.items).toHaveLength(12)],
        [['dlq', 'stats', '--queue', 'worker-jobs', '--json'], (d) => expect(d.queues[0].count).toBe(7)],
        [['dlq', 'show', 'worker-jobs/detect_patterns-failed-1', '--json'], (d) => expect(d.item.name).toBe('DETECT_PATTERNS')],
        [['stuck', '--release', '--dry-run', '--json'], (d) => expect(d.dryRun).toBe(true)],
        [['dlq', 'retry', '--all', '--queue', 'worker-jobs', '--dry-run', '--json'], (d) => expect(d.planned).toBe(7)],
      ];
      for (const [args, check] of reads) {
        const r = await run(args);
        expect(r.stderr, args.join(' ')).not.toContain('queuectl:');
        expect(r.code, args.join(' ')).toBe(0);
        check(JSON.parse(r.stdout));
      }
      const check = await run(['topology', 'check', '--json']);
      expect(check.code).toBe(1); // drift (stuck rows, unowned families), found with SELECT alone
      expect(JSON.parse(check.stdout).findings.some((f: { rule: string }) => f.rule === 'table-stuck-rows')).toBe(true);
      const write = await run(['stuck', '--source', 'worker-jobs', '--release', '--yes']);
      expect(write.code).toBe(3);
      expect(write.stderr.trim().split('\n')).toHaveLength(1);
      expect(write.stderr).toContain('permission denied');
      expect(write.stderr).not.toContain(rolePassword);
    } finally {
      await sql(url, `DROP OWNED BY ${role}`);
      await sql(url, `DROP ROLE ${role}`);
    }
  }, 240_000);
});
