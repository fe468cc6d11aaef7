import { describe, expect, it } from 'vitest';
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
});
