import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli, type CliResult } from './helpers/cli.js';
import { redisUrl } from './helpers/redis.js';

/**
 * Global options that are given but make no sense fail at once, exit 2, one line, before anything
 * runs; a blank value is never read as "use the default" (an empty CI variable would land the
 * command on another server). Spawns the built bin/queuectl.
 */

beforeAll(() => {
  if (!existsSync(join(repoRoot, 'dist/main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
});

function expectUsage(result: CliResult, expected: RegExp): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^queuectl: .* — /);
  expect(result.stderr).toMatch(expected);
  expect(result.stderr).not.toMatch(/Warning|TimeoutOverflow|    at /);
}

describe('global options with values that cannot be meant', () => {
  it('--timeout above the largest Node timer is exit 2, not a false timeout with Node warnings', async () => {
    expectUsage(await runCli(['doctor', '--redis', redisUrl(), '--timeout', '2147483648']), /--timeout 2147483648 is above/);
    expectUsage(await runCli(['inspect', '--redis', redisUrl(), '--timeout', '99999999999']), /--timeout/);
  });

  it.each([
    [['--redis', ''], /--redis was given an empty value/],
    [['--redis', ' '], /--redis was given an empty value/],
    [['-c', ''], /-c\/--config was given an empty value/],
    [['--prefix', ''], /--prefix was given an empty value/],
    [['--password-file', ''], /--password-file was given an empty value/],
  ])('%j is exit 2, not the default', async (flags, expected) => {
    expectUsage(await runCli(['inspect', ...flags]), expected);
  });

  it('REDIS_URL or QUEUECTL_CONFIG set but empty is exit 2, not the default server or file', async () => {
    expectUsage(await runCli(['doctor'], { env: { REDIS_URL: '' } }), /REDIS_URL is set but empty/);
    expectUsage(await runCli(['topology', 'validate'], { env: { QUEUECTL_CONFIG: ' ' } }), /QUEUECTL_CONFIG is set but empty/);
  });

  it('an empty REDIS_URL does not matter when --redis is given', async () => {
    const result = await runCli(['doctor', '--json', '--redis', redisUrl()], { env: { REDIS_URL: '' } });
    expect(result.stderr).not.toMatch(/REDIS_URL/);
    expect([0, 1]).toContain(result.code);
  });
});
