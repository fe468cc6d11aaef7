import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './helpers/cli.js';
import { tempDir, tempFile } from './helpers/temp.js';

/**
 * `topology validate` is a CI and pre-commit step, so its start-up is held by what it loads
 * rather than by wall time (which a loaded machine makes meaningless): the built CLI, run with a
 * preload that lists every module the process loads. A YAML file needs the schema, the YAML
 * parsers (js-yaml's fast path, yaml for lines and errors) and commander, as four bundled files
 * (dist/vendor, scripts/bundle-vendor.mjs): never
 * jiti, BullMQ, ioredis, pg, chalk (no colour in a pipe) or the table (no findings).
 */
const register = fileURLToPath(new URL('./fixtures/module-log/register.mjs', import.meta.url));

async function loadedBy(args: string[]): Promise<{ code: number | null; stdout: string; packages: Set<string>; modules: string[] }> {
  const log = join(tempDir('modules'), 'loaded.txt');
  const r = await runCli(args, { env: { NODE_OPTIONS: `--import ${register}`, QUEUECTL_TEST_MODULE_LOG: log } });
  const modules = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  // The package of each module under node_modules (scoped ones with their scope).
  const packages = new Set(modules.map((m) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(m)?.[1]).filter((p): p is string => p !== undefined));
  return { code: r.code, stdout: r.stdout, packages, modules };
}

describe('topology validate loads only what the file needs', () => {
  it('a YAML file: the four bundles, nothing from node_modules', async () => {
    const r = await loadedBy(['topology', 'validate', '-c', join(repoRoot, 'examples/eccb-smart-upload.yaml')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('valid: 4 queues');
    expect([...r.packages]).toEqual([]);
    for (const bundle of ['dist/vendor/zod.js', 'dist/vendor/yaml.js', 'dist/vendor/js-yaml.js', 'dist/vendor/commander.js']) expect(r.modules.some((m) => m.endsWith(bundle)), bundle).toBe(true);
    // The source tree's own modules: about forty today; a command that grew into loading the
    // Redis or PostgreSQL side would be far more.
    expect(r.modules.filter((m) => m.includes('/dist/')).length).toBeLessThan(60);
  });

  it('findings load the table; a TypeScript file loads jiti (the list is real, not empty)', async () => {
    const lint = await loadedBy(['topology', 'validate', '-c', join(repoRoot, 'examples/campotech.yaml')]);
    expect(lint.code).toBe(1);
    expect(lint.packages).toContain('cli-table3');
    expect(lint.packages).not.toContain('jiti');

    const file = tempFile('ts-topology', 'queuectl.config.ts', `export default { version: 1, queues: { mail: { jobs: ['mail.send'] } } };\n`);
    const ts = await loadedBy(['topology', 'validate', '-c', file]);
    expect(ts.code).toBe(1); // lint errors: no worker, no retries…
    expect(ts.stdout).toContain('queue-no-worker');
    expect(ts.packages).toContain('jiti');
    for (const heavy of ['bullmq', 'ioredis', 'pg']) expect(ts.packages).not.toContain(heavy);
  });
});
