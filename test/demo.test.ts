import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli.js';
import { shownPath } from '../src/commands/demo.js';
import { buildMix, countByName, DEFAULT_MIX, UNOWNED_NAME } from '../src/demo/mix.js';
import { pingOnce } from '../src/demo/redis-server.js';
import { demoSteps } from '../src/demo/steps.js';
import { unfinished } from '../src/demo/finish.js';
import { expectClean, expectLegacyGone, expectPlan } from '../src/demo/verify.js';
import { repoRoot, runCli } from './helpers/cli.js';
import { client, redisUrl } from './helpers/redis.js';

const owners = {
  'smartupload.process': 'eccb-smart-upload-process',
  'smartupload.secondPass': 'eccb-smart-upload-secondpass',
  'smartupload.autoCommit': 'eccb-smart-upload-autocommit',
  'ocr.process': 'eccb-ocr',
};
const steps = demoSteps({ unowned: DEFAULT_MIX.unowned, corrupt: DEFAULT_MIX.corrupt, owners });

beforeAll(() => {
  if (!existsSync(join(repoRoot, 'dist/main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does) before this test');
});

describe('demo: pure parts', () => {
  it('builds the same realistic mix every time: every name, delays, priorities, unique ids', () => {
    const mix = buildMix();
    expect(buildMix()).toEqual(mix);
    const all = [...mix.corrupt, ...mix.bulk];
    expect(all).toHaveLength(DEFAULT_MIX.total);
    expect(new Set(all.map((j) => `${j.name}/${j.opts.jobId}`)).size).toBe(all.length);
    const names = countByName(mix.bulk);
    for (const name of Object.keys(owners)) expect(names[name]).toBeGreaterThan(100);
    expect(names[UNOWNED_NAME]).toBe(DEFAULT_MIX.unowned);
    expect(mix.bulk.filter((j) => j.opts.delay).length).toBeGreaterThan(300);
    expect(mix.bulk.filter((j) => j.opts.priority).length).toBeGreaterThan(300);
    expect(mix.corrupt.every((j) => j.data.corrupt === true && j.opts.attempts === 1)).toBe(true);
    // Ids follow the topology's templates: process-{sessionId} and so on.
    const first = mix.bulk[0];
    expect(first.opts.jobId).toBe(`process-${first.data.sessionId}`);
  });

  it('needs only commands this build has, so no step is skipped', () => {
    const program = buildProgram('0.0.0', () => undefined as never, () => undefined);
    for (const step of steps) {
      let commands = program.commands;
      for (const name of step.requires ?? []) {
        const found = commands.find((c) => c.name() === name);
        expect(found, `${step.title} needs queuectl ${step.requires?.join(' ')}`).toBeDefined();
        commands = found!.commands;
      }
    }
  });

  it('tells the honest story: migrate leaves the unowned jobs, the old deployment runs them, drain, then in sync', () => {
    const at = (title: string) => steps.findIndex((s) => s.title.startsWith(title));
    const apply = steps.find((s) => 'argv' in s.run && s.run.argv[0] === 'migrate' && s.run.argv.includes('--yes'))!;
    expect(apply.expectExit).toBe(1);
    const finish = at('the old deployment finishes');
    const drain = at('migrate --strategy drain');
    const clean = at('topology check again');
    expect(steps[finish].run).toEqual({ action: 'finish-legacy-work' });
    expect(steps.indexOf(apply)).toBeLessThan(finish);
    expect(finish).toBeLessThan(drain);
    expect(drain).toBeLessThan(clean);
    expect(steps[drain].run).toEqual({ argv: ['migrate', '--from', 'eccb-smart-upload', '--strategy', 'drain', '--quiet-for', '1s', '--confirm', 'eccb-smart-upload'] });
    expect(steps[drain].expectExit).toBe(0);
    expect(steps[clean].expectExit).toBe(0);
  });

  it('calls "clean" only a gate with no error, and "gone" only a legacy queue with no keys', () => {
    const warning = { rule: 'queue-absent', severity: 'warning', queue: 'eccb-ocr', message: 'no keys yet' };
    expect(expectClean({ inSync: true, findings: [warning] })).toEqual([]);
    const left = { rule: 'legacy-has-jobs', severity: 'error', queue: 'eccb-smart-upload', message: '12 jobs' };
    expect(expectClean({ inSync: false, findings: [left, warning] })[0]).toMatch(/unexpected legacy-has-jobs on eccb-smart-upload/);
    expect(expectClean({ inSync: false, findings: [] })).toHaveLength(1);
    const legacy = (exists: boolean) => ({ queues: [{ name: 'eccb-smart-upload', exists, counts: { completed: 9 } }] });
    expect(expectLegacyGone(legacy(false))).toEqual([]);
    expect(expectLegacyGone({ queues: [] })).toEqual([]);
    expect(expectLegacyGone(legacy(true))[0]).toMatch(/still has keys/);
    // Completed and failed jobs are not work left for the old workers; everything else is.
    expect(unfinished({ completed: 9, failed: 1 })).toBe(0);
    expect(unfinished({ wait: 1, prioritized: 2, delayed: 3, active: 4, 'waiting-children': 5 })).toBe(15);
  });

  it('judges migrate plans: only the unowned jobs may stay', () => {
    const plan = (moves: Record<string, Record<string, number>>, skipped: { reason: string; count: number }[]) => ({ plan: { moves }, skipped });
    expect(expectPlan(plan({ a: { wait: 0 } }, [{ reason: 'unowned', count: 12 }, { reason: 'active', count: 2 }]), 12, 'none')).toEqual([]);
    expect(expectPlan(plan({ a: { wait: 3 } }, [{ reason: 'unowned', count: 12 }]), 12, 'none')).toHaveLength(1);
    expect(expectPlan(plan({ a: { wait: 3 } }, [{ reason: 'collision', count: 1 }, { reason: 'unowned', count: 12 }]), 12, 'some')).toHaveLength(1);
  });

  it('shows the example relative to the working directory when inside it', () => {
    expect(shownPath('/pkg/examples/e.yaml', '/pkg')).toBe('examples/e.yaml');
    expect(shownPath('/pkg/examples/e.yaml', '/elsewhere')).toBe('/pkg/examples/e.yaml');
  });
});

describe('queuectl demo (built CLI, off a terminal)', () => {
  it('walks every step, exits 0 and leaves no redis-server running', { timeout: 120_000 }, async () => {
    const result = await runCli(['demo', '--yes'], { timeoutMs: 115_000 });
    expect(result.code, `${result.stdout.slice(-3000)}\n${result.stderr}`).toBe(0);
    steps.forEach((step, i) => expect(result.stdout).toContain(`━━ Step ${i + 1}/${steps.length}: ${step.title}`));
    expect(result.stdout).not.toContain('skipped: command not available');
    expect(result.stdout).toContain(`Demo complete: ${steps.length} of ${steps.length} steps did what they should.`);
    expect(result.stdout).toContain('$ queuectl migrate --from eccb-smart-upload');
    // The story ends clean: the old deployment ran its last jobs, drain deleted the legacy queue, the gate passes.
    expect(result.stdout).toContain(`promoted its ${DEFAULT_MIX.unowned} delayed ${UNOWNED_NAME} job(s) and its workers completed them`);
    expect(result.stdout).toMatch(/Deleted \d+ key\(s\) of eccb-smart-upload\./);
    expect(result.stdout).toMatch(/^in sync: /m);
    const [, port] = /redis:\/\/127\.0\.0\.1:(\d+)/.exec(result.stdout) ?? [];
    const [, pid] = /pid (\d+)\)/.exec(result.stdout) ?? [];
    // Its own free port in 20000-39999, never Redis's default one.
    expect(Number(port)).toBeGreaterThanOrEqual(20000);
    expect(Number(port)).toBeLessThan(40000);
    expect(await pingOnce(Number(port))).toBe(false);
    expect(() => process.kill(Number(pid), 0)).toThrow();
    expect(result.stderr).toContain('Stopped the throwaway redis-server');
    // No wall-clock budget here (it took 66-70 s with two suites on 2 cores): a demo that hangs is
    // stopped by runCli's 115 s watchdog and fails the exit-code check above.
  });

  it('with --redis, works under a scratch prefix and deletes every key it wrote', { timeout: 120_000 }, async () => {
    const result = await runCli(['demo', '--redis', redisUrl(), '--jobs', '1000'], { timeoutMs: 115_000 });
    expect(result.code, `${result.stdout.slice(-3000)}\n${result.stderr}`).toBe(0);
    const [, prefix] = /--prefix (queuectl-demo-[0-9a-f]+)/.exec(result.stdout) ?? [];
    expect(prefix).toBeDefined();
    const left: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await client().scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      left.push(...keys);
    } while (cursor !== '0');
    expect(left).toEqual([]);
  });

  it('without redis-server on the PATH, says how to get one in one line and exits 2', async () => {
    // runCli starts node by its full path, so an empty PATH only hides redis-server.
    const result = await runCli(['demo'], { env: { PATH: '/nonexistent' } });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/redis-server is not on the PATH.*apt-get install redis-server.*brew install redis.*--redis <url>/);
  });
});
