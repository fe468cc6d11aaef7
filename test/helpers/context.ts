import { PassThrough } from 'node:stream';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context, GlobalOptions } from '../../src/context.js';
import { createContext } from '../../src/runtime.js';
import { redisUrl } from './redis.js';
import { tempDir } from './temp.js';

export interface TestContext {
  ctx: Context;
  stdout(): string;
  stderr(): string;
  /** The --json document the command printed. */
  json<T = any>(): T;
}

/**
 * A real Context over a test Redis, with stdout and stderr captured, no terminal, and the
 * run's own single-node Redis unless `redis` says otherwise, the
 * topology given as YAML text (written to a temp file) or a file path.
 */
export function testContext(options: Partial<GlobalOptions> & { yaml?: string; signal?: AbortSignal } = {}): TestContext {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d) => (stdout += d));
  err.on('data', (d) => (stderr += d));
  let config = options.config;
  if (options.yaml !== undefined) {
    const dir = tempDir('topo');
    config = join(dir, 'queuectl.yaml');
    writeFileSync(config, options.yaml);
  }
  const globals: GlobalOptions = { json: false, color: false, yes: false, timeout: 5000, ...options, config, redis: options.redis ?? redisUrl() };
  const ctx = createContext(globals, { cwd: tmpdir(), env: {}, stdinIsTTY: false, stdout: out, stderr: err, signal: options.signal });
  return {
    ctx,
    stdout: () => stdout,
    stderr: () => stderr,
    json: () => JSON.parse(stdout),
  };
}

/**
 * The two-queue topology the topology-check tests read: ocr and proc declared, one legacy queue
 * `shared`; `extra` is appended as more YAML.
 */
export function ocrProcYaml(prefix: string, extra = ''): string {
  return `version: 1
prefix: "${prefix}"
queues:
  ocr: { jobs: [ocr.process], concurrency: 2 }
  proc: { jobs: [smartupload.process] }
workers:
  ocr-worker: { queues: [ocr] }
  proc-worker: { queues: [proc] }
legacy:
  shared: { note: shared queue before the split }
${extra}`;
}
