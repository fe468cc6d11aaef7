import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bin, runCli, type CliResult } from './helpers/cli.js';
import { redactUrl } from '../src/redis/url.js';
import { freePort, redisUrl } from './helpers/redis.js';
import { freshDatabase, pgAdminUrl, withDatabase } from './helpers/postgres.js';
import { tempFile } from './helpers/temp.js';

/** Contract Part 2, "Backends and connections": --url postgres://…, --schema, wrong-kind flags, exit 3 within --timeout. */

const oneLine = (r: CliResult) => {
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^queuectl: .+ — .+/);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
};
const password = () => new URL(pgAdminUrl()).password;
const noSecret = (r: CliResult) => {
  expect(r.stdout + r.stderr).not.toContain(password());
};

describe('PostgreSQL URLs and flags', () => {
  it('--prefix with a PostgreSQL URL and --schema with a Redis URL are exit 2, naming the right flag', async () => {
    const pg = await runCli(['doctor', '--url', pgAdminUrl(), '--prefix', 'bull']);
    expect(pg.code).toBe(2);
    oneLine(pg);
    expect(pg.stderr).toMatch(/--prefix is a Redis key prefix.*use --schema <name>/);
    noSecret(pg);
    const redis = await runCli(['doctor', '--url', redisUrl(), '--schema', 'bullmq']);
    expect(redis.code).toBe(2);
    oneLine(redis);
    expect(redis.stderr).toMatch(/--schema is a PostgreSQL schema.*use --prefix <p>/);
  });

  it('a topology that says backend: postgres refuses a Redis URL (and the other way round), exit 2', async () => {
    const pgTopology = tempFile('pgbackend', 'queuectl.yaml', 'version: 1\nbackend: postgres\nqueues:\n  mail: { jobs: [send] }\n');
    const r = await runCli(['doctor', '-c', pgTopology, '--url', redisUrl()]);
    expect(r.code).toBe(2);
    oneLine(r);
    expect(r.stderr).toMatch(/the topology says backend: postgres, but redis:\/\/127\.0\.0\.1:\d+ is Redis — pass a postgres:\/\/ URL/);
    const redisTopology = tempFile('pgbackend', 'queuectl.yaml', 'version: 1\nbackend: redis\nqueues:\n  mail: { jobs: [send] }\n');
    const p = await runCli(['inspect', '-c', redisTopology, '--url', pgAdminUrl()]);
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(/the topology says backend: redis, but postgres:\/\/postgres:\*\*\*@.* is PostgreSQL/);
    noSecret(p);
    const bad = await runCli(['topology', 'validate', '-c', tempFile('pgbackend', 'queuectl.yaml', 'version: 1\nbackend: mysql\nqueues:\n  mail: { jobs: [send] }\n')]);
    expect(bad.code).toBe(2);
  });

  it('a malformed URL, an unknown parameter or a bad schema name is exit 2 with the password hidden', async () => {
    const secret = 'Sup3rS3cret';
    for (const [args, pattern] of [
      [['--url', `postgres://app:${secret}@127.0.0.1:99999/db`], /bad port "99999"|not a URL/],
      [['--url', `postgresql://app:${secret}@127.0.0.1/db?sslmod=require`], /unsupported parameter "sslmod"/],
      [['--url', `postgres://app:${secret}@127.0.0.1/db?sslmode=sometimes`], /unknown sslmode "sometimes"/],
      [['--url', `postgres://app:${secret}@127.0.0.1/db`, '--schema', 'bad-name'], /--schema "bad-name" is not a schema name/],
    ] as const) {
      const r = await runCli(['doctor', ...args]);
      expect(r.code, r.stderr).toBe(2);
      oneLine(r);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).not.toContain(secret);
    }
  });

  it('a refused port is exit 3 in one line, fast, password hidden', async () => {
    const port = await freePort();
    const url = withDatabase(pgAdminUrl(), 'postgres').replace(/:\d+\//, `:${port}/`);
    const r = await runCli(['doctor', '--url', url, '--timeout', '20000']);
    expect(r.code).toBe(3);
    oneLine(r);
    expect(r.stderr).toMatch(/refused the connection/);
    noSecret(r);
    expect(r.ms).toBeLessThan(15_000);
  });

  it('a server that accepts and never answers fails within --timeout (exit 3)', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    try {
      const r = await runCli(['doctor', '--url', `postgres://app:pw@127.0.0.1:${port}/db`, '--timeout', '1500']);
      expect(r.code).toBe(3);
      oneLine(r);
      expect(r.stderr).toMatch(/did not answer within --timeout 1500 ms/);
      expect(r.ms).toBeLessThan(1500 + 8000); // node start-up on a loaded machine, not a hang
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('a password in the URL (user part or ?password=) is redacted, and gone from /proc/<pid>/cmdline while queuectl runs', async () => {
    expect(redactUrl('postgresql://app:s3cr%40t@db:5432/app?sslmode=require')).toBe('postgresql://app:***@db:5432/app?sslmode=require');
    expect(redactUrl('postgres://db/app?user=app&password=s3cret&sslmode=require')).toBe('postgres://db/app?user=app&password=***&sslmode=require');
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    const connected = new Promise<void>((resolve) => silent.once('connection', () => resolve()));
    const child = spawn(process.execPath, [bin, 'doctor', '--timeout', '60000', `--url=postgres://app:Pg-S3cret@127.0.0.1:${port}/app`], {
      env: { ...process.env, QUEUECTL_URL: undefined, REDIS_URL: undefined, QUEUECTL_CONFIG: undefined },
      stdio: 'ignore',
    });
    try {
      await connected; // the arguments are read (and hidden) before the first connection
      const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8');
      expect(cmdline).not.toContain('Pg-S3cret');
      expect(cmdline).toContain(`postgres://app:***@127.0.0.1:${port}/app`);
    } finally {
      child.kill('SIGKILL');
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('a wrong password is exit 3 "refused the login", and neither password is printed', async () => {
    const url = new URL(pgAdminUrl());
    url.password = 'wrong-password-123';
    const r = await runCli(['doctor', '--url', url.toString()]);
    expect(r.code).toBe(3);
    oneLine(r);
    expect(r.stderr).toMatch(/refused the login of "postgres"/);
    expect(r.stderr).toContain('postgres:***@');
    expect(r.stderr).not.toContain('wrong-password-123');
    noSecret(r);
  });

  it('a database that does not exist is exit 3 naming it', async () => {
    const r = await runCli(['doctor', '--url', withDatabase(pgAdminUrl(), 'no_such_db_here')]);
    expect(r.code).toBe(3);
    oneLine(r);
    expect(r.stderr).toMatch(/database "no_such_db_here" does not exist/);
  });

  it('sslmode=require against a server without TLS is exit 3 in one line', async () => {
    const r = await runCli(['doctor', '--url', `${pgAdminUrl()}?sslmode=require`]);
    expect(r.code).toBe(3);
    oneLine(r);
    expect(r.stderr).toMatch(/TLS|SSL/);
    noSecret(r);
  });

  it('--password-file gives the password of a URL without one; QUEUECTL_URL wins over REDIS_URL; --redis is an alias of --url', async () => {
    const db = await freshDatabase();
    const bare = new URL(db);
    bare.password = '';
    const file = tempFile('pgpass', 'password', `${password()}\n`);
    const viaFile = await runCli(['doctor', '--json', '--url', bare.toString(), '--password-file', file]);
    expect(viaFile.stderr).toBe('');
    expect(JSON.parse(viaFile.stdout)).toMatchObject({ backend: 'postgres', url: bare.toString() });

    const viaEnv = await runCli(['doctor', '--json'], { env: { QUEUECTL_URL: db, REDIS_URL: redisUrl() } });
    expect(JSON.parse(viaEnv.stdout)).toMatchObject({ backend: 'postgres' });
    expect(viaEnv.stdout).not.toContain(password());

    const alias = await runCli(['doctor', '--json', '--redis', db]);
    expect(JSON.parse(alias.stdout)).toMatchObject({ backend: 'postgres' });

    const both = await runCli(['doctor', '--url', db, '--redis', redisUrl()]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--url and --redis name different servers/);
  });

  it('every command speaks PostgreSQL: on a closed port each is exit 3 in one line naming PostgreSQL, never a Redis dial', async () => {
    const url = `postgres://app:pw@127.0.0.1:${await freePort()}/db`;
    const config = fileURLToPath(new URL('../examples/eccb-smart-upload.yaml', import.meta.url));
    for (const args of [
      ['inspect'], ['topology', 'check'], ['doctor'], ['dlq', 'list'], ['dedup-check'],
      ['migrate', '--from', 'eccb-smart-upload', '--dry-run'], ['migrate', 'status'],
      ['migrate', '--from', 'eccb-smart-upload', '--strategy', 'drain', '--confirm=eccb-smart-upload'],
    ]) {
      const r = await runCli([...args, '-c', config, '--url', url, '--timeout', '5000']);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(3);
      oneLine(r);
      expect(r.stderr).toMatch(/^queuectl: PostgreSQL at postgres:\/\/app:\*\*\*@127\.0\.0\.1:\d+\/db refused the connection/);
      expect(r.stderr).not.toContain(':pw@');
    }
  });

  it('queuectl --help loads neither pg nor bullmq; doctor on PostgreSQL does load pg', async () => {
    const register = pathToFileURL(fileURLToPath(new URL('./fixtures/refuse-heavy/register.mjs', import.meta.url))).href;
    const env = { NODE_OPTIONS: `--import ${register}` };
    const help = await runCli(['--help'], { env });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--url <url>');
    expect(help.stdout).toContain('--schema <name>');
    // The guard works: a command that needs pg fails under it.
    const doctor = await runCli(['doctor', '--url', pgAdminUrl()], { env });
    expect(doctor.stderr).toMatch(/refused import of pg/);
  });
});
