import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bin, repoRoot } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

/**
 * `queuectl --help` must stay fast (issue 18.16: under 0.12 s where bare node takes 0.08 s). Wall
 * time on a shared, loaded machine proves little (test/help-speed.test.ts holds it loosely), so
 * this checks the cause: which modules --help and --version load. A module hook records every
 * resolved URL; at exit the preload records Node's own modules (process.moduleLoadList), which
 * CommonJS require() loads without passing the hook.
 */
function modulesLoadedBy(args: string[]): { loaded: string[]; builtins: string[] } {
  const dir = tempDir('helpload');
  const log = join(dir, 'loaded.txt');
  const builtinLog = join(dir, 'builtins.txt');
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(hooks, `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, result.url + '\\n');
  return result;
}\n`);
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { writeFileSync } from 'node:fs';
import { register } from 'node:module';
register(${JSON.stringify(pathToFileURL(hooks).href)});
process.on('exit', () => writeFileSync(${JSON.stringify(builtinLog)}, process.moduleLoadList.join('\\n')));\n`);
  writeFileSync(log, '');
  const result = spawnSync(process.execPath, ['--import', pathToFileURL(register).href, bin, ...args], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  expect(result.status, result.stderr).toBe(0);
  const root = pathToFileURL(repoRoot).href;
  const loaded = [...new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean))]
    .map((url) => url.replace(/^file:\/\/.*\/node_modules\//, 'node_modules/').replace(root, ''))
    .sort();
  // "NativeModule child_process", "Internal Binding fs", …: keep the public modules' names.
  const builtins = readFileSync(builtinLog, 'utf8').split('\n').filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
  return { loaded, builtins };
}

describe('queuectl --help loads only what help needs', () => {
  it.each([['--help'], ['--version'], ['migrate', '--help'], ['dlq', 'retry', '--help']])('%s', (...args) => {
    const { loaded, builtins } = modulesLoadedBy(args);
    const ours = loaded.filter((m) => m.startsWith('dist/') || m.startsWith('bin/'));
    // cli-queue-ops.js declares the queue and job commands (part of the command tree help prints);
    // vendor/commander.js is commander bundled into one ES module (scripts/bundle-vendor.mjs).
    expect(ours).toEqual(['bin/queuectl', 'dist/cli-help.js', 'dist/cli-queue-ops.js', 'dist/cli.js', 'dist/errors.js', 'dist/main.js', 'dist/ui/escape.js', 'dist/vendor/commander.js']);
    // Nothing from node_modules: commander as CommonJS cost the CommonJS loader and its export scan.
    expect(loaded.filter((m) => m.startsWith('node_modules/'))).toEqual([]);
    // node:module: the bundle's createRequire, for commander's require() of Node's own modules.
    expect(loaded.filter((m) => m.startsWith('node:'))).toEqual(['node:fs', 'node:module']);
    // commander loads child_process (and with it net and dgram) only to run executable
    // subcommands, which queuectl has none of: the bundle defers it to first use.
    for (const unneeded of ['child_process', 'dgram', 'internal/child_process']) expect(builtins).not.toContain(unneeded);
    expect(builtins).toContain('events'); // the record is real, not empty
    // What Node reads and compiles for help: 160 KB today, 107 of them commander's bundle and 33
    // cli.js (every command's declaration). Growth past this is worth a look at what came in.
    const bytes = ours.reduce((sum, file) => sum + statSync(join(repoRoot, file)).size, 0);
    expect(bytes).toBeLessThan(200_000);
  });
});
