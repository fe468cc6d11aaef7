import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
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

  it('a file over 4 MiB', async () => {
    const file = join(scratch, 'huge.yaml');
    writeFileSync(file, '');
    truncateSync(file, 4 * 1024 * 1024 + 1); // sparse: no disk used
    expectOneLine(await validate(file), /huge\.yaml is larger than 4 MiB — /);
  });

  it('--password-file and --tls-ca that are a FIFO or /dev/zero: exit 2 at once, no connection tried', async () => {
    // A closed port: were the file read past, the run would fail later with exit 3, not 2.
    const url = 'redis://127.0.0.1:1';
    expectOneLine(await runCli(['doctor', '--redis', url, '--password-file', fifo('pw-fifo')], { cwd: scratch, timeoutMs: 30_000 }), /--password-file .*pw-fifo is a FIFO \(named pipe\), not a regular file/);
    expectOneLine(await runCli(['doctor', '--redis', url, '--password-file', '/dev/zero'], { cwd: scratch, timeoutMs: 30_000 }), /--password-file \/dev\/zero is a character device/);
    expectOneLine(await runCli(['doctor', '--redis', 'rediss://127.0.0.1:1', '--tls-ca', fifo('ca-fifo')], { cwd: scratch, timeoutMs: 30_000 }), /--tls-ca .*ca-fifo is a FIFO/);
    // The same reader serves a PostgreSQL URL's flags.
    expectOneLine(await runCli(['doctor', '--url', 'postgres://app@127.0.0.1:1/db', '--password-file', fifo('pg-pw-fifo')], { cwd: scratch, timeoutMs: 30_000 }), /--password-file .*pg-pw-fifo is a FIFO \(named pipe\), not a regular file/);
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

describe('a topology module that never finishes', () => {
  const dead = ['--redis', 'redis://127.0.0.1:1']; // never reached: loading fails first
  function moduleDir(source: string): string {
    const dir = mkdtempSync(join(scratch, 'module-'));
    writeFileSync(join(dir, 'queuectl.config.mjs'), source);
    return dir;
  }
  const never = /^queuectl: queuectl\.config\.mjs: the module never finished loading: .* — make the default export/;

  it('a default export that never settles: validate, check and migrate exit 2, not 0 with no output', async () => {
    const cwd = moduleDir('export default new Promise(() => {});\n');
    for (const args of [['topology', 'validate'], ['topology', 'check', ...dead], ['migrate', '--from', 'old', ...dead]]) {
      expectOneLine(await runCli(args, { cwd, timeoutMs: 30_000 }), never);
    }
  });

  it('a top-level await that never settles', async () => {
    expectOneLine(await validate('', moduleDir('await new Promise(() => {});\nexport default { queues: {} };\n')), never);
  });

  it('a default export that rejects is an input error too', async () => {
    expectOneLine(await validate('', moduleDir('export default Promise.reject(new Error("no database"));\n')), /the default export is a promise that rejected: .*no database/);
  });

  it('a module that keeps the process busy but never delivers is bounded', async () => {
    const result = await validate('', moduleDir('setInterval(() => {}, 1000);\nexport default new Promise(() => {});\n'));
    expectOneLine(result, /did not finish loading within 15s/);
  });

  it('any command left pending when the event loop empties exits 1, never 0', async () => {
    // Disable the loader's own handler, as if the stall were somewhere else: main still catches it.
    const hook = join(scratch, 'no-loader-handler.mjs');
    writeFileSync(hook, 'const once = process.once.bind(process);\nprocess.once = (event, f) => (event === "beforeExit" ? process : once(event, f));\n');
    const result = await runCli(['topology', 'validate'], { cwd: moduleDir('export default new Promise(() => {});\n'), env: { NODE_OPTIONS: `--import=${hook}` }, timeoutMs: 30_000 });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^queuectl: unexpected error: the command stopped before it finished .* — rerun with QUEUECTL_DEBUG=1/);
  });
});

describe('input that expands without bound or throws while read', () => {
  function file(name: string, text: string): string {
    const path = join(mkdtempSync(join(scratch, 'bomb-')), name);
    writeFileSync(path, text);
    return path;
  }

  it('a YAML alias bomb (billion laughs)', async () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i += 1) {
      const prev = String.fromCharCode(96 + i);
      levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    expectOneLine(await validate(file('lol.yaml', `${levels.join('\n')}\nqueues: {}\n`)), /lol\.yaml: its YAML aliases expand to more than 1000 copies \(an alias bomb\?\) — /);
  });

  it('the merge-key variant of the alias bomb', async () => {
    const lines = ['x-0: &m0 { a: [1, 2, 3] }'];
    for (let i = 1; i < 12; i += 1) lines.push(`x-${i}: &m${i} { <<: [${Array(9).fill(`*m${i - 1}`).join(', ')}], k${i}: [*m${i - 1}, *m${i - 1}] }`);
    lines.push('queues: { q: { <<: *m11, jobs: [q] } }');
    expectOneLine(await validate(file('merge.yaml', `${lines.join('\n')}\n`)), /merge\.yaml: its YAML aliases expand to more than 1000 copies/);
  });

  it('a module whose default export has a getter that throws', async () => {
    const path = file('queuectl.config.mjs', 'export default { get queues() { throw new Error("REGION is not set"); } };\n');
    expectOneLine(await validate(path), /queuectl\.config\.mjs: reading the default export threw Error: REGION is not set — export plain data/);
  });

  it('a module whose default export is a cycle', async () => {
    const path = file('queuectl.config.mjs', 'const t = { queues: {} };\nt.queues.self = t;\nexport default t;\n');
    expectOneLine(await validate(path), /nests deeper than 64 levels \(a cycle\?\)/);
  });

  it('a module whose default export shares one object exponentially often', async () => {
    const path = file('queuectl.config.mjs', 'let a = ["x"];\nfor (let i = 0; i < 40; i++) a = [a, a];\nexport default { queues: { q: { jobs: a } } };\n');
    expectOneLine(await validate(path), /more than 1000000 objects/);
  });
});

describe('trust: a topology module is code, run only when no one else could have written it', () => {
  const topology = 'export default { queues: { q: { jobs: [\'q.run\'], dedup: \'none\' } } };\n';
  function configIn(name = 'queuectl.config.mjs'): { dir: string; path: string } {
    const dir = mkdtempSync(join(scratch, 'trust-'));
    const path = join(dir, name);
    writeFileSync(path, topology);
    chmodSync(path, 0o644);
    return { dir, path };
  }

  it('runs a module the current user owns and only it can write', async () => {
    const { dir } = configIn();
    const result = await validate('', dir);
    expect(result.stderr).not.toMatch(/refusing/);
    expect([0, 1]).toContain(result.code); // linted: the point is that it loaded
  });

  it.skipIf(process.getuid?.() !== 0)('refuses one owned by another user, found in the working directory or named by -c', async () => {
    const { dir, path } = configIn('queuectl.config.ts');
    chownSync(path, 4321, 4321);
    const expected = /^queuectl: refusing to run queuectl\.config\.ts: it is owned by uid 4321, not by you \(uid 0\), and queuectl executes this file — /;
    expectOneLine(await validate('', dir), expected);
    expectOneLine(await runCli(['topology', 'validate', '-c', 'queuectl.config.ts'], { cwd: dir }), expected);
  });

  it('refuses one writable by its group or by everyone', async () => {
    const { dir, path } = configIn();
    chmodSync(path, 0o664);
    expectOneLine(await validate('', dir), /refusing to run queuectl\.config\.mjs: its group can write it \(mode 0664\), and queuectl executes this file — chmod go-w queuectl\.config\.mjs/);
    chmodSync(path, 0o646);
    expectOneLine(await validate('', dir), /anyone can write it \(mode 0646\)/);
  });

  it('says so in --help', async () => {
    const result = await runCli(['--help']);
    expect(result.stdout).toMatch(/like a Makefile, a queuectl\.config\.\{ts,mjs,js\} found \(here, or up to the repository root\) is executed/);
  });
});
