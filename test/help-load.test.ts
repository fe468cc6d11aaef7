import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bin, repoRoot } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

/**
 * `queuectl --help` must stay fast (issue 18.16: under 0.12 s where bare node takes 0.08 s). Wall
 * time on a shared, loaded machine proves nothing, so this checks the cause instead: which modules
 * --help and --version load. A module hook records every resolved URL.
 */
function modulesLoadedBy(args: string[]): string[] {
  const dir = tempDir('helpload');
  const log = join(dir, 'loaded.txt');
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(hooks, `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, result.url + '\\n');
  return result;
}\n`);
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  writeFileSync(log, '');
  const result = spawnSync(process.execPath, ['--import', pathToFileURL(register).href, bin, ...args], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  expect(result.status, result.stderr).toBe(0);
  const root = pathToFileURL(repoRoot).href;
  return [...new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean))]
    .map((url) => url.replace(/^file:\/\/.*\/node_modules\//, 'node_modules/').replace(root, ''))
    .sort();
}

describe('queuectl --help loads only what help needs', () => {
  it.each([['--help'], ['--version'], ['migrate', '--help'], ['dlq', 'retry', '--help']])('%s', (...args) => {
    const loaded = modulesLoadedBy(args);
    const ours = loaded.filter((m) => m.startsWith('dist/') || m.startsWith('bin/'));
    // cli-queue-ops.js declares the queue and job commands (part of the command tree help prints).
    expect(ours).toEqual(['bin/queuectl', 'dist/cli-help.js', 'dist/cli-queue-ops.js', 'dist/cli.js', 'dist/errors.js', 'dist/main.js', 'dist/ui/escape.js']);
    const packages = new Set(loaded.filter((m) => m.startsWith('node_modules/')).map((m) => m.split('/')[1]));
    expect([...packages]).toEqual(['commander']);
    expect(loaded.filter((m) => m.startsWith('node:'))).toEqual(['node:fs']);
  });
});
