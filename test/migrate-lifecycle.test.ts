import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import { run } from '../src/commands/migrate.js';
import { run as checkRun } from '../src/commands/topology-check.js';
import { InterruptedError, UsageError } from '../src/errors.js';
import { journalKey, runIdOf } from '../src/migrate/keys.js';
import { runLeaseKey } from '../src/migrate/run-lease.js';
import { bin, repoRoot } from './helpers/cli.js';
import { testContext } from './helpers/context.js';
import { bullConnection, client, redisUrl, uniqueName } from './helpers/redis.js';
import { yamlFor } from './migrate-fixture.js';
import { seedLegacy } from './migrate-seed.js';

// The run's lifecycle around the move itself: one process per run, Ctrl-C while planning, and a
// drain whose confirmation is checked before its wait.
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function legacyOf(jobs: number) {
  const legacy = uniqueName('legacy');
  const [a, b] = [uniqueName('qa'), uniqueName('qb')];
  await seedLegacy(client(), { queue: legacy, jobs, names: ['a.process', 'b.second'] });
  return { legacy, a, b, yaml: yamlFor(legacy, a, b) };
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('migrate run lifecycle', () => {
  it('a second migrate of the same run is refused up front; the first verifies normally', async () => {
    const s = await legacyOf(1200);
    const dir = mkdtempSync(join(tmpdir(), 'queuectl-lifecycle-'));
    dirs.push(dir);
    const config = join(dir, 'queuectl.yaml');
    writeFileSync(config, s.yaml);
    // The first process moves slowly (--rate), so the second starts while it works.
    const first = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, 'migrate', '--from', s.legacy, '--yes', '--json', '--rate', '300', '--states', 'wait,prioritized,delayed,failed', '-c', config, '--redis', redisUrl()], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1', REDIS_URL: '', QUEUECTL_CONFIG: '' } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    const redis = client();
    // The first run of this intent has the intent's id; it holds the run once jobs moved.
    const runId = runIdOf({ prefix: 'bull', from: s.legacy, states: ['wait', 'prioritized', 'delayed', 'failed'] });
    await until(async () => Number((await redis.hget(journalKey('bull', runId), 'moved')) ?? 0) > 0, 'the first run to move jobs');

    const second = testContext({ yaml: s.yaml, json: true, yes: true });
    const refused = run({ from: s.legacy, states: 'wait,prioritized,delayed,failed' }, second.ctx);
    await expect(refused).rejects.toThrow(UsageError);
    await expect(refused).rejects.toThrow(new RegExp(`run ${runId} is in progress since \\d{4}-.* by .+/pid \\d+`));
    expect(second.stdout()).toBe('');
    expect(await redis.exists(runLeaseKey('bull', runId))).toBe(1);

    const done = await first;
    expect(done.code, done.stderr).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ runId, verified: true, problems: [] });
    expect(await redis.exists(runLeaseKey('bull', runId))).toBe(0);
  });

  it('Ctrl-C while planning: exit 130 "interrupted while planning", no partial plan, nothing moved', async () => {
    const s = await legacyOf(3000);
    const redis = client();
    for (const dryRun of [true, false]) {
      const controller = new AbortController();
      // Abort once the plan's first classify call reached Redis: the plan is then mid-way.
      const monitor = await client().monitor();
      monitor.on('monitor', (_time: string, args: string[]) => {
        if (/^eval/i.test(args[0] ?? '') && args.some((a) => a.includes(s.legacy))) controller.abort();
      });
      const t = testContext({ yaml: s.yaml, yes: true, signal: controller.signal });
      // A real run plans first when someone at a terminal confirms (with --yes it moves in one pass: below).
      if (!dryRun) Object.assign(t.ctx, { prompt: { ...t.ctx.prompt, yes: false, interactive: true, confirm: async () => true } });
      const planning = run({ from: s.legacy, batch: '1', dryRun }, t.ctx);
      await expect(planning).rejects.toThrow(InterruptedError);
      await expect(planning).rejects.toThrow(/interrupted while planning/);
      monitor.disconnect();
      expect(t.stdout() + t.stderr()).not.toMatch(/Plan:|Nothing to move|Dry run|moved 0 of/);
      expect((await redis.llen(`bull:${s.a}:wait`)) + (await redis.llen(`bull:${s.b}:wait`))).toBe(0);
    }
    // --yes: one pass, whose planning is the key checks before the first batch. Ctrl-C by then
    // stops it the same way.
    const controller = new AbortController();
    controller.abort();
    const t = testContext({ yaml: s.yaml, yes: true, signal: controller.signal });
    await expect(run({ from: s.legacy, batch: '1' }, t.ctx)).rejects.toThrow(/interrupted while planning .*; nothing was moved/);
    expect(t.stdout() + t.stderr()).not.toMatch(/Plan:|Nothing to move|moved 0 of/);
    expect((await redis.llen(`bull:${s.a}:wait`)) + (await redis.llen(`bull:${s.b}:wait`))).toBe(0);
  });

  it('drain: a wrong or missing --confirm is refused before the wait, not after it', async () => {
    const s = await legacyOf(40); // no worker: the drain would wait forever
    for (const confirm of ['wrong', undefined]) {
      const t = testContext({ yaml: s.yaml });
      const started = Date.now();
      await expect(run({ from: s.legacy, strategy: 'drain', quietFor: '0', confirm }, t.ctx)).rejects.toThrow(confirm ? /--confirm=wrong does not match/ : /needs a typed confirmation/);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(t.stderr()).not.toContain('left of');
    }
    expect(await client().llen(`bull:${s.legacy}:wait`)).toBeGreaterThan(0);
  });

  it('drain: failed jobs are listed by state and never deleted unless --include-failed', async () => {
    const legacy = uniqueName('legacy');
    const yaml = yamlFor(legacy, uniqueName('qa'), uniqueName('qb'));
    const q = new Queue(legacy, { connection: bullConnection() });
    const worker = new Worker(legacy, async (job) => {
      if (job.data.fail) throw new Error('boom');
    }, { connection: bullConnection() });
    for (let i = 0; i < 3; i++) await q.add('a.process', { fail: true }, { attempts: 1 });
    await q.add('a.process', { fail: false });
    await until(async () => (await q.getFailedCount()) === 3 && (await q.getCompletedCount()) === 1, '3 failed and 1 completed job');
    await worker.close();
    await q.close();

    const refused = testContext({ yaml });
    expect(await run({ from: legacy, strategy: 'drain', quietFor: '0', confirm: legacy }, refused.ctx)).toBe(1);
    expect(refused.stdout()).toContain('3 failed job(s), 1 completed job(s)');
    expect(refused.stdout()).toContain(`queuectl migrate --from ${legacy} --states failed`);
    expect(refused.stdout()).toContain('--include-failed');
    expect(await client().zcard(`bull:${legacy}:failed`)).toBe(3);

    const json = testContext({ yaml, json: true });
    expect(await run({ from: legacy, strategy: 'drain', quietFor: '0', confirm: legacy }, json.ctx)).toBe(1);
    expect(json.json()).toMatchObject({ deletedKeys: 0, kept: { failed: 3, completed: 1 } });

    const asked = testContext({ yaml });
    expect(await run({ from: legacy, strategy: 'drain', quietFor: '0', confirm: legacy, includeFailed: true }, asked.ctx)).toBe(0);
    expect(asked.stdout()).toMatch(/Deleted \d+ key\(s\) of .*\. They held 3 failed job\(s\), 1 completed job\(s\)/);
    expect(await client().exists(`bull:${legacy}:failed`)).toBe(0);
  });

  it('drain: says when no worker consumes the queue, and what to do', async () => {
    const s = await legacyOf(44);
    const controller = new AbortController();
    const t = testContext({ yaml: s.yaml, signal: controller.signal });
    const draining = run({ from: s.legacy, strategy: 'drain', quietFor: '0', confirm: s.legacy }, t.ctx);
    try {
      await until(async () => t.stderr().includes('no worker is connected'), 'the no-worker warning');
    } finally {
      controller.abort();
    }
    await expect(draining).rejects.toThrow(InterruptedError);
    expect(t.stderr()).toMatch(new RegExp(`no worker is connected to ${s.legacy}: nothing will drain its \\d+ job\\(s\\)`));
    expect(t.stderr()).toContain(`queuectl migrate --from ${s.legacy}`);
    expect(await client().llen(`bull:${s.legacy}:wait`)).toBeGreaterThan(0);
  });

  it('failed and completed jobs left behind are listed with the command that moves them; check and migrate agree', async () => {
    const legacy = uniqueName('legacy');
    const [a, b] = [uniqueName('qa'), uniqueName('qb')];
    const yaml = yamlFor(legacy, a, b);
    const q = new Queue(legacy, { connection: bullConnection() });
    const worker = new Worker(legacy, async (job) => {
      if (job.data.fail) throw new Error('boom');
    }, { connection: bullConnection() });
    for (let i = 0; i < 5; i++) await q.add('a.process', { fail: true }, { attempts: 1 });
    await q.add('b.second', { fail: false });
    await until(async () => (await q.getFailedCount()) === 5 && (await q.getCompletedCount()) === 1, '5 failed and 1 completed job');
    await worker.close();
    await q.add('a.process', { later: true });
    await q.close();

    // The default states move the waiting job and say what moves the failed ones.
    const first = testContext({ yaml, yes: true });
    expect(await run({ from: legacy }, first.ctx)).toBe(0);
    expect(first.stdout()).toContain(`5 failed job(s): not in --states; to take them up: queuectl migrate --from ${legacy} --states failed`);
    expect(first.stdout()).toContain('1 completed job(s): finished jobs never move');
    const plan = testContext({ yaml, json: true });
    await run({ from: legacy, dryRun: true }, plan.ctx);
    expect(plan.json().left).toEqual([
      { state: 'failed', count: 5, next: expect.stringContaining(`queuectl migrate --from ${legacy} --states failed`) },
      { state: 'completed', count: 1, next: expect.any(String) },
    ]);

    // topology check names the same command, and running it leaves check nothing to say.
    const check = testContext({ yaml, json: true });
    await checkRun({}, check.ctx);
    const finding = check.json().findings.find((f: { rule: string }) => f.rule === 'legacy-has-jobs');
    expect(finding.message).toContain(`run: queuectl migrate --from ${legacy} --states failed `);
    const second = testContext({ yaml, json: true, yes: true });
    expect(await run({ from: legacy, states: 'failed' }, second.ctx)).toBe(0);
    expect(second.json().moved).toEqual({ [a]: 5 });
    const again = testContext({ yaml, json: true });
    await checkRun({}, again.ctx);
    expect(again.json().findings.filter((f: { rule: string; queue?: string }) => f.queue === legacy)).toEqual([]);
  });
});
