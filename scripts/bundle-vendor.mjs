// After tsc: each dist/vendor/<lib>.js (a re-export of the parts of a library queuectl uses, see
// src/vendor/) becomes one file holding just those parts. `topology validate` runs in CI and
// pre-commit hooks; loading zod and yaml module by module was most of its start-up (zod alone is
// ~95 files, every locale included). Bundled by rolldown (vitest's own bundler, a dev dependency).
import { readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'rolldown';

const dir = 'dist/vendor';
for (const file of readdirSync(dir).filter((f) => f.endsWith('.js'))) {
  const input = join(dir, file);
  const output = join(dir, `${file}.bundle`);
  // Everything imported is inlined; only Node's own modules stay imports. Without the `node`
  // condition yaml resolves to its ES module build (the same code), which can be tree-shaken.
  await build({ input, platform: 'neutral', logLevel: 'warn', resolve: { conditionNames: ['import', 'default'], mainFields: ['module', 'main'] }, output: { file: output, format: 'esm' } });
  renameSync(output, input);
  rmSync(`${input}.map`, { force: true }); // tsc's map describes the re-export, not the bundle
}
