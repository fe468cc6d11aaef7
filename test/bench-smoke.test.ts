// Smoke test of the benchmark plumbing (rows, ratios, comparison with the previous run, the
// registry), and of the PostgreSQL benches end to end on small sizes: the Redis benches take
// minutes and run with `npm run bench -- --quick`.
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Worker, createPostgresBackend, type Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { GROUPS, REGISTRY } from '../scripts/bench/registry.mjs';
import { argv, freePort, pipeSeed, redisCli, resp, root, startServer } from '../scripts/bench/lib.mjs';
import { run as pgInspect, seed as seedInspectQueues } from '../scripts/bench/pg-inspect.mjs';
import { bullmqPool, sql, startPostgres } from '../scripts/bench/pg-lib.mjs';
import { run as pgMigrate } from '../scripts/bench/pg-migrate.mjs';
import { compareWithPrevious, row, summaryLines, summaryRows, type SummaryRow } from '../scripts/bench/summary.mjs';

describe('bench lib', () => {
  it('encodes RESP with byte lengths, as redis-cli --pipe expects', () => {
    expect(resp(['SET', 'k', 42])).toBe('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n42\r\n');
    expect(resp(['SET', 'é', '→'])).toBe('*3\r\n$3\r\nSET\r\n$2\r\né\r\n$3\r\n→\r\n');
  });

  it("finds a free loopback port away from Redis's default port, with its cluster bus port free too", async () => {
    const port = await freePort({ bus: true });
    expect(port).toBeGreaterThanOrEqual(20000);
    expect(port).toBeLessThan(40000);
    await new Promise<void>((resolve, reject) => {
      const server = createServer().once('error', reject);
      server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
    });
  });

  it('seeds a throwaway redis-server through redis-cli --pipe and stops it', async () => {
    const server = await startServer();
    try {
      function* commands() {
        yield resp(['HSET', 'bench:h', 'name', 'smartupload.process', 'data', '{"é":1}']);
        yield resp(['LPUSH', 'bench:l', 1, 2, 3]);
      }
      await pipeSeed(server.port, commands());
      expect(redisCli(server.port, 'HGET', 'bench:h', 'data')).toBe('{"é":1}');
      expect(redisCli(server.port, 'LLEN', 'bench:l')).toBe('3');
    } finally {
      await server.stop();
    }
    expect(existsSync(`/proc/${server.pid}`)).toBe(false);
  });

  it('reads --name values and flags', () => {
    const a = argv(['--jobs', '500', '--only', 'dlq', '--quick']);
    expect([a.num('jobs'), a.str('only'), a.flag('quick'), a.flag('json'), a.num('runs')]).toEqual([500, 'dlq', true, false, undefined]);
  });
});

describe('bench rows and summary', () => {
  const migrate = row({
    bench: 'migrate', id: 'vs-hand-written', label: 'migrate 200k', value: 40_000, unit: 'jobs/s',
    anchor: { label: 'hand-written', value: 2_000, unit: 'jobs/s' }, goal: { on: 'ratio', min: 25 },
  });
  const inspect = row({
    bench: 'inspect', id: 'vs-getjobcounts', label: 'inspect', value: 500, unit: 'ms',
    anchor: { label: 'getJobCounts', value: 1_000, unit: 'ms' }, goal: { on: 'ratio', min: 1 },
  });
  const memory = row({
    bench: 'migrate', id: 'rss-growth', label: 'rss', value: 110, unit: 'MB',
    anchor: { label: 'small run', value: 100, unit: 'MB' }, goal: { on: 'ratio', max: 1.25 },
  });

  it('computes each ratio against its anchor (a duration: anchor ÷ value, so it still reads "times as fast") and checks the ratio goal', () => {
    expect([migrate.ratio, migrate.met, migrate.better]).toEqual([20, false, 'higher']);
    expect([inspect.ratio, inspect.met, inspect.better]).toEqual([2, true, 'higher']);
    expect([memory.ratio, memory.met, memory.better]).toEqual([1.1, true, 'lower']);
    const info = row({ bench: 'migrate', id: 'slowlog', label: 'slowlog', value: 0, unit: 'entries' });
    expect([info.ratio, info.met]).toEqual([null, null]);
  });

  it('flags a ratio that moved the wrong way by more than 15% since the previous run, and not one within it', () => {
    const previous = { schema: 'queuectl/bench@2', summary: [{ ...migrate, ratio: 24 }, { ...inspect, ratio: 2.2 }, { ...memory, ratio: 0.9 }] };
    const { rows, regressions } = compareWithPrevious([migrate, inspect, memory], previous);
    // 24 → 20 is -16.7%: flagged; 2.2 → 2 is -9%: not; memory 0.9 → 1.1 grew 22% where lower is better: flagged.
    expect(regressions.map((r) => `${r.bench}/${r.id}`)).toEqual(['migrate/vs-hand-written', 'migrate/rss-growth']);
    expect(rows.map((r) => r.previous?.regressed)).toEqual([true, false, true]);
    expect(compareWithPrevious([migrate], { schema: 'queuectl/bench@1', summary: [{ ...migrate, ratio: 40 }] }).rows[0]?.previous).toBeUndefined();
    expect(compareWithPrevious([migrate], null).rows[0]?.previous).toBeUndefined();
  });

  it('compares each row with the newest earlier run that has it (a run with --only has some rows only)', () => {
    const newer = { schema: 'queuectl/bench@2', file: 'bench-results/b.json', summary: [{ ...inspect, ratio: 2 }] };
    const older = { schema: 'queuectl/bench@2', file: 'bench-results/a.json', summary: [{ ...migrate, ratio: 30 }, { ...inspect, ratio: 9 }] };
    const { rows, regressions } = compareWithPrevious([migrate, inspect], [newer, older]);
    expect(rows.map((r) => [r.previous?.ratio, r.previous?.file])).toEqual([[30, 'bench-results/a.json'], [2, 'bench-results/b.json']]);
    expect(regressions.map((r) => r.id)).toEqual(['vs-hand-written']);
  });

  const doc = (summary: SummaryRow[], extra: object = {}) => ({
    quick: true, startedAt: '2026-01-01T00:00:00.000Z', git: { commit: 'abc', dirty: false }, node: 'v20', redis: '7.0.15', postgres: '15.2',
    machine: { cpus: 2, memoryMb: 1024, loadavg: [0, 0, 0] }, summary, broken: [], regressions: [], ...extra,
  });

  it('prints ratios first, absolute figures as information, a broken bench, and the regressions', () => {
    const summary = summaryRows({ migrate: { bench: 'migrate', rows: [migrate, inspect] }, cluster: { bench: 'cluster', error: 'cross-slot migrate: moved 99 of 100' } });
    const { rows, regressions } = compareWithPrevious(summary, [{ schema: 'queuectl/bench@2', file: 'bench-results/then.quick.json', summary: [{ ...migrate, ratio: 24 }] }]);
    const text = summaryLines(doc(rows, { broken: ['cluster'], regressions })).join('\n');
    expect(text).toContain('NOT the official figures');
    expect(text).toMatch(/migrate 200k — vs hand-written +20× +≥ 25× +MISSED +-17% REGRESSED +40,000 jobs\/s vs 2,000 jobs\/s/);
    expect(text).toMatch(/inspect — vs getJobCounts +2× +≥ 1× +met +500 ms vs 1,000 ms/);
    expect(text).toMatch(/cross-slot migrate: moved 99 of 100/);
    expect(text).toContain('1 of 2 goals met; BROKEN: cluster');
    expect(text).toContain('1 ratio compared with earlier runs (bench-results/then.quick.json): 1 REGRESSED by more than 15%: migrate/vs-hand-written 24× → 20×');
    expect(summaryLines(doc([migrate])).join('\n')).toContain('nothing compared');
  });

  it('registers every bench by one file scripts/bench/<name>.mjs exporting run(), with official and quick sizes; the postgres group names the PostgreSQL rows', async () => {
    for (const [name, sizes] of Object.entries(REGISTRY)) {
      expect(existsSync(join(root, 'scripts/bench', `${name}.mjs`)), name).toBe(true);
      const bench = await import(join(root, 'scripts/bench', `${name}.mjs`));
      expect(typeof bench.run, name).toBe('function');
      expect(Object.keys(sizes.quick).sort(), name).toEqual(Object.keys(sizes.official).sort());
    }
    expect(GROUPS.postgres).toEqual(['pg-inspect', 'pg-migrate']);
    expect(['migrate', 'inspect', 'dlq', 'cluster'].every((b) => b in REGISTRY)).toBe(true);
  });
});

describe('bull-move bench, small size', () => {
  it('seeds Bull jobs that migrate detects as Bull and moves whole and verified, and times the hand-written loop on the same server', async () => {
    const { run } = await import('../scripts/bench/bull-move.mjs');
    const result = (await run({ jobs: 2000, baselineJobs: 100, log: () => undefined })) as unknown as { queuectl: { jobs: number }; handWritten: { jobs: number; jobsPerSec: number }; rows: SummaryRow[] };
    expect(result.queuectl.jobs).toBe(2000);
    expect(result.handWritten).toMatchObject({ jobs: 100 });
    expect(result.rows.map((r) => [r.bench, r.id])).toEqual([['bull-move', 'vs-hand-written']]);
    expect(result.rows[0].ratio).toBeGreaterThan(0);
  }, 120_000);
});

describe('PostgreSQL benches, small sizes', () => {
  it('a seeded job is a real BullMQ job: a BullMQ Postgres worker runs the waiting ones, and a seeded completed job has the columns a worker-completed one has; the throwaway PostgreSQL is stopped and its folder removed', async () => {
    const server = await startPostgres();
    expect(existsSync(server.dataDir)).toBe(true);
    const pool = bullmqPool(server.url);
    let worker: Worker | undefined;
    try {
      const [queue] = await seedInspectQueues(server.url, pool, 1, 50);
      const before = await sql<{ state: string; n: number }>(server.url, 'SELECT state, count(*)::int AS n FROM job WHERE queue = $1 GROUP BY state ORDER BY state', [queue]);
      const by = Object.fromEntries(before.map((r) => [r.state, r.n]));
      // 50 jobs: 1 completed and 1 failed by BullMQ's own finishing functions, then 48 through addBulk.
      expect(by).toEqual({ completed: 1, failed: 1, waiting: 42, delayed: 6 });
      const ran: { id: string; name: string; i: number }[] = [];
      worker = new Worker(queue!, async (job: Job) => {
        ran.push({ id: job.id!, name: job.name, i: job.data.i });
        return 'done';
      }, { connection: { connectionString: server.url, schema: 'bullmq' } as never, concurrency: 4 }, createPostgresBackend as never);
      const deadline = Date.now() + 45_000;
      while (ran.length < 42 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(ran).toHaveLength(42);
      expect(new Set(ran.map((j) => j.id)).size).toBe(42);
      expect(ran.every((j) => /^job-\d$/.test(j.name) && Number.isInteger(j.i))).toBe(true);
      await worker.close();
      worker = undefined;
      // Which columns are set on a completed job, the seeded one (the first job) against one the worker completed.
      const shape = async (id: string) => {
        const [r] = await sql<{ row: Record<string, unknown> }>(server.url, 'SELECT to_jsonb(j) AS row FROM job j WHERE queue = $1 AND id = $2', [queue, id]);
        return Object.entries(r!.row).filter(([, v]) => v !== null).map(([k]) => k).sort();
      };
      const seeded = await shape('1');
      expect(seeded).toContain('finished_at_ms');
      expect(seeded).toEqual(await shape(ran[0]!.id));
    } finally {
      await worker?.close();
      await pool.end();
      await server.stop();
    }
    expect(existsSync(server.dataDir)).toBe(false);
    await expect(sql(server.url, 'SELECT 1')).rejects.toThrow();
  }, 120_000);

  it('pg-inspect and pg-migrate run end to end and report ratios against their anchors', async () => {
    const lines: string[] = [];
    const log = (line: string) => void lines.push(line);
    const inspect = await pgInspect({ queues: 10, jobsPerQueue: 50, runs: 1, log });
    expect(inspect.rows.map((r) => r.id)).toEqual(['vs-getjobcounts']);
    expect(inspect.rows[0]!.ratio).toBeGreaterThan(0);
    expect(inspect.rows[0]!.anchor?.label).toMatch(/getJobCounts/);
    const migrate = await pgMigrate({ jobs: 1000, baselineJobs: 100, million: false, log }); // small sizes, as the registry's quick ones
    expect(migrate.rows.map((r) => r.id)).toEqual(['vs-hand-written', 'vs-addbulk', 'move-phase-vs-hand-written', 'rss-growth']);
    for (const r of migrate.rows) expect(r.ratio, r.id).toBeGreaterThan(0);
    expect(migrate.rows[0]!.goal).toEqual({ on: 'ratio', min: 20 });
    expect(lines.join('\n')).not.toMatch(/postgres:\/\/postgres:[^*]/); // the password is never logged
  }, 180_000);
});
