import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { freshDatabase, migrateBullmq, sql } from './helpers/postgres.js';
import { redisUrl, startRedis } from './helpers/redis.js';
import pg from 'pg';
import { until } from './helpers/wait.js';
import { closeAll, dueAt, names, order, queueOn, seedMix, snapshot, startMigrate, topologyFile, type Where } from './xmove-fixture.js';

/**
 * `queuectl migrate --from <legacy> --to-url <url>`: a legacy shared queue moved to another
 * server or backend, routed by name into the per-family queues there, every job kept whole
 * (every field BullMQ reads back, state, logs, due time, order, deduplication key), automatic ids
 * keeping their numbers with the destination's counter raised past them.
 */
afterAll(closeAll);

const ALL = ['--states', 'wait,prioritized,delayed,failed'];

async function moveAndCompare(from: Where, to: Where) {
  const n = names();
  const cfg = topologyFile(n);
  const { ids, unowned } = await seedMix(from, n);
  const legacy = queueOn(from, n.legacy);
  const before = new Map<string, unknown>();
  for (const id of ids) before.set(id, await snapshot(legacy, id));
  const due = await dueAt(from, n.legacy, 'later');
  const orderBefore = await order(legacy);

  const dry = await runCli(['migrate', '--from', n.legacy, '--to-url', to.url, ...ALL, '--dry-run', '--json', '-c', cfg, '--url', from.url]);
  expect(dry.stderr).toBe('');
  const plan = JSON.parse(dry.stdout);
  expect(plan.dryRun).toBe(true);
  expect(plan.destination.ready).toBe(true);
  expect(JSON.stringify(plan)).not.toContain(new URL(to.url).password || '\u0000');
  expect(plan.plan.moves[n.a]).toEqual({ wait: 6, delayed: 1 });
  expect(plan.plan.moves[n.b]).toEqual({ wait: 1, prioritized: 3, failed: 1 });
  expect(await legacy.getJobCounts('wait')).toEqual({ wait: 8 }); // the dry run changed nothing

  const res = await runCli(['migrate', '--from', n.legacy, '--to-url', to.url, ...ALL, '--yes', '--json', '-c', cfg, '--url', from.url]);
  expect(res.stderr).toBe('');
  const doc = JSON.parse(res.stdout);
  expect(doc.moved).toEqual({ [n.a]: 7, [n.b]: 5 });
  expect(doc.skipped.map((s: { reason: string }) => s.reason)).toEqual(['unowned']);
  expect(res.code).toBe(1); // the unowned job stays: the legacy queue cannot be retired yet

  const A = queueOn(to, n.a);
  const B = queueOn(to, n.b);
  for (const id of ids) {
    const was = before.get(id) as { name: string };
    const now = await snapshot(was.name === 'a.process' ? A : B, id);
    expect(now, `job ${id}`).toEqual(was);
    expect(await legacy.getJob(id), `job ${id} left the source`).toBeUndefined();
  }
  expect(await dueAt(to, n.a, 'later')).toBe(due);
  const [oa, ob] = [await order(A), await order(B)];
  const nameOf = (id: string) => (before.get(id) as { name: string } | undefined)?.name;
  expect(oa.wait).toEqual(orderBefore.wait.filter((id) => nameOf(id) === 'a.process'));
  expect(ob.wait).toEqual(orderBefore.wait.filter((id) => nameOf(id) === 'b.second'));
  expect(ob.prioritized).toEqual(orderBefore.prioritized);
  expect(await legacy.getJob(unowned)).toBeDefined();

  // Automatic ids kept their numbers; the destination's next automatic id is past them.
  const fresh = await A.add('a.process', { after: true });
  expect(Number(fresh.id)).toBeGreaterThan(Math.max(...ids.filter((id) => /^\d+$/.test(id)).map(Number)));
  // The deduplication key moved with its job: a producer adding the same id is deduplicated there.
  const logged = ids.find((id) => (before.get(id) as { deduplicationId: string | null }).deduplicationId === 'dd-1')!;
  expect((await A.add('a.process', { again: true }, { deduplication: { id: 'dd-1', ttl: 600_000 } })).id).toBe(logged);
  return { n, res };
}

describe('migrate --to-url', () => {
  it('Redis → PostgreSQL: every job kept whole, routed by name, order, due time, logs, dedup key and ids kept', async () => {
    const pgUrl = await freshDatabase();
    await migrateBullmq(pgUrl);
    await moveAndCompare({ kind: 'redis', url: redisUrl() }, { kind: 'postgres', url: pgUrl });
  });

  it('PostgreSQL → Redis: the same, the other way', async () => {
    const pgUrl = await freshDatabase();
    await migrateBullmq(pgUrl);
    const other = await startRedis();
    try {
      await moveAndCompare({ kind: 'postgres', url: pgUrl }, { kind: 'redis', url: other.url });
      // status on the source names both ends
      const status = await runCli(['migrate', 'status', '--url', pgUrl]);
      expect(status.stdout).toContain(`127.0.0.1:${other.port}`);
    } finally {
      await closeAll();
      await other.stop();
    }
  });

  it('Redis → Redis (another server): the same', async () => {
    const other = await startRedis();
    try {
      await moveAndCompare({ kind: 'redis', url: redisUrl() }, { kind: 'redis', url: other.url });
    } finally {
      await closeAll();
      await other.stop();
    }
  });

  it('Redis → PostgreSQL: numeric ids the destination holds take its next free ids, in order, skipping held ones', async () => {
    const pgUrl = await freshDatabase();
    await migrateBullmq(pgUrl);
    const n = names();
    const legacy = queueOn({ kind: 'redis', url: redisUrl() }, n.legacy);
    for (let i = 0; i < 5; i++) await legacy.add('a.process', { i }); // ids 1..5
    const dest = queueOn({ kind: 'postgres', url: pgUrl }, n.a);
    for (let i = 0; i < 3; i++) await dest.add('a.process', { held: i }); // ids 1..3
    // The counter is raised to 1,000,005 (1,000,000 past the source's 5): 1,000,007 is held already, so it is skipped.
    await sql(pgUrl, `INSERT INTO bullmq.job (queue, id, seq, name, state, data, opts, priority, delay_ms, max_attempts, added_at_ms)
                      VALUES ($1, '1000007', nextval('bullmq.job_seq'), 'a.process', 'waiting', '{"held":"x"}', '{}', 0, 0, 1, 0)`, [n.a]);
    const res = await runCli(['migrate', '--from', n.legacy, '--to-url', pgUrl, '--yes', '--json', '-c', topologyFile(n), '--url', redisUrl()]);
    expect(res.code, res.stderr).toBe(0);
    const doc = JSON.parse(res.stdout);
    expect(doc.renamed).toEqual([
      { queue: n.a, from: '1', to: '1000006' },
      { queue: n.a, from: '2', to: '1000008' },
      { queue: n.a, from: '3', to: '1000009' },
    ]);
    const data = async (id: string) => (await dest.getJob(id))?.data;
    expect([await data('1000006'), await data('1000008'), await data('1000009'), await data('4'), await data('5')]).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }, { i: 4 }]);
    expect([await data('1'), await data('1000007')]).toEqual([{ held: 0 }, { held: 'x' }]);
  });

  /** `earlier`: the holding table as an earlier version made it (jobs held as jsonb): converted, it holds and returns jobs the same. */
  async function refusedGoesBack(earlier: boolean) {
    const pgUrl = await freshDatabase();
    await migrateBullmq(pgUrl);
    if (earlier) {
      await sql(pgUrl, `CREATE SCHEMA IF NOT EXISTS queuectl`);
      await sql(pgUrl, `CREATE TABLE queuectl.xmove_held (run_id text NOT NULL, job_id text NOT NULL, job jsonb NOT NULL, log_idx bigint[] NOT NULL, logs text[] NOT NULL, PRIMARY KEY (run_id, job_id))`);
    }
    const other = await startRedis();
    try {
      const n = names();
      const from: Where = { kind: 'postgres', url: pgUrl };
      const legacy = queueOn(from, n.legacy);
      await legacy.add('a.process', { i: 0 }, { jobId: 'first' });
      const clash = await legacy.add('a.process', { mine: true }, { jobId: 'clash', attempts: 4, backoff: { type: 'fixed', delay: 500 } });
      await clash.log('kept one');
      await clash.log('kept two');
      await legacy.add('a.process', { i: 2 }, { jobId: 'last' });
      const before = await snapshot(legacy, 'clash');
      const dest = queueOn({ kind: 'redis', url: other.url }, n.a);
      await dest.add('a.process', { theirs: true }, { jobId: 'clash' });
      const res = await runCli(['migrate', '--from', n.legacy, '--to-url', other.url, '--yes', '--json', '-c', topologyFile(n), '--url', pgUrl]);
      expect(res.code, res.stderr).toBe(1); // the refused job stays: not verified empty
      expect(JSON.parse(res.stdout).moved).toEqual({ [n.a]: 2 });
      expect(await snapshot(legacy, 'clash')).toEqual(before);
      expect((await order(legacy)).wait).toEqual(['clash']);
      expect((await dest.getJob('clash'))?.data).toEqual({ theirs: true });
      const [{ held }] = await sql(pgUrl, `SELECT count(*)::int AS held FROM queuectl.xmove_held`);
      expect(held).toBe(0);
      const [{ type }] = await sql(pgUrl, `SELECT format_type(atttypid, NULL) AS type FROM pg_attribute WHERE attrelid = 'queuectl.xmove_held'::regclass AND attname = 'job'`);
      expect(type).toBe('json');
    } finally {
      await closeAll();
      await other.stop();
    }
  }

  it('PostgreSQL → Redis: a job the destination refuses (its custom id is taken there) goes back whole, logs and place in line kept', async () => {
    await refusedGoesBack(false);
  });

  it('PostgreSQL → Redis: the same through a holding table an earlier version made (jsonb), converted to json', async () => {
    await refusedGoesBack(true);
  });

  it('Redis → PostgreSQL: a delivery waits while an obliterate holds the destination queue (BullMQ\'s producer lock), then completes', async () => {
    const pgUrl = await freshDatabase();
    await migrateBullmq(pgUrl);
    const n = names();
    const legacy = queueOn({ kind: 'redis', url: redisUrl() }, n.legacy);
    for (let i = 0; i < 3; i++) await legacy.add('a.process', { i });
    // What BullMQ's obliterate takes first, held by another session.
    const obliterate = new pg.Client({ connectionString: pgUrl });
    await obliterate.connect();
    try {
      await obliterate.query('BEGIN');
      await obliterate.query(`SELECT pg_advisory_xact_lock(hashtext('bullmq:finalization'), hashtext($1))`, [n.a]);
      const run = startMigrate(['migrate', '--from', n.legacy, '--to-url', pgUrl, '--yes', '--json', '-c', topologyFile(n), '--url', redisUrl()]);
      const waiting = async () => (await sql(pgUrl, `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`))[0].n > 0;
      await until(waiting, 'the delivery waiting on the finalization lock', 30_000, 50);
      expect((await sql(pgUrl, `SELECT count(*)::int AS n FROM bullmq.job WHERE queue = $1`, [n.a]))[0].n).toBe(0);
      await obliterate.query('COMMIT');
      expect(await run.done, run.err()).toBe(0);
      expect(JSON.parse(run.out()).moved).toEqual({ [n.a]: 3 });
    } finally {
      await obliterate.end();
    }
  });

  it('refuses a destination that is not ready, before moving anything (dry run and real run)', async () => {
    const n = names();
    const cfg = topologyFile(n);
    const empty = await freshDatabase(); // no BullMQ schema there
    const legacy = queueOn({ kind: 'redis', url: redisUrl() }, n.legacy);
    await legacy.add('a.process', { i: 1 });
    const dry = await runCli(['migrate', '--from', n.legacy, '--to-url', empty, '--dry-run', '-c', cfg, '--url', redisUrl()]);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toMatch(/problem: no BullMQ schema/);
    const real = await runCli(['migrate', '--from', n.legacy, '--to-url', empty, '--yes', '-c', cfg, '--url', redisUrl()]);
    expect(real.code).toBe(1);
    expect(real.stderr).toMatch(/destination is not ready/);
    expect(await legacy.getJobCounts('wait')).toEqual({ wait: 1 });
    expect(real.stderr + real.stdout).not.toMatch(new RegExp(new URL(empty).password));
    void sql;
  });
});
