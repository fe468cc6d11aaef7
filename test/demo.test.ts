import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli.js';
import { shownPath } from '../src/commands/demo.js';
import { buildMix, countByName, DEFAULT_MIX, UNOWNED_NAME } from '../src/demo/mix.js';
import { pingOnce } from '../src/demo/redis-server.js';
import { demoSteps } from '../src/demo/steps.js';
import { expectOnlyUnownedLeft, expectPlan } from '../src/demo/verify.js';
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

  it('calls "clean" only a legacy queue holding exactly the unowned delayed jobs', () => {
    const check = { inSync: false, findings: [{ rule: 'legacy-has-jobs', severity: 'error', queue: 'eccb-smart-upload', message: '12 jobs' }] };
    const legacy = (counts: Record<string, number>) => ({ queues: [{ name: 'eccb-smart-upload', counts }] });
    const zero = { waiting: 0, prioritized: 0, delayed: 0, active: 0, failed: 0, completed: 9 };
    expect(expectOnlyUnownedLeft(check, legacy({ ...zero, delayed: 12 }), 12)).toEqual([]);
    expect(expectOnlyUnownedLeft(check, legacy({ ...zero, delayed: 12, waiting: 1 }), 12)).toHaveLength(1);
    const extra = { ...check, findings: [...check.findings, { rule: 'queue-undeclared', severity: 'error', queue: 'x', message: 'x' }] };
    expect(expectOnlyUnownedLeft(extra, legacy({ ...zero, delayed: 12 }), 12)[0]).toMatch(/unexpected queue-undeclared/);
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
    const [, port] = /redis:\/\/127\.0\.0\.1:(\d+)/.exec(result.stdout) ?? [];
    const [, pid] = /pid (\d+)\)/.exec(result.stdout) ?? [];
    expect(Number(port)).toBeGreaterThan(0);
    expect(Number(port)).not.toBe(6379);
    expect(await pingOnce(Number(port))).toBe(false);
    expect(() => process.kill(Number(pid), 0)).toThrow();
    expect(result.stderr).toContain('Stopped the throwaway redis-server');
    expect(result.ms).toBeLessThan(60_000);
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
