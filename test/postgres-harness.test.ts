import { describe, expect, it } from 'vitest';
import { freshDatabase, migrateBullmq, pgAdminUrl, pgQueue, pgWorker, sql } from './helpers/postgres.js';
import { LATEST_SCHEMA_VERSION } from 'bullmq';

describe('the test run\'s throwaway PostgreSQL', () => {
  it('is our own cluster on a loopback port, never 5432, with password auth', async () => {
    const url = new URL(pgAdminUrl());
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.port).not.toBe('5432');
    const wrong = new URL(pgAdminUrl());
    wrong.password = 'not-the-password';
    await expect(sql(wrong.toString(), 'select 1')).rejects.toThrow(/password authentication failed/);
  });

  it('gives each test a fresh database where BullMQ migrates and a real Queue and Worker run', async () => {
    const url = await freshDatabase();
    expect(await sql(url, 'select count(*)::int as n from pg_namespace where nspname = $1', ['bullmq'])).toEqual([{ n: 0 }]);
    expect(await migrateBullmq(url)).toBe(LATEST_SCHEMA_VERSION);
    const queue = pgQueue(url, 'harness');
    await queue.add('hello', { a: 1 });
    expect((await queue.getJobCounts()).waiting).toBe(1);
    const done = new Promise<void>((resolve) => {
      const worker = pgWorker(url, 'harness', async () => 'ok');
      worker.on('completed', () => resolve());
    });
    await done;
    expect((await queue.getJobCounts()).completed).toBe(1);
  });
});
