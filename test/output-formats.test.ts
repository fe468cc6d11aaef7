import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { redisUrl, seedPrefix, uniqueName } from './helpers/redis.js';

const example = ['-c', 'examples/eccb-smart-upload.yaml'];

describe('-o/--output beside --json, --quiet, --verbose', () => {
  it('-o json is --json; -o plain is tab-separated; the two spellings must agree', async () => {
    const json = await runCli(['topology', 'validate', ...example, '-o', 'json']);
    const same = await runCli(['topology', 'validate', ...example, '--json']);
    expect(json.code).toBe(same.code);
    expect(JSON.parse(json.stdout)).toEqual(JSON.parse(same.stdout));
    const conflict = await runCli(['topology', 'validate', ...example, '--json', '-o', 'wide']);
    expect(conflict.code).toBe(2);
    expect(conflict.stderr).toMatch(/^queuectl: --json and -o wide ask for different output — /);
    const bad = await runCli(['topology', 'validate', ...example, '-o', 'yaml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/human, wide, plain, json/);
  });

  it('inspect -o plain gives tab-separated rows; -o wide every column', async () => {
    const prefix = uniqueName('fmt');
    await seedPrefix(prefix);
    const plain = await runCli(['inspect', ...example, '--url', redisUrl(), '--prefix', prefix, '-o', 'plain']);
    expect(plain.code, plain.stderr).toBe(0);
    const header = plain.stdout.split('\n')[0]!;
    expect(header.split('\t').slice(0, 3)).toEqual(['queue', 'kind', 'waiting']);
    const wide = await runCli(['inspect', ...example, '--url', redisUrl(), '--prefix', prefix, '-o', 'wide']);
    expect(wide.stdout.split('\n')[0]).toMatch(/^queue\s+kind\s+waiting\s+prioritized\s+delayed\s+active\s+failed\s+completed\s+paused\s+oldest wait\s+workers\s+alert$/);
  });

  it('--quiet silences notes, --verbose names what is used; not both', async () => {
    const prefix = uniqueName('fmt');
    await seedPrefix(prefix);
    const verbose = await runCli(['inspect', ...example, '--url', redisUrl(), '--prefix', prefix, '--verbose']);
    expect(verbose.code, verbose.stderr).toBe(0);
    expect(verbose.stderr).toMatch(/^topology: .*eccb-smart-upload\.yaml$/m);
    expect(verbose.stderr).toMatch(/^server: redis:\/\/127\.0\.0\.1:\d+ \(db 0\)$/m);
    const quiet = await runCli(['topology', 'check', ...example, '--url', redisUrl(), '--prefix', prefix, '--quiet']);
    const loud = await runCli(['topology', 'check', ...example, '--url', redisUrl(), '--prefix', prefix]);
    expect(quiet.code).toBe(loud.code);
    expect(quiet.stdout).toBe(loud.stdout);
    expect(quiet.stderr.split('\n').filter((l) => l && !/^(warning|queuectl):/.test(l))).toEqual([]);
    const both = await runCli(['inspect', '-q', '-v', ...example, '--url', redisUrl()]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--quiet and --verbose contradict each other/);
  });
});
