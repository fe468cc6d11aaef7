import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { readRegularFileSync } from '../src/util/read-regular-file.js';
import { repoRoot, runCli, type CliResult } from './helpers/cli.js';

/**
 * Topology input that is hostile or broken in ways a schema cannot see: files that never end or
 * block, alias bombs, modules that never settle or throw from a getter, modules someone else
 * could have written. Each ends in exit 2 with one `queuectl:` line, never a hang or exit 0.
 * Spawns the built bin/queuectl (run `npm run build` first).
 */

const scratch = mkdtempSync(join(tmpdir(), 'queuectl-hostile-'));

beforeAll(() => {
  if (!existsSync(join(repoRoot, 'dist/main.js'))) throw new Error('dist/ is missing: run `npm run build` before this test');
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function validate(file: string, cwd = repoRoot): Promise<CliResult> {
  return runCli(file ? ['topology', 'validate', '-c', file] : ['topology', 'validate'], { cwd, timeoutMs: 30_000 });
}

function expectOneLine(result: CliResult, expected: RegExp): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(/^queuectl: /);
  expect(result.stderr).toMatch(expected);
}

function fifo(name: string): string {
  const file = join(scratch, name);
  execFileSync('mkfifo', [file]);
  return file;
}

describe('files that never end or block', () => {
  it('a topology file that is a FIFO with no writer', async () => {
    expectOneLine(await validate(fifo('pipe.yaml')), /topology file .*pipe\.yaml is a FIFO \(named pipe\), not a regular file — /);
  });

  it('a topology module that is a FIFO', async () => {
    expectOneLine(await validate(fifo('queuectl.config.mjs')), /queuectl\.config\.mjs is a FIFO/);
  });

  it('/dev/zero', async () => {
    expectOneLine(await validate('/dev/zero'), /topology file \/dev\/zero is a character device, not a regular file/);
  });

  it('a file over 16 MiB', async () => {
    const file = join(scratch, 'huge.yaml');
    writeFileSync(file, '');
    truncateSync(file, 16 * 1024 * 1024 + 1); // sparse: no disk used
    expectOneLine(await validate(file), /huge\.yaml is larger than 16 MiB — /);
  });

  it('the shared reader (also for --password-file) refuses the same and reads a regular file', () => {
    expect(() => readRegularFileSync(fifo('secret'), '--password-file secret', 1024)).toThrow(UsageError);
    expect(() => readRegularFileSync('/dev/zero', '--password-file /dev/zero', 1024)).toThrow(/character device/);
    const file = join(scratch, 'pw');
    writeFileSync(file, 'x'.repeat(2000));
    expect(() => readRegularFileSync(file, '--password-file pw', 1024)).toThrow(/larger than 1 KiB/);
    writeFileSync(file, 'hunter2\n');
    expect(readRegularFileSync(file, '--password-file pw', 1024)).toBe('hunter2\n');
    expect(() => readRegularFileSync(join(scratch, 'nope'), 'x', 1024)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});
