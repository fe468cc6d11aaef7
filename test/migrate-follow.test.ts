import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import { run } from '../src/commands/migrate.js';
import { testContext } from './helpers/context.js';
import { runCli } from './helpers/cli.js';
import { bullConnection, client, redisUrl, uniqueName } from './helpers/redis.js';
import { yamlFor } from './migrate-fixture.js';
import { tempDir } from './helpers/temp.js';
import { until } from './helpers/wait.js';

describe('migrate --follow, paused destinations, the CLI', () => {
  it('keeps moving arrivals while a producer writes and an old worker consumes: every job runs exactly once', async () => {
    const connection = bullConnection();
    const [legacy, a, b] = [uniqueName('legacy'), uniqueName('qa'), uniqueName('qb')];
    const old = new Queue(legacy, { connection });
    for (let i = 0; i < 100; i++) await old.add(i % 2 ? 'a.process' : 'b.second', { i }, { jobId: `j-${i}` });
    const runs = new Map<string, number>();
    const count = (job: { data: { i: number } }) => void runs.set(`j-${job.data.i}`, (runs.get(`j-${job.data.i}`) ?? 0) + 1);
    const oldWorker = new Worker(legacy, async (job) => count(job), { connection, concurrency: 2 });
    const newWorkers = [a, b].map((q) => new Worker(q, async (job) => count(job), { connection }));
    let produced = 100;
    const producing = (async () => {
      for (; produced < 300; produced++) {
        await old.add(produced % 2 ? 'a.process' : 'b.second', { i: produced }, { jobId: `j-${produced}` });
        if (produced % 20 === 0) await new Promise((r) => setTimeout(r, 30));
      }
    })();
    const t = testContext({ yaml: yamlFor(legacy, a, b), json: true, yes: true });
    // Follow ends after --quiet-for without arrivals: 3 s is far longer than any pause of the
    // producer, even on a loaded machine, so it ends only once the producer is done.
    const code = await run({ from: legacy, follow: true, quietFor: '3s', batch: '10' }, t.ctx);
    await producing;
    expect(code).toBe(0);
    expect(t.json().verified).toBe(true);
    await until(() => runs.size >= 300, 'all 300 jobs to run', 30_000).finally(() => Promise.all([oldWorker.close(), ...newWorkers.map((w) => w.close()), old.close()]));
    expect(runs.size).toBe(300);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
  });

  it('writes no ready marker into a paused destination, and the jobs wait there', async () => {
    const connection = bullConnection();
    const [legacy, a, b] = [uniqueName('legacy'), uniqueName('qa'), uniqueName('qb')];
    const old = new Queue(legacy, { connection });
    const qa = new Queue(a, { connection });
    await qa.pause();
    for (let i = 0; i < 5; i++) await old.add('a.process', { i });
    const t = testContext({ yaml: yamlFor(legacy, a, b), json: true, yes: true });
    expect(await run({ from: legacy }, t.ctx)).toBe(0);
    expect(await client().zscore(`bull:${a}:marker`, '0')).toBeNull();
    expect(await qa.getWaitingCount()).toBe(5);
    await Promise.all([old.close(), qa.close()]);
  });

  it('bin/queuectl migrate: dry-run JSON on stdout, --yes required off a terminal, status', async () => {
    const [legacy, a, b] = [uniqueName('legacy'), uniqueName('qa'), uniqueName('qb')];
    const old = new Queue(legacy, { connection: bullConnection() });
    for (let i = 0; i < 10; i++) await old.add('a.process', { i });
    await old.close();
    const dir = tempDir('migrate');
    writeFileSync(join(dir, 'queuectl.yaml'), yamlFor(legacy, a, b));
    const env = { REDIS_URL: redisUrl() };
    const dry = await runCli(['migrate', '--from', legacy, '--dry-run', '--json'], { cwd: dir, env });
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ schema: 'queuectl/migrate@1', dryRun: true, plan: { moves: { [a]: { wait: 10 } } } });
    const refused = await runCli(['migrate', '--from', legacy], { cwd: dir, env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^queuectl: .*--yes/m);
    const moved = await runCli(['migrate', '--from', legacy, '--yes'], { cwd: dir, env });
    expect(moved.code).toBe(0);
    expect(moved.stdout).toContain('Verified');
    const status = await runCli(['migrate', 'status'], { cwd: dir, env });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(legacy);
    const bad = await runCli(['migrate', '--from', legacy, '--states', 'bogus'], { cwd: dir, env });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});
