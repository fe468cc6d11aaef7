// After tsc: each dist/vendor/<lib>.js (a re-export of the parts of a library queuectl uses, see
// src/vendor/) becomes one file holding just those parts. `topology validate` runs in CI and
// pre-commit hooks; loading zod and yaml module by module was most of its start-up (zod alone is
// ~95 files, every locale included), and commander as CommonJS was the largest part of `queuectl --help`'s.
// Bundled by rolldown (vitest's own bundler, a dev dependency).
import { readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'rolldown';

/**
 * commander requires child_process at load time, only to spawn executable subcommands (queuectl
 * declares none): loading it pulls in net, dgram and the child-process plumbing, a few ms of every
 * start-up. In the bundle it is a stand-in that loads the real module on first use.
 */
const lazyChildProcess = {
  name: 'lazy-child-process',
  resolveId(source) {
    return source === 'node:child_process' || source === 'child_process' ? '\0lazy-child-process' : null;
  },
  load(id) {
    if (id !== '\0lazy-child-process') return null;
    return `import { createRequire } from 'node:module';
export function spawn(...args) { return createRequire(import.meta.url)('node:child_process').spawn(...args); }\n`;
  },
};

const dir = 'dist/vendor';
const commonJsOnly = new Set(['commander.js']);
for (const file of readdirSync(dir).filter((f) => f.endsWith('.js'))) {
  const input = join(dir, file);
  const output = join(dir, `${file}.bundle`);
  // Everything imported is inlined; only Node's own modules stay imports. Without the `node`
  // platform yaml resolves to its ES module build (the same code), which can be tree-shaken.
  // commander is CommonJS only: on the `node` platform its require() of Node's own modules works
  // in the ES module bundle (through createRequire).
  await build({
    input,
    platform: commonJsOnly.has(file) ? 'node' : 'neutral',
    logLevel: 'warn',
    plugins: [lazyChildProcess],
    resolve: { conditionNames: ['import', 'default'], mainFields: ['module', 'main'] },
    output: { file: output, format: 'esm' },
  });
  renameSync(output, input);
  rmSync(`${input}.map`, { force: true }); // tsc's map describes the re-export, not the bundle
}
