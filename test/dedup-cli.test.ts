import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { repoRoot, runCli } from './helpers/cli.js';
import { redisUrl } from './helpers/redis.js';
import { tempDir } from './helpers/temp.js';

/** The built bin/queuectl, as CI runs it: exit codes, one JSON document, table on stdout. */
const dir = tempDir('dedup-cli');
const file = join(dir, 'queuectl.yaml');
writeFileSync(file, `
version: 1
defaults: { attempts: 2, backoff: { type: fixed, delay: 5s } }
queues:
  process: { jobs: [smartupload.process], jobId: "process-{sessionId}" }
  loose: { jobs: [loose.x], dedup: none }
  broken: { jobs: [b.x], jobId: "b:{sessionId}" }
`);

beforeAll(() => {
  if (!existsSync(join(repoRoot, 'dist/main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does) before this test');
});

describe('queuectl dedup-check (built CLI)', () => {
  it('prints one JSON document and exits 0 when the selected queues pass', async () => {
    const result = await runCli(['dedup-check', '-c', file, '--redis', redisUrl(), '--queue', 'process', '--queue', 'loose', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.schema).toBe('queuectl/dedup-check@1');
    expect(report.results.map((r: { queue: string; ok: boolean }) => [r.queue, r.ok])).toEqual([['process', true], ['loose', true]]);
  });

  it('prints a table and exits 1 when a queue fails', async () => {
    const result = await runCli(['dedup-check', '-c', file, '--redis', redisUrl(), '--copies', '3']);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toMatch(/^queue\s+jobs\s+attempts\s+completions\s+ok\s+detail/);
    expect(result.stdout).toMatch(/broken\s+0\s+0\s+0\s+✗\s+jobId "b:\{sessionId\}" contains ":"/);
    expect(result.stdout).toMatch(/dedup-check: 1 of 3 queue\(s\) fail/);
  });

  it('refuses --live off a terminal without --yes, and bad --copies, with exit 2 and one line', async () => {
    const live = await runCli(['dedup-check', '-c', file, '--redis', redisUrl(), '--live']);
    expect(live.code).toBe(2);
    expect(live.stderr.trim().split('\n')).toHaveLength(1);
    expect(live.stderr).toMatch(/^queuectl: dedup-check --live .* — rerun with --yes/);
    const copies = await runCli(['dedup-check', '-c', file, '--redis', redisUrl(), '--copies', 'x']);
    expect(copies.code).toBe(2);
    expect(copies.stderr).toMatch(/^queuectl: --copies must be a whole number/);
  });
});
