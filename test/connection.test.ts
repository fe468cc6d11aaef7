import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisError, UsageError } from '../src/errors.js';
import { connect } from '../src/redis/connection.js';
import { toRedisError } from '../src/redis/errors.js';
import { DEFAULT_REDIS_URL, parseConnectionSpec, type SpecInput } from '../src/redis/url.js';
import { clusterUrl, freePort, redisUrl, seedPrefix, uniqueName } from './helpers/redis.js';
import { tempDir } from './helpers/temp.js';

const dir = tempDir('conn');
const spec = (url?: string, extra: Partial<SpecInput> = {}) => parseConnectionSpec({ url, timeoutMs: 1000, env: {}, ...extra });
// Redis's well-known port, read from the default URL: the suite never names it (nothing here may reach the machine's own Redis).
const WELL_KNOWN_PORT = Number(new URL(DEFAULT_REDIS_URL).port);

describe('parseConnectionSpec', () => {
  it('defaults to REDIS_URL, then Redis on 127.0.0.1 at its well-known port', () => {
    expect(DEFAULT_REDIS_URL).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(spec().nodes).toEqual([{ host: '127.0.0.1', port: WELL_KNOWN_PORT }]);
    expect(spec(undefined, { env: { REDIS_URL: 'redis://cache:7000' } }).nodes).toEqual([{ host: 'cache', port: 7000 }]);
    // Set but blank is a mistake (an empty CI variable), never a silent fall-back to the default server.
    expect(() => spec(undefined, { env: { REDIS_URL: '' } })).toThrow(/REDIS_URL is set but empty/);
    expect(() => spec(undefined, { env: { REDIS_URL: '  ' } })).toThrow(UsageError);
    expect(() => spec('', { env: {} })).toThrow(/--redis was given an empty value/);
    expect(spec('redis://a:1', { env: { REDIS_URL: 'redis://b:2' } }).nodes[0].host).toBe('a');
  });

  it('reads user, password, db and TLS', () => {
    const s = spec('rediss://app:p%40ss@redis.example:6380/2');
    expect(s).toMatchObject({ mode: 'standalone', tls: true, username: 'app', password: 'p@ss', db: 2, redacted: 'rediss://app:***@redis.example:6380/2' });
    expect(spec('redis://:only@h:1')).toMatchObject({ password: 'only', redacted: 'redis://:***@h:1' });
    expect(spec('redis://h:1').username).toBeUndefined();
    expect(spec('redis://h').nodes[0].port).toBe(WELL_KNOWN_PORT);
    expect(spec('redis://[::1]:7001').nodes[0]).toEqual({ host: '::1', port: 7001 });
    expect(spec('redis://h:1/0').db).toBeUndefined();
  });

  it('reads cluster seeds, with credentials on the first', () => {
    const s = spec('redis+cluster://u:pw@10.0.0.1:7000,10.0.0.2:7001');
    expect(s).toMatchObject({ mode: 'cluster', username: 'u', password: 'pw', redacted: 'redis+cluster://u:***@10.0.0.1:7000,10.0.0.2:7001' });
    expect(s.nodes).toEqual([{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }]);
  });

  it.each([
    ['http://h:1', /unsupported scheme/],
    ['h:7000', /missing scheme/],
    ['redis://h:0', /bad port "0"/],
    ['redis://h:70000', /bad port/],
    ['redis://h:12ab', /bad port/],
    ['redis://h:1/x', /database "x"/],
    ['redis://h:1,g:2', /redis\+cluster/],
    ['redis+cluster://h:1/3', /only has database 0/],
    ['redis://', /missing host/],
    ['redis://h:1?family=6', /query/],
  ])('rejects %s with a usage error', (url, why) => {
    expect(() => spec(url)).toThrow(UsageError);
    expect(() => spec(url)).toThrow(why);
  });

  it('never shows the password of a malformed URL', () => {
    try {
      spec('redis://user:hunter2@h:99999');
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
      expect((error as Error).message).toContain('redis://user:***@h:99999');
    }
  });

  it('takes the password from --password-file, trimming one trailing newline, over the URL', () => {
    const file = join(dir, 'pw');
    writeFileSync(file, 'from-file\n');
    expect(spec('redis://:from-url@h:1', { passwordFile: file }).password).toBe('from-file');
    const missing = join(dir, 'missing');
    expect(() => spec('redis://h:1', { passwordFile: missing })).toThrow(UsageError);
    expect(() => spec('redis://h:1', { passwordFile: missing })).toThrow(/cannot read --password-file .*ENOENT/);
    writeFileSync(join(dir, 'empty'), '\n');
    expect(() => spec('redis://h:1', { passwordFile: join(dir, 'empty') })).toThrow(/empty/);
  });

  it('reads the --tls-ca file', () => {
    const file = join(dir, 'ca.pem');
    writeFileSync(file, '-----BEGIN CERTIFICATE-----\n');
    expect(spec('rediss://h:1', { tlsCa: file }).tlsCa).toContain('BEGIN CERTIFICATE');
    expect(() => spec('rediss://h:1', { tlsCa: join(dir, 'nope') })).toThrow(UsageError);
  });
});

describe('toRedisError', () => {
  const s = { redacted: 'redis://:***@h:1', password: 'topsecret', timeoutMs: 1000 };
  it.each([
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), /cannot reach Redis at redis:\/\/:\*\*\*@h:1 \(connection refused\)/],
    [new Error('WRONGPASS invalid username-password pair or user is disabled.'), /authentication refused/],
    [new Error('NOAUTH Authentication required.'), /authentication required/],
    [new Error("NOPERM User ro has no permissions to run the 'set' command"), /permission denied .*'set'/],
    [new Error('Command timed out'), /did not answer within 1000 ms/],
    [new Error('ERR something odd with topsecret in redis://:topsecret@h:1'), /^Redis error at .*: ERR something odd with \*\*\* in redis:\/\/:\*\*\*@h:1$/],
  ])('maps %s', (error, message) => {
    const mapped = toRedisError(error, s);
    expect(mapped).toBeInstanceOf(RedisError);
    expect(mapped.exitCode).toBe(3);
    expect(mapped.message).toMatch(message);
    expect(`${mapped.message} ${mapped.hint}`).not.toContain('topsecret');
  });
});

describe('connect', () => {
  let silent: Server;
  let silentPort = 0;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    // Accepts TCP and never answers: the case a plain connect timeout does not cover.
    silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentPort = (silent.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('fails fast on a refused port', async () => {
    const port = await freePort();
    const started = Date.now();
    // "Fast": far sooner than a 20 s timeout, a margin no loaded machine nears.
    await expect(connect(spec(`redis://127.0.0.1:${port}`, { timeoutMs: 20_000 }))).rejects.toThrow(/connection refused/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('fails within the timeout when the server never answers', async () => {
    const started = Date.now();
    const error = await connect(spec(`redis://127.0.0.1:${silentPort}`)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisError);
    expect((error as Error).message).toMatch(/no answer within 1000 ms/);
    expect(Date.now() - started).toBeLessThan(1600);
  });

  it('fails fast on a cluster URL whose seeds refuse', async () => {
    const [a, b] = [await freePort(), await freePort()];
    await expect(connect(spec(`redis+cluster://127.0.0.1:${a},127.0.0.1:${b}`))).rejects.toThrow(/connection refused/);
  });

  it('says so when a cluster URL points at a single node', async () => {
    await expect(connect(spec(redisUrl().replace('redis://', 'redis+cluster://')))).rejects.toThrow(/not a cluster/);
  });

  it('gives one master, BullMQ options and duplicates on a single node', async () => {
    const handle = await connect(spec(redisUrl()));
    try {
      expect(handle.mode).toBe('standalone');
      expect(await handle.masters()).toEqual([handle.client]);
      const options = handle.bullmqConnection();
      expect(options).toMatchObject({ host: '127.0.0.1', port: Number(new URL(redisUrl()).port), maxRetriesPerRequest: null });
      const dup = handle.duplicate() as Redis;
      const key = uniqueName('conn');
      await dup.set(key, '1');
      expect(await handle.client.get(key)).toBe('1');
      await dup.del(key);
    } finally {
      await handle.close();
    }
    await expect(handle.client.ping()).rejects.toThrow();
  });

  it('gives every master of a cluster and a BullMQ-ready Cluster', async () => {
    const handle = await connect(spec(clusterUrl()));
    try {
      expect(handle.mode).toBe('cluster');
      const masters = await handle.masters();
      expect(masters).toHaveLength(3);
      expect(await Promise.all(masters.map((m) => m.ping()))).toEqual(['PONG', 'PONG', 'PONG']);
      const bull = handle.bullmqConnection();
      expect(bull).toBeInstanceOf(Cluster);
      expect((bull as Cluster).options.redisOptions?.maxRetriesPerRequest).toBeNull();
    } finally {
      const started = Date.now();
      await handle.close();
      expect(Date.now() - started).toBeLessThan(1500);
    }
  });

  it('turns a command on a closed connection into a rejected promise, not a crash', async () => {
    const handle = await connect(spec(redisUrl()));
    await handle.close();
    await expect(handle.client.ping()).rejects.toThrow();
  });
});

describe('isRedisFailure', () => {
  it('recognises ioredis and Redis errors, not ours or plain bugs', async () => {
    const { isRedisFailure } = await import('../src/redis/errors.js');
    const reply = Object.assign(new Error('CROSSSLOT Keys in request do not hash to the same slot'), { name: 'ReplyError' });
    expect(isRedisFailure(reply)).toBe(true);
    expect(isRedisFailure(new Error('Connection is closed.'))).toBe(true);
    expect(isRedisFailure(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRedisFailure(new TypeError('undefined is not a function'))).toBe(false);
    expect(isRedisFailure('text')).toBe(false);
  });
});

describe('--password-file against a server that needs none', () => {
  it('says so in one queuectl line, never ioredis\'s raw [WARN], and goes on', async () => {
    const { runCli } = await import('./helpers/cli.js');
    const pw = join(dir, 'unneeded-pw');
    writeFileSync(pw, 'not-needed\n');
    const prefix = uniqueName('nopw');
    await seedPrefix(prefix);
    const result = await runCli(['inspect', '--json', '--url', redisUrl(), '--password-file', pw, '--prefix', prefix]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/\[WARN\]/);
    const lines = result.stderr.split('\n').filter((l) => /does not require a password/.test(l));
    expect(lines).toEqual([expect.stringMatching(/^warning: redis:\/\/127\.0\.0\.1:\d+ does not require a password; .* — leave it out for this server$/)]);
    expect(() => JSON.parse(result.stdout)).not.toThrow();
  });
});
