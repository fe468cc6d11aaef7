import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { client, redisUrl, uniqueName } from './helpers/redis.js';
import { bin, repoRoot, runCli } from './helpers/cli.js';
import { deletePrefix, seedFailed } from './dlq-helpers.js';
import { tempDir } from './helpers/temp.js';
import { until } from './helpers/wait.js';

// Spawns the built bin/queuectl (npm test builds first).
const prefix = uniqueName('p');
const q = uniqueName('q');
let redis: Redis;
let config: string;

beforeAll(() => {
  redis = client();
  config = join(tempDir('dlq'), 'queuectl.yaml');
  writeFileSync(config, `version: 1\nprefix: "${prefix}"\nqueues:\n  ${q}: { jobs: [work], attempts: 1, deadLetter: failed }\nworkers:\n  w: { queues: [${q}] }\n`);
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
});

const base = () => ['-c', config, '--redis', redisUrl()];

describe('queuectl dlq (spawned)', () => {
  it('bad input exits 2 with one line: a regex that does not compile, an unknown reference', async () => {
    const regex = await runCli(['dlq', 'list', '--match-reason', '([a-', ...base()]);
    expect(regex.code).toBe(2);
    expect(regex.stderr.trim().split('\n')).toHaveLength(1);
    expect(regex.stderr).toMatch(/^queuectl: --match-reason "\(\[a-" is not a valid regular expression/);
    // One meaning per flag name: --reason is the text discard records, never a filter (issue 18.9).
    for (const command of ['list', 'retry']) {
      const old = await runCli(['dlq', command, '--all', '--reason', 'timeout', ...base()]);
      expect(old.code).toBe(2);
      expect(old.stderr).toMatch(/^queuectl: --reason is the text `dlq discard` records; the failure-reason filter is --match-reason — rerun with --match-reason/);
    }
    const unknown = await runCli(['dlq', 'show', 'nope-42', ...base()]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown job reference "nope-42"');
    const noReason = await runCli(['dlq', 'discard', '--all', ...base()]);
    expect(noReason.code).toBe(2);
  });

  it('a bulk retry killed with SIGKILL midway is resumed by a rerun without duplicates', async () => {
    const total = 20_000;
    await seedFailed(redis, prefix, q, total);
    const noYes = await runCli(['dlq', 'retry', '--all', ...base()]);
    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toContain('rerun with --yes');
    expect(await redis.llen(`${prefix}:${q}:wait`)).toBe(0);
    // --rate 10000: batches of 1000 paced over ~2 s; SIGKILL once 2000 are back in wait (observed,
    // not timed), so it lands part way through however slow the machine.
    const child = spawn(process.execPath, [bin, 'dlq', 'retry', '--all', '--yes', '--rate', '10000', ...base()], { cwd: repoRoot, stdio: 'ignore' });
    let exited = false;
    const exit = new Promise((r) => child.once('exit', r)).then(() => (exited = true));
    await until(async () => exited || (await redis.llen(`${prefix}:${q}:wait`)) >= 2000, '2000 jobs back in wait');
    child.kill('SIGKILL');
    await exit;
    const moved = await redis.llen(`${prefix}:${q}:wait`);
    expect(moved).toBeLessThan(total);
    expect(moved + (await redis.zcard(`${prefix}:${q}:failed`))).toBe(total);
    const rerun = await runCli(['dlq', 'retry', '--all', '--yes', '--json', ...base()]);
    expect(rerun.code).toBe(0);
    expect(JSON.parse(rerun.stdout).retried).toBe(total - moved);
    const wait = await redis.lrange(`${prefix}:${q}:wait`, 0, -1);
    expect(wait).toHaveLength(total);
    expect(new Set(wait).size).toBe(total);
  });

  it('a wrong-type key of the target queue: retry exits 3 with one line naming it, every job stays failed (issue 13.1)', async () => {
    const wq = uniqueName('wq');
    const wconfig = join(tempDir('dlq-wrongtype'), 'queuectl.yaml');
    writeFileSync(wconfig, `version: 1\nprefix: "${prefix}"\nqueues:\n  ${wq}: { jobs: [work], attempts: 1, deadLetter: failed }\nworkers:\n  w: { queues: [${wq}] }\n`);
    await seedFailed(redis, prefix, wq, 100);
    await redis.set(`${prefix}:${wq}:wait`, 'not a list');
    const result = await runCli(['dlq', 'retry', '--all', '--yes', '-c', wconfig, '--redis', redisUrl()]);
    expect(result.code).toBe(3);
    expect(result.stderr.trim().split('\n')).toEqual([`queuectl: ${prefix}:${wq}:wait is a string where BullMQ keeps a list; nothing retried — repair or delete that key, then rerun (\`queuectl dlq retry --dry-run\` lists every such key)`]);
    expect(await redis.zcard(`${prefix}:${wq}:failed`)).toBe(100);
    expect(await redis.get(`${prefix}:${wq}:wait`)).toBe('not a list');
    const dry = await runCli(['dlq', 'retry', '--all', '--dry-run', '-c', wconfig, '--redis', redisUrl()]);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toContain(`blocked: ${prefix}:${wq}:wait is a string where BullMQ keeps a list`);
  });
});
