import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildMix, countByName, DEFAULT_MIX, UNOWNED_NAME } from '../src/demo/mix.js';
import { demoSteps } from '../src/demo/steps.js';
import { repoRoot, runCli, type CliResult } from './helpers/cli.js';
import { freshDatabase, sql } from './helpers/postgres.js';

/** `queuectl demo --backend postgres`: the Redis demo's story on BullMQ's PostgreSQL backend. */

const owners = {
  'smartupload.process': 'eccb-smart-upload-process',
  'smartupload.secondPass': 'eccb-smart-upload-secondpass',
  'smartupload.autoCommit': 'eccb-smart-upload-autocommit',
  'ocr.process': 'eccb-ocr',
};
const JOBS = 1000;
const mix = buildMix({ ...DEFAULT_MIX, total: JOBS });
const steps = demoSteps({ unowned: countByName(mix.bulk)[UNOWNED_NAME], corrupt: mix.corrupt.length, owners, store: 'PostgreSQL' });

beforeAll(() => {
  if (!existsSync(join(repoRoot, 'dist/main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does) before this test');
});

/**
 * True while `pid` is still a live process serving `data`. A reaped pid may be reused by another
 * process, and a zombie waiting for PID 1 to reap it serves nothing: neither counts.
 */
function postmasterRunning(pid: number, data: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/^\d+ \(.*\) Z/.test(stat)) return false;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(data);
  } catch {
    return false; // no such process
  }
}

const shown = (r: CliResult) => `${r.stdout.slice(-4000)}\n${r.stderr}`;

/** Every step ran and did what it should, the drain of the legacy queue included. */
function expectWholeStory(result: CliResult): void {
  expect(result.code, shown(result)).toBe(0);
  steps.forEach((step, i) => expect(result.stdout).toContain(`━━ Step ${i + 1}/${steps.length}: ${step.title}`));
  expect(result.stdout).not.toContain('skipped');
  expect(result.stdout).toContain(`Demo complete: ${steps.length} of ${steps.length} steps did what they should.`);
  // The legacy mix reached PostgreSQL through real BullMQ producers, and the walk moved it.
  expect(result.stdout).toContain(`Filled the legacy queue eccb-smart-upload with ${JOBS.toLocaleString('en-US')} jobs`);
  expect(result.stdout).toMatch(/^ERROR {4}legacy-has-jobs {2}eccb-smart-upload/m);
  expect(result.stdout).toContain(`promoted its ${DEFAULT_MIX.unowned} delayed ${UNOWNED_NAME} job(s) and its workers completed them`);
  expect(result.stdout).toMatch(/^in sync: /m);
  expect(result.stdout).toContain(`Retried ${mix.corrupt.length}.`);
  expect(result.stdout).not.toMatch(/postgres:\/\/postgres:(?!\*\*\*@)[^@\s]+@/); // the password is never shown
}

describe('queuectl demo --backend postgres (built CLI, off a terminal)', () => {
  it('walks the story on a throwaway PostgreSQL, exits 0 and leaves no server or folder behind', { timeout: 180_000 }, async () => {
    const result = await runCli(['demo', '--backend', 'postgres', '--jobs', String(JOBS)], { timeoutMs: 175_000 });
    expectWholeStory(result);
    const [, pid, data] = /a throwaway PostgreSQL \(.+?, pid (\d+), data (\S+)\) on postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:(\d+)\//.exec(result.stdout) ?? [];
    expect(pid, result.stdout.slice(0, 500)).toBeDefined();
    // Its schema came from BullMQ's own migrations; the children were pointed at it.
    expect(result.stdout).toContain("schema bullmq made by BullMQ's own migrations");
    expect(result.stdout).toMatch(/\$ queuectl inspect -c examples\/eccb-smart-upload\.yaml --url 'postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres' --schema bullmq/);
    expect(result.stderr).toContain('Stopped the throwaway PostgreSQL and removed its folder.');
    // Nothing left: the postmaster is gone, no process runs on its data folder, and the folder is removed.
    expect(postmasterRunning(Number(pid), data)).toBe(false);
    let running = '';
    try {
      running = execFileSync('pgrep', ['-f', data], { encoding: 'utf8' });
    } catch {
      // pgrep exits 1 when nothing matches
    }
    expect(running).toBe('');
    expect(existsSync(dirname(data))).toBe(false);
  });

  it('with --url postgres://…, works in a scratch schema made by BullMQ\'s migrations and drops only it', { timeout: 180_000 }, async () => {
    const url = await freshDatabase();
    await sql(url, 'CREATE SCHEMA mine; CREATE TABLE mine.keep (x int); INSERT INTO mine.keep VALUES (1)');
    const result = await runCli(['demo', '--url', url, '--jobs', String(JOBS)], { timeoutMs: 175_000 });
    expectWholeStory(result);
    const [, schema] = /--schema (queuectl_demo_[0-9a-f]+)/.exec(result.stdout) ?? [];
    expect(schema).toBeDefined();
    expect(result.stdout).not.toContain(new URL(url).password);
    expect(result.stderr).toContain(`Dropped the demo's schema ${schema}.`);
    // Its scratch schema, dedup-check's and migrate's journal (which its runs created) are gone; nothing else was touched.
    const schemas = await sql<{ name: string }>(url, "SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE 'queuectl%' OR nspname = 'mine'");
    expect(schemas.map((s) => s.name)).toEqual(['mine']);
    expect(await sql(url, 'SELECT x FROM mine.keep')).toEqual([{ x: 1 }]);
  });

  it('--backend that contradicts --url is exit 2 in one line', async () => {
    const result = await runCli(['demo', '--backend', 'redis', '--url', 'postgres://app:pw@127.0.0.1:1/db']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^queuectl: --backend redis does not match --url, which is PostgreSQL — /);
  });
});
