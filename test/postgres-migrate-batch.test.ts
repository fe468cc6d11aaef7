import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { freshDatabase, migrateBullmq, pgQueue, sql } from './helpers/postgres.js';
import { tempDir, tempFile } from './helpers/temp.js';

/**
 * migrate on PostgreSQL moves a batch in a fixed number of statements, whatever its size: the
 * speed of the move (issue 14 item 7) rests on it. A move that went back to a statement (or an
 * event, or a round trip) per job fails here.
 */

const yaml = () => tempFile('pgbatch', 'queuectl.yaml', `version: 1
queues:
  alpha: { jobs: [a.process], dedup: none }
  beta: { jobs: [b.second], dedup: none }
workers:
  w: { queues: [alpha, beta] }
legacy:
  legacy: { note: shared }
`);

const register = pathToFileURL(fileURLToPath(new URL('./fixtures/count-queries/register.mjs', import.meta.url))).href;

/** Seeds `jobs` legacy jobs of every movable kind, moves them in one batch; returns the statements the run sent. */
async function statementsToMove(jobs: number): Promise<number> {
  const url = await freshDatabase();
  await migrateBullmq(url);
  const legacy = pgQueue(url, 'legacy');
  const kinds = (i: number) => (i % 4 === 1 ? { delay: 3_600_000 } : i % 4 === 2 ? { priority: 1 + (i % 3) } : i % 4 === 3 ? { jobId: `custom-${i}` } : {});
  await legacy.addBulk(Array.from({ length: jobs }, (_, i) => ({ name: i % 2 ? 'b.second' : 'a.process', data: { i }, opts: kinds(i) })));
  const first = (await sql<{ id: string }>(url, `SELECT id FROM bullmq.job WHERE queue = 'legacy' ORDER BY seq LIMIT 1`))[0];
  await (await legacy.getJob(first.id))!.log('a log line');
  const countFile = `${tempDir('pgbatch-count')}/count`;
  const r = await runCli(['migrate', '--from', 'legacy', '--yes', '--json', '--batch', '1000', '-c', yaml(), '--url', url], {
    env: { NODE_OPTIONS: `--import ${register}`, QUEUECTL_TEST_QUERY_COUNT: countFile },
  });
  expect(r.code, r.stderr).toBe(0);
  const doc = JSON.parse(r.stdout);
  expect(doc.verified).toBe(true);
  expect(await sql(url, `SELECT queue, count(*)::int AS n FROM bullmq.job GROUP BY queue ORDER BY queue`)).toEqual([
    { queue: 'alpha', n: Math.ceil(jobs / 2) },
    { queue: 'beta', n: Math.floor(jobs / 2) },
  ]);
  // Each moved job announced as add_jobs_bulk announces it, and its removal from the source.
  const [events] = await sql<{ added: number; removed: number }>(url, `SELECT count(*) FILTER (WHERE event = 'added')::int AS added, count(*) FILTER (WHERE event = 'removed' AND queue = 'legacy')::int AS removed FROM bullmq.event WHERE queue <> 'legacy' OR created_at_ms > 0`);
  expect(events.added).toBe(jobs * 2); // addBulk's into the legacy queue, then the move's into the destinations
  expect(events.removed).toBe(jobs);
  return Number(readFileSync(countFile, 'utf8'));
}

describe('migrate on PostgreSQL, statements per batch', () => {
  it('moving 400 jobs in one batch takes the same statements as moving 40: O(1) round trips per batch, not per job', async () => {
    const small = await statementsToMove(40);
    const big = await statementsToMove(400);
    // The run's own fixed statements (schema check, journal, plan, verify) plus a handful per batch.
    expect(small).toBeLessThan(100);
    expect(big - small).toBeLessThanOrEqual(2);
  }, 120_000);
});

describe('migrate on PostgreSQL, event trimming', () => {
  it('trims each destination to its opts.maxLenEvents as the run goes, every trim reaching down to where the last one stopped', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const keep = 500;
    await sql(url, `INSERT INTO bullmq.meta (queue, field, value) VALUES ('alpha', 'opts.maxLenEvents', $1), ('beta', 'opts.maxLenEvents', $1)`, [String(keep)]);
    const legacy = pgQueue(url, 'legacy');
    await legacy.addBulk(Array.from({ length: 3000 }, (_, i) => ({ name: i % 2 ? 'b.second' : 'a.process', data: { i } })));
    const batch = 250;
    const r = await runCli(['migrate', '--from', 'legacy', '--yes', '--json', '--batch', String(batch), '-c', yaml(), '--url', url]);
    expect(r.code, r.stderr).toBe(0);
    // 9,000 events over 12 batches cross a multiple of 4,096 twice: two trims per destination, the
    // second starting above the first one's cut. Whatever is older than the last trim's reach is gone.
    for (const queue of ['alpha', 'beta']) {
      const [e] = await sql<{ n: number; stale: number }>(url, `SELECT count(*)::int AS n, count(*) FILTER (WHERE id <= (SELECT max(id) FROM bullmq.event WHERE queue = $1) - $2 - 4096 - 3 * $3)::int AS stale FROM bullmq.event WHERE queue = $1`, [queue, keep, batch]);
      expect(e.stale).toBe(0);
      expect(e.n).toBeGreaterThanOrEqual(keep);
    }
  }, 120_000);

  it('cuts a stream that was never trimmed down over several trims, at most 20,000 events a statement, oldest first', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const legacy = pgQueue(url, 'legacy');
    await legacy.addBulk(Array.from({ length: 3000 }, (_, i) => ({ name: i % 2 ? 'b.second' : 'a.process', data: { i } })));
    // A backlog as BullMQ's addBulk leaves it (it writes events without trimming): 100,000 events,
    // far past the default opts.maxLenEvents (10,000). One statement deleting all of them at once
    // outlasts the statement timeout on a million-job queue, and the move could never commit.
    await sql(url, `INSERT INTO bullmq.event (queue, event, data, created_at_ms) SELECT 'legacy', 'added', jsonb_build_object('jobId', g::text), 0 FROM generate_series(1, 100000) g`);
    const [before] = await sql<{ n: number; low: string }>(url, `SELECT count(*)::int AS n, min(id)::text AS low FROM bullmq.event WHERE queue = 'legacy'`);
    const r = await runCli(['migrate', '--from', 'legacy', '--yes', '--json', '--batch', '250', '-c', yaml(), '--url', url]);
    expect(r.code, r.stderr).toBe(0);
    // 9,000 new events cross a multiple of 4,096 two or three times: each trim of the source took at
    // most 20,000, the oldest first, so at least one trim ran and the stream is still well past 10,000.
    const [after] = await sql<{ n: number; low: string }>(url, `SELECT count(*)::int AS n, min(id)::text AS low FROM bullmq.event WHERE queue = 'legacy'`);
    const deleted = before.n + 3000 - after.n;
    expect(deleted).toBeGreaterThanOrEqual(20_000);
    expect(deleted % 20_000).toBe(0);
    expect(deleted).toBeLessThanOrEqual(60_000);
    expect(BigInt(after.low)).toBe(BigInt(before.low) + BigInt(deleted));
  }, 120_000);
});
