import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli, type CliResult } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

/**
 * A bad topology file, whatever is wrong with it, ends the same way for the user: exit 2, one
 * line per problem on stderr, each starting `queuectl: `, naming the file and (when known) the
 * path and line, and never a stack trace. Spawns the built bin/queuectl (`npm test` builds first).
 */

const dir = 'test/fixtures/malformed';
const scratch = tempDir('malformed');

beforeAll(() => {
  if (!existsSync(join(repoRoot, 'dist/main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does) before this test');
});

function validate(file: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCli(file ? ['topology', 'validate', '-c', file] : ['topology', 'validate'], { env });
}

function expectOneLineErrors(result: CliResult, expected: RegExp, lines = 1): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).not.toContain('    at ');
  const stderr = result.stderr.trimEnd().split('\n');
  for (const line of stderr) expect(line).toMatch(/^queuectl: /);
  expect(stderr.length).toBeGreaterThanOrEqual(lines);
  expect(result.stderr).toMatch(expected);
  expect(result.stdout).toBe('');
}

/** [fixture, what the message must say] — the path and line where a file can have them. */
const cases: [string, RegExp][] = [
  ['yaml-indent.yaml', /yaml-indent\.yaml: line 4, column 1: invalid YAML: .* — fix the YAML syntax/],
  ['yaml-unclosed.yaml', /yaml-unclosed\.yaml: line 3, column 1: invalid YAML: /],
  ['yaml-duplicate-key.yaml', /line 3, column 3: invalid YAML: Map keys must be unique/],
  ['yaml-tabs.yaml', /line 2, column 1: invalid YAML: Tabs are not allowed as indentation/],
  ['json-trailing-comma.json', /json-trailing-comma\.json: line 5, column 1: invalid JSON: .* — fix the JSON syntax/],
  ['json-single-quotes.json', /json-single-quotes\.json: line 3, column 5: invalid JSON: /],
  ['empty.yaml', /empty\.yaml: the file is empty — /],
  ['top-level-list.yaml', /expected a mapping .* at the top level, got a list — /],
  ['wrong-version.yaml', /: version \(line 1\): unsupported version 2 — this queuectl reads version: 1/],
  ['unknown-top-key.yaml', /: worker \(line 3\): unknown key "worker" — did you mean "workers"\?/],
  ['unknown-queue-key.yaml', /: queues\.q\.atempts \(line 5\): unknown key "atempts" — did you mean "attempts"\?/],
  ['missing-queues.yaml', /: queues \(line 1\): missing — declare your queues/],
  ['empty-jobs.yaml', /: queues\.q\.jobs \(line 3\): jobs must not be empty — /],
  ['jobs-not-list.yaml', /: queues\.q\.jobs \(line 4\): expected a list, got "a" — /],
  ['bad-duration.yaml', /: queues\.eccb-ocr\.timeout \(line 5\): invalid duration "5x" — use ms or 500ms, 30s, 5m, 1h, 7d/],
  ['rate-limit.yaml', /: queues\.q\.rateLimit\.duration \(line 5\): invalid duration "1 minute" — /],
  ['bad-backoff-type.yaml', /: queues\.eccb-ocr\.backoff\.type \(line 5\): expected one of "fixed", "exponential", "steps", got "linear" — /],
  ['backoff-missing-delay.yaml', /: queues\.eccb-ocr\.backoff\.delay \(line 5\): missing — add delay/],
  ['backoff-bad-step.yaml', /: queues\.eccb-ocr\.backoff\[2\] \(line 5\): invalid duration "soon" — /],
  ['backoff-jitter.yaml', /: defaults\.backoff\.jitter \(line 2\): jitter must be between 0 and 1 — /],
  ['alerts-order.yaml', /: queues\.q\.alerts\.waiting \(line 5\): warning 500 is above critical 100 — /],
  ['alerts-not-pair.yaml', /: queues\.q\.alerts\.failed \(line 6\): expected \[warning, critical\], got 10 — /],
  ['payload-required.yaml', /: queues\.q\.payload\.required\[1\] \(line 9\): "sessionId" is required but not declared — /],
  ['payload-field-type.yaml', /: queues\.q\.payload\.properties\.sessionId\.type \(line 8\): .*did you mean "string"\?/],
  ['bad-dead-letter.yaml', /: defaults\.deadLetter \(line 2\): expected "failed" or \{ queue: <name> \}, got "dlq" — /],
  ['bad-retention.yaml', /: defaults\.removeOnFail \(line 2\): expected true, false, a count or \{ age, count \}, got "forever" — /],
  ['attempts-zero.yaml', /: defaults\.attempts \(line 2\): 0 is too small — use 1 or more/],
  ['concurrency-string.json', /concurrency-string\.json: queues\.q\.concurrency \(line 6\): .*got "two" — /],
  ['worker-empty-queues.yaml', /: workers\.w\.queues \(line 4\): queues must not be empty — /],
  ['legacy-bad.yaml', /: legacy\.old\.route \(line 4\): unknown key "route" — allowed here: note, to/],
  ['throws.config.ts', /throws\.config\.ts: line 3, column \d+: the module threw Error: REGION is not set — /],
  ['syntax-error.config.mjs', /syntax-error\.config\.mjs: line 2, column \d+: syntax error: /],
  ['no-default.config.mjs', /no-default\.config\.mjs: the module has no default export — .*export default/],
  ['default-function.config.mjs', /default-function\.config\.mjs: the default export is a function — /],
  ['invalid-module.config.mjs', /invalid-module\.config\.mjs: queues\.q\.jobs: expected a list, got "a" — /],
];

describe('queuectl topology validate on malformed files', () => {
  it.each(cases)('%s', async (fixture, expected) => {
    expectOneLineErrors(await validate(`${dir}/${fixture}`), expected);
  });

  it('reports every problem of a file, each on its own line, in file order', async () => {
    const result = await validate(`${dir}/many-problems.yaml`);
    expectOneLineErrors(result, /queues\.a\.jobs \(line 4\)/, 4);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines.map((l) => /\(line (\d+)\)/.exec(l)?.[1])).toEqual(['4', '5', '8', '10']);
    expect(lines[3]).toContain('did you mean "concurrency"?');
  });

  it('a missing file', async () => {
    expectOneLineErrors(await validate('no/such/queuectl.yaml'), /^queuectl: topology file no\/such\/queuectl\.yaml not found — check the path given to -c$/m);
  });

  it('a missing file named by QUEUECTL_CONFIG', async () => {
    expectOneLineErrors(await validate('', { QUEUECTL_CONFIG: 'gone.yaml' }), /gone\.yaml not found — check the path in QUEUECTL_CONFIG/);
  });

  it('a directory given as the file', async () => {
    expectOneLineErrors(await validate(dir), /malformed is a directory — /);
  });

  // chmod 000 does not stop root; there a directory named like a topology file is the unreadable case.
  it.skipIf(process.getuid?.() === 0)('a file without read permission', async () => {
    const file = join(scratch, 'locked.yaml');
    writeFileSync(file, 'queues: {}\n');
    chmodSync(file, 0o000);
    expectOneLineErrors(await validate(file), /cannot read topology file .*locked\.yaml: permission denied — /);
  });

  it('no file at all in the working directory', async () => {
    const result = await runCli(['topology', 'validate'], { cwd: scratch });
    expectOneLineErrors(result, /no topology file found .* — pass -c <file> or set QUEUECTL_CONFIG/);
  });
});
