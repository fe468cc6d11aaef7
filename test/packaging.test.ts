import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
const walk = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));

describe('what npm install of the package gives', () => {
  it('builds on install from git and on pack, with a LICENSE, links, and the engines @inquirer needs', () => {
    expect(pkg.scripts.prepare).toBe('npm run build');
    expect(readFileSync(join(repoRoot, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    expect(pkg.license).toBe('MIT');
    for (const field of ['repository', 'homepage', 'bugs']) expect(pkg[field], field).toBeTruthy();
    // @inquirer/* declares ">=23.5.0 || ^22.13.0 || ^20.17.0": ours may not promise more.
    const inquirer = JSON.parse(readFileSync(join(repoRoot, 'node_modules/@inquirer/prompts/package.json'), 'utf8'));
    expect(inquirer.engines.node.split('||').map((r: string) => r.trim()).sort()).toEqual(pkg.engines.node.split('||').map((r: string) => r.trim()).sort());
  });

  it('dist holds no source maps and no .d.ts beyond the public API (index.ts and the types it exports)', () => {
    const files = walk(join(repoRoot, 'dist')).map((f) => relative(join(repoRoot, 'dist'), f));
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    // index.ts and the modules its exported types import (tsc emits that closure and nothing else):
    // the topology's types name table sources, schedulers (cron), the PostgreSQL backend's options and zod's types.
    expect(files.filter((f) => f.endsWith('.d.ts')).sort()).toEqual([
      'backend/postgres/types.d.ts', 'index.d.ts', 'table/identifier.d.ts', 'table/types.d.ts', 'topology/cron.d.ts',
      'topology/durations.d.ts', 'topology/problems.d.ts', 'topology/schema.d.ts', 'topology/types.d.ts', 'vendor/zod.d.ts',
    ]);
  });

  it("a queuectl.config.ts that imports 'queuectl' loads with no queuectl in its node_modules (a global install)", async () => {
    const dir = tempDir('pkg');
    expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    const yaml = readFileSync(join(repoRoot, 'examples/eccb-smart-upload.yaml'), 'utf8');
    writeFileSync(join(dir, 'topology.json'), JSON.stringify((await import('yaml')).parse(yaml)));
    writeFileSync(join(dir, 'queuectl.config.ts'), `import { defineTopology } from 'queuectl';\nimport data from './topology.json' with { type: 'json' };\nexport default defineTopology(data as never);\n`, { mode: 0o644 });
    const ok = await runCli(['topology', 'validate'], { cwd: dir });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/queuectl\.config\.ts valid: 4 queues/);
  });

  it('a missing import is reported at its line in the source, not at the transpiled position', async () => {
    const dir = tempDir('pkg');
    writeFileSync(join(dir, 'queuectl.config.ts'), `import { defineTopology } from 'queuectl';\n\nimport { queues } from 'not-installed-anywhere';\nexport default defineTopology({ version: 1, queues });\n`, { mode: 0o644 });
    const bad = await runCli(['topology', 'validate'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^queuectl: queuectl\.config\.ts: line 3, column 24: Cannot find module 'not-installed-anywhere'/);
  });
});
