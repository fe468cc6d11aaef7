import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderDoctor, type DoctorDocument } from '../src/commands/doctor.js';
import { evaluateChecks, hasHashTag, median, type DoctorFacts } from '../src/doctor/checks.js';
import { queueOfMetaKey } from '../src/doctor/gather.js';
import { escapeGlob } from '../src/redis/scan.js';
import type { MasterFacts, ServerReport } from '../src/redis/health.js';
import { compareVersions, configValue, keyspaceKeys, parseInfo, slotsCovered } from '../src/redis/info.js';
import { runCli } from './helpers/cli.js';
import type { RedisProcess } from './setup/redis-process.js';
import { client, clusterUrl, freePort, redisUrl, startRedis, uniqueName } from './helpers/redis.js';
import { tempDir } from './helpers/temp.js';

// An empty working directory: no topology file is picked up, so the prefix is `bull` unless given.
const cwd = tempDir('doctor');
const doctor = (args: string[]) => runCli(['doctor', ...args], { cwd });
const doctorJson = async (args: string[]) => {
  const result = await doctor([...args, '--json']);
  return { ...result, doc: JSON.parse(result.stdout) as DoctorDocument };
};
const check = (doc: DoctorDocument, id: string) => doc.checks.find((c) => c.id === id);

describe('doctor on an unreachable Redis', () => {
  let silent: Server;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    silent = createServer((socket) => sockets.push(socket)); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('exits 3 at once on a closed port, with one line and no stack', async () => {
    const port = await freePort();
    // "At once": far sooner than a 20 s timeout, which a loaded machine's node start-up never nears.
    const result = await doctor(['--timeout', '20000', '--redis', `redis://127.0.0.1:${port}`]);
    expect(result.code).toBe(3);
    expect(result.ms).toBeLessThan(10_000);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`queuectl: cannot reach Redis at redis://127.0.0.1:${port} (connection refused) — is it running? check --redis or REDIS_URL\n`);
  });

  it('exits 3 within the timeout when the server accepts and never answers', async () => {
    const port = (silent.address() as { port: number }).port;
    const result = await doctor(['--timeout', '1000', '--redis', `redis://127.0.0.1:${port}`]);
    expect(result.code).toBe(3);
    // It waits the timeout, then gives up instead of hanging or retrying on and on. The margin over
    // 1 s is for starting node on a loaded machine (3-4 s seen with two suites on 2 cores).
    expect(result.ms).toBeGreaterThanOrEqual(1000);
    expect(result.ms).toBeLessThan(1000 + 8000);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^queuectl: cannot reach Redis at .* \(no answer within 1000 ms\)/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 3 on a cluster URL whose seeds refuse', async () => {
    const result = await doctor(['--timeout', '1000', '--redis', `redis+cluster://127.0.0.1:${await freePort()}`]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/connection refused/);
  });

  it('exits 2 on a malformed URL', async () => {
    const result = await doctor(['--redis', 'redis://127.0.0.1:notaport']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^queuectl: invalid Redis URL "redis:\/\/127.0.0.1:notaport": bad port/);
  });
});

describe('doctor on a live Redis', () => {
  const privateServers: RedisProcess[] = [];
  afterAll(async () => {
    await Promise.all(privateServers.map((s) => s.stop()));
  });
  const privateServer = async (args: string[]) => {
    const server = await startRedis(args);
    privateServers.push(server);
    return server;
  };

  it('passes on the test node (noeviction), with a table and a summary', async () => {
    const result = await doctor(['--redis', redisUrl()]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/eviction-policy\s+ok\s+noeviction/);
    expect(result.stdout).toMatch(/\d+ ok, \d+ warnings?, 0 failed/);
    expect(result.stdout).not.toMatch(/\x1b\[/); // NO_COLOR
    const { code, doc } = await doctorJson(['--redis', redisUrl()]);
    expect(code).toBe(0);
    expect(doc.schema).toBe('queuectl/doctor@1');
    expect(doc.redis).toBe(redisUrl());
    expect(doc.checks.map((c) => c.id)).toEqual([
      'connectivity', 'latency', 'redis-version', 'eviction-policy', 'persistence', 'memory', 'masters', 'prefix', 'bullmq-versions', 'client-list',
    ]);
    expect(check(doc, 'persistence')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/jobs vanish on restart/) });
    expect(check(doc, 'memory')?.detail).toMatch(/maxmemory 0/);
  });

  it('fails (exit 1) on allkeys-lru and names the fix', async () => {
    const server = await privateServer(['--maxmemory-policy', 'allkeys-lru']);
    const { code, doc } = await doctorJson(['--redis', server.url]);
    expect(code).toBe(1);
    expect(check(doc, 'eviction-policy')).toMatchObject({ status: 'fail', detail: expect.stringContaining('CONFIG SET maxmemory-policy noeviction') });
    const table = await doctor(['--redis', server.url]);
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/eviction-policy\s+FAIL/);
  });

  it('passes persistence with AOF on', async () => {
    const server = await privateServer(['--appendonly', 'yes']);
    const { doc } = await doctorJson(['--redis', server.url]);
    expect(check(doc, 'persistence')).toEqual({ id: 'persistence', status: 'ok', detail: 'AOF' });
  });

  it('reports the BullMQ versions found in meta keys and warns when mixed', async () => {
    const prefix = uniqueName('pfx');
    const c = client();
    await c.hset(`${prefix}:a:meta`, 'version', 'bullmq:6.7.0', 'opts.maxLenEvents', '10000');
    await c.hset(`${prefix}:b:meta`, 'version', 'bullmq:6.7.0');
    await c.hset(`${prefix}:old:meta`, 'version', 'bullmq:5.1.0');
    await c.hset(`${prefix}:a:x:meta`, 'version', 'not-a-queue'); // three parts: not a queue's meta
    let { doc } = await doctorJson(['--redis', redisUrl(), '--prefix', prefix]);
    expect(check(doc, 'bullmq-versions')).toEqual({
      id: 'bullmq-versions',
      status: 'warn',
      detail: 'mixed: bullmq:6.7.0 (2 queues: a, b); bullmq:5.1.0 (1 queue: old): upgrade the older producers and workers',
    });
    await c.del(`${prefix}:old:meta`);
    ({ doc } = await doctorJson(['--redis', redisUrl(), '--prefix', prefix]));
    expect(check(doc, 'bullmq-versions')).toMatchObject({ status: 'ok', detail: 'bullmq:6.7.0 (2 queues: a, b)' });
    await c.del(`${prefix}:a:meta`, `${prefix}:b:meta`, `${prefix}:a:x:meta`);
  });

  it('checks cluster state, 3 masters, 16384 slots and the hash tag', async () => {
    const { code, doc } = await doctorJson(['--redis', clusterUrl()]);
    expect(code).toBe(0);
    expect(check(doc, 'cluster-state')).toMatchObject({ status: 'ok', detail: 'cluster_state:ok on 3 masters' });
    expect(check(doc, 'masters')).toMatchObject({ status: 'ok', detail: '3 masters' });
    expect(check(doc, 'cluster-slots')).toMatchObject({ status: 'ok', detail: '16384 of 16384 slots covered' });
    expect(check(doc, 'prefix')?.status).toBe('warn');
    const tagged = await doctorJson(['--redis', clusterUrl(), '--prefix', '{bull}']);
    expect(check(tagged.doc, 'prefix')?.status).toBe('ok');
  });

  it('runs under a read-only ACL user and writes nothing', async () => {
    const server = await privateServer([]);
    const admin = new Redis(server.port, '127.0.0.1');
    try {
      await admin.call('ACL', 'SETUSER', 'ro', 'on', '>pw', '~*', '&*', '-@all', '+@read', '+ping', '+info', '+client|list', '+scan', '+config|get', '+cluster|info', '+cluster|slots');
      // A narrower user: no CONFIG, no CLIENT LIST (as on some hosted Redis).
      await admin.call('ACL', 'SETUSER', 'narrow', 'on', '>pw', '~*', '-@all', '+@read', '+ping', '+info', '+scan');
      await admin.hset('bull:q1:meta', 'version', 'bullmq:6.7.0');
      const before = await admin.dbsize();
      const ro = await doctorJson(['--redis', `redis://ro:pw@127.0.0.1:${server.port}`]);
      expect(ro.code).toBe(0);
      expect(ro.doc.redis).toBe(`redis://ro:***@127.0.0.1:${server.port}`);
      expect(ro.doc.checks.filter((c) => c.status === 'fail')).toEqual([]);
      expect(check(ro.doc, 'client-list')?.status).toBe('ok');
      expect(check(ro.doc, 'bullmq-versions')?.detail).toBe('bullmq:6.7.0 (1 queue: q1)');

      const narrow = await doctorJson(['--redis', `redis://narrow:pw@127.0.0.1:${server.port}`]);
      expect(narrow.code).toBe(0);
      expect(check(narrow.doc, 'eviction-policy')).toMatchObject({ status: 'ok', detail: 'noeviction' }); // from INFO memory
      expect(check(narrow.doc, 'client-list')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/workers cannot be shown/) });
      expect(check(narrow.doc, 'persistence')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/unknown/) });
      expect(await admin.dbsize()).toBe(before);
    } finally {
      admin.disconnect();
    }
  });
});

describe('doctor checks (pure)', () => {
  const master = (over: Partial<MasterFacts> = {}): MasterFacts => ({
    address: '10.0.0.1:7000', version: '7.2.4', usedMemory: 1000, maxMemory: 0, aofEnabled: true, connectedClients: 3, keys: 10,
    evictionPolicy: 'noeviction', policySource: 'config', rdbSave: '', ...over,
  });
  const facts = (over: Partial<DoctorFacts> = {}, report: Partial<ServerReport> = {}): DoctorFacts => ({
    redacted: 'redis://h:1', pingsMs: [1, 2, 3, 4, 100], prefix: 'bull', clientList: { clients: 3 },
    bullmq: { versions: new Map(), truncated: false },
    report: { mode: 'standalone', masters: [master()], ...report },
    ...over,
  });
  const get = (f: DoctorFacts, id: string) => evaluateChecks(f).find((c) => c.id === id);

  it('grades the Redis version', () => {
    expect(get(facts({}, { masters: [master({ version: '4.0.14' })] }), 'redis-version')?.status).toBe('fail');
    expect(get(facts({}, { masters: [master({ version: '6.0.9' })] }), 'redis-version')?.status).toBe('warn');
    expect(get(facts({}, { masters: [master({ version: '6.2.0' })] }), 'redis-version')?.status).toBe('ok');
    expect(get(facts({}, { masters: [master({ version: '7.0.0' }), master({ version: '6.0.1' })] }), 'redis-version')).toMatchObject({ status: 'warn', detail: expect.stringContaining('6.0.1, 7.0.0 (mixed)') });
  });

  it('grades memory headroom', () => {
    const at = (used: number) => get(facts({}, { masters: [master({ usedMemory: used, maxMemory: 100 })] }), 'memory');
    expect(at(80)?.status).toBe('ok');
    expect(at(81)?.status).toBe('warn');
    expect(at(96)).toMatchObject({ status: 'fail', detail: expect.stringContaining('(96%)') });
  });

  it('grades persistence, latency, slots and masters', () => {
    expect(get(facts({}, { masters: [master({ aofEnabled: false, rdbSave: '3600 1' })] }), 'persistence')).toEqual({ id: 'persistence', status: 'ok', detail: 'RDB' });
    expect(get(facts({}, { masters: [master({ aofEnabled: false, rdbSave: undefined })] }), 'persistence')?.status).toBe('warn');
    expect(get(facts(), 'latency')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/median 3\.00 ms over 5 \(max 100\.00 ms\)/) });
    expect(get(facts({ pingsMs: [60, 70, 80] }), 'latency')?.status).toBe('warn');
    const cluster = (covered: number, state = 'ok') =>
      facts({}, { mode: 'cluster', masters: [master({ clusterState: state }), master({ address: 'b:1', clusterState: state })], cluster: { slotsCovered: covered, slotMasters: ['a:1', 'b:1', 'c:1'] } });
    expect(get(cluster(16000), 'cluster-slots')).toMatchObject({ status: 'fail', detail: expect.stringContaining('16000 of 16384') });
    expect(get(cluster(16384, 'fail'), 'cluster-state')?.status).toBe('fail');
    expect(get(cluster(16384), 'masters')).toMatchObject({ status: 'warn', detail: '2 masters reachable, CLUSTER SLOTS names 3' });
    expect(get(facts({ clientList: { refused: 'NOPERM' } }), 'client-list')?.status).toBe('warn');
  });

  it('finds hash tags the way Redis does', () => {
    expect(hasHashTag('{bull}')).toBe(true);
    expect(hasHashTag('app:{q}')).toBe(true);
    expect(hasHashTag('bull')).toBe(false);
    expect(hasHashTag('{}bull')).toBe(false);
    expect(hasHashTag('bull{')).toBe(false);
  });

  it('parses INFO, CONFIG GET and CLUSTER SLOTS', () => {
    const info = parseInfo('# Server\r\nredis_version:7.0.15\r\n\r\n# Keyspace\r\ndb0:keys=5,expires=0,avg_ttl=0\r\ndb3:keys=2,expires=1,avg_ttl=9\r\n');
    expect(info.redis_version).toBe('7.0.15');
    expect(keyspaceKeys(info)).toBe(7);
    expect(configValue(['maxmemory-policy', 'allkeys-lru'], 'maxmemory-policy')).toBe('allkeys-lru');
    expect(configValue([], 'save')).toBeUndefined();
    expect(slotsCovered([[0, 5460, ['a', 1]], [5461, 10922, ['b', 2]], [10923, 16383, ['c', 3]]])).toBe(16384);
    expect(slotsCovered([[0, 99, ['a', 1]], [50, 149, ['b', 2]]])).toBe(150); // overlaps count once
    expect(compareVersions('6.10.0', '6.2')).toBeGreaterThan(0);
    expect(median([5, 1, 3, 2])).toBe(2.5);
  });

  it('matches only queue meta keys, with glob characters in the prefix taken literally', () => {
    expect(queueOfMetaKey('bull:q1:meta', 'bull')).toBe('q1');
    expect(queueOfMetaKey('bull:q1:7:meta', 'bull')).toBeUndefined();
    expect(queueOfMetaKey('bull::meta', 'bull')).toBeUndefined();
    expect(escapeGlob('a*b?[c]\\')).toBe('a\\*b\\?\\[c\\]\\\\');
  });

  it('renders without colour codes when colour is off', () => {
    const text = renderDoctor('redis://h:1', [{ id: 'x', status: 'fail', detail: 'broken' }], false);
    expect(text).toMatch(/x\s+FAIL\s+broken/);
    expect(text).toMatch(/0 ok, 0 warnings, 1 failed$/);
    expect(text).not.toMatch(/\x1b\[/);
  });
});
