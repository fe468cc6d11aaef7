import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { freePort } from './helpers/redis.js';
import { freshDatabase, migrateBullmq, pgQueue, pgWorker, sql } from './helpers/postgres.js';
import { FIND_SQL } from '../src/jobs/postgres-site.js';
import { queueOpsScenario, runOp, type OpsBackend } from './queue-ops-scenario.js';

describe('queue and job operations on PostgreSQL (BullMQ on createPostgresBackend)', () => {
  it('every operation on real jobs in every state, read back through BullMQ', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const backend: OpsBackend = {
      globals: { redis: url },
      queue: (name, opts) => pgQueue(url, name, 'bullmq', opts),
      worker: (name, processor, concurrency) => pgWorker(url, name, processor, 'bullmq', { concurrency }),
    };
    await queueOpsScenario(backend, 'mail', 'other');
  });

  it('job find is one primary-key probe per queue, never a scan of the job table', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const queue = pgQueue(url, 'big');
    await queue.addBulk(Array.from({ length: 2000 }, (_, i) => ({ name: 'n', data: {}, opts: { jobId: `j${i}` } })));
    await sql(url, 'ANALYZE bullmq.job');
    const backend: OpsBackend = { globals: { redis: url }, queue: () => queue, worker: () => { throw new Error('unused'); } };
    const found = await runOp(backend, () => import('../src/commands/job-find.js'), ['j1234'], {}, { json: true });
    expect(found.json.matches).toEqual([expect.objectContaining({ ref: 'big/j1234', state: 'waiting' })]);
    // The planner's choice for the command's query, its parameters written in.
    const plan = await sql(url, `EXPLAIN ${FIND_SQL('bullmq').replace('$1::text[]', "ARRAY['big','other']::text[]").replace('$2', "'j1'")}`);
    expect(JSON.stringify(plan)).not.toMatch(/Seq Scan on job/);
    expect(JSON.stringify(plan)).toMatch(/Index (Only )?Scan/);
  });

  it('on a closed port every queue and job command is exit 3 in one line naming PostgreSQL, password hidden', async () => {
    const url = `postgres://app:pw@127.0.0.1:${await freePort()}/db`;
    for (const args of [['queue', 'pause', 'q'], ['queue', 'clean', 'q', '--state', 'failed', '--older-than', '1d', '--yes'], ['queue', 'obliterate', 'q', '--yes'], ['job', 'find', '1'], ['job', 'remove', 'q/1', '--yes'], ['job', 'logs', 'q/1']]) {
      const r = await runCli([...args, '--url', url]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toMatch(/^queuectl: PostgreSQL at postgres:\/\/app:\*\*\*@127\.0\.0\.1:\d+\/db refused the connection[^\n]*\n$/);
    }
  });
});
