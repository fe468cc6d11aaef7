import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { createContext, describeTarget } from '../src/runtime.js';
import { namingTarget } from '../src/ui/prompt.js';
import { tempDir } from './helpers/temp.js';

const globals = (url: string, extra: Record<string, unknown> = {}) => ({ redis: url, json: false, color: false, yes: false, timeout: 5000, ...extra });
const context = (url: string, extra: Record<string, unknown> = {}) =>
  createContext(globals(url, extra), { cwd: tempDir('prompt'), env: {}, stdout: new PassThrough(), stderr: new PassThrough(), stdinIsTTY: false });

describe('prompts name the server and database (issue 18.7)', () => {
  it('describes a Redis target with db and prefix, a PostgreSQL one with its schema, the password redacted', async () => {
    expect(await describeTarget(context('redis://:secret@10.0.0.5:6380'))).toBe('redis://:***@10.0.0.5:6380 (db 0, prefix bull)');
    expect(await describeTarget(context('redis://10.0.0.5:6380/4', { prefix: 'app' }))).toBe('redis://10.0.0.5:6380/4 (prefix app)');
    expect(await describeTarget(context('postgres://app:pw@db:5432/app', { schema: 'jobs' }))).toBe('postgres://app:***@db:5432/app (schema jobs)');
  });

  it('puts the target into the question, once', () => {
    const where = 'redis://10.0.0.5:6380 (db 0, prefix bull)';
    expect(namingTarget('Move 40 job(s) out of legacy?', where)).toBe('Move 40 job(s) out of legacy on redis://10.0.0.5:6380 (db 0, prefix bull)?');
    expect(namingTarget('Run migrations on redis://10.0.0.5:6380?', where)).toBe('Run migrations on redis://10.0.0.5:6380?');
    expect(namingTarget('Delete every key of legacy', where)).toBe('Delete every key of legacy (on redis://10.0.0.5:6380 (db 0, prefix bull))');
    expect(namingTarget('Retry 3 dead letters?', undefined)).toBe('Retry 3 dead letters?');
  });
});
