import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisError } from '../src/errors.js';
import { connect } from '../src/redis/connection.js';
import { parseConnectionSpec } from '../src/redis/url.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { client, redisUrl, uniqueName } from './helpers/redis.js';
import { seedLegacy } from './migrate-seed.js';

/**
 * A database index the server does not have (redis://host:port/99 on a 16-database server) fails
 * before anything runs: ioredis only emits a refused SELECT as an event and carries on in db 0,
 * where `inspect` read and `migrate --yes` moved another database's jobs.
 */

const dir = mkdtempSync(join(tmpdir(), 'queuectl-db-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectDbRefused(result: CliResult): void {
  expect(result.code, result.stderr + result.stdout).toBe(3);
  expect(result.stdout).toBe('');
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(/^queuectl: database 99 does not exist on Redis at redis:\/\/127\.0\.0\.1:\d+\/99 .* — /);
}

describe('a database index that does not exist', () => {
  it('connect() rejects with a RedisError naming the database', async () => {
    const spec = parseConnectionSpec({ url: `${redisUrl()}/99`, timeoutMs: 2000, env: {} });
    const failure = await connect(spec).then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(RedisError);
    expect((failure as RedisError).message).toMatch(/database 99 does not exist/);
  });

  it('an existing database is selected, and its keys are the ones read', async () => {
    const key = uniqueName('dbcheck');
    await client(`${redisUrl()}/3`).set(key, 'in-3');
    const handle = await connect(parseConnectionSpec({ url: `${redisUrl()}/3`, timeoutMs: 2000, env: {} }));
    try {
      expect(await (handle.client as import('ioredis').Redis).get(key)).toBe('in-3');
    } finally {
      await handle.close();
      await client(`${redisUrl()}/3`).del(key);
    }
  });

  it('inspect, doctor and migrate --yes exit 3 with one line, and db 0 keeps its jobs', async () => {
    const prefix = uniqueName('db');
    const config = join(dir, `${prefix}.yaml`);
    writeFileSync(config, `version: 1\nprefix: "${prefix}"\nqueues:\n  ocr: { jobs: [ocr.process] }\nlegacy:\n  shared: { note: before the split }\n`);
    const redis = client();
    await seedLegacy(redis, { prefix, queue: 'shared', jobs: 20, names: ['ocr.process'] });
    const before = await redis.llen(`${prefix}:shared:wait`);
    expect(before).toBeGreaterThan(0);
    const url = `${redisUrl()}/99`;
    expectDbRefused(await runCli(['inspect', '-c', config, '--redis', url]));
    expectDbRefused(await runCli(['doctor', '--redis', url], { cwd: dir }));
    expectDbRefused(await runCli(['migrate', '--from', 'shared', '--yes', '-c', config, '--redis', url]));
    expect(await redis.llen(`${prefix}:shared:wait`)).toBe(before);
    expect(await redis.llen(`${prefix}:ocr:wait`)).toBe(0);
  });
});
