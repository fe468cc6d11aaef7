import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { run as check } from '../src/commands/topology-check.js';
import { run as inspect } from '../src/commands/inspect.js';
import { run as doctor } from '../src/commands/doctor.js';
import { run as migrate } from '../src/commands/migrate.js';
import { RedisError } from '../src/errors.js';
import type { Context } from '../src/context.js';
import { bullConnection, client, startRedis, uniqueName } from './helpers/redis.js';
import { ocrProcYaml, testContext } from './helpers/context.js';
import { until } from './helpers/wait.js';

/**
 * A read-only ACL user on a private server: if any of these commands wrote (or ran EVALSHA, or
 * KEYS), Redis would refuse it and the command would fail with exit 3.
 */
const READ_ONLY_ACL = ['on', '>pw', '~*', '&*', '-@all', '+@read', '+ping', '+info', '+client|list', '+scan', '+config|get', '+cluster|info', '+cluster|slots', '+select'];

let server: Awaited<ReturnType<typeof startRedis>>;
let admin: Redis;
let roUrl: string;
const prefix = uniqueName('p');
const opened: { close(): Promise<unknown> }[] = [];
let worker: Worker;

const yaml = ocrProcYaml(prefix);

beforeAll(async () => {
  server = await startRedis();
  admin = client(server.url);
  const connection = bullConnection(server.url);
  const q = (name: string) => {
    const queue = new Queue(name, { connection, prefix });
    opened.push(queue);
    return queue;
  };
  // Something for every reader: waiting, delayed and prioritized jobs, a misrouted job, a legacy
  // queue with jobs, and a worker on an undeclared queue (CLIENT LIST).
  await q('ocr').addBulk([
    { name: 'ocr.process', data: {} },
    { name: 'smartupload.process', data: {}, opts: { jobId: 'misrouted-1' } },
    { name: 'ocr.process', data: {}, opts: { delay: 60_000 } },
  ]);
  await q('proc').add('smartupload.process', {}, { priority: 3 });
  await q('shared').add('ocr.process', {});
  worker = new Worker('ghost', async () => undefined, { connection, prefix, name: 'ghost-worker' });
  opened.push(worker);
  await worker.waitUntilReady();
  await admin.call('ACL', 'SETUSER', 'ro', ...READ_ONLY_ACL);
  roUrl = server.url.replace('redis://', 'redis://ro:pw@');
});

afterAll(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close().catch(() => undefined)));
  await server?.stop();
});

async function asReadOnly(command: (ctx: Context) => Promise<number>, json = true) {
  const t = testContext({ yaml, json, redis: roUrl });
  try {
    const code = await command(t.ctx);
    return { code, stdout: t.stdout(), stderr: t.stderr() };
  } finally {
    await t.ctx.close();
  }
}

describe('read-only ACL user', () => {
  it('runs topology check (sampled and --deep) and is refused nothing', async () => {
    // The worker's blocking connection names itself just after ready.
    await until(async () => String(await admin.call('CLIENT', 'LIST')).includes(':w:ghost-worker'), 'the worker to name its connection', 30_000, 100);
    // The user really cannot write or run BullMQ's Lua. (KEYS is in @read, so commandstats below is what proves it is never sent.)
    const ro = client(roUrl);
    await expect(ro.set(`${prefix}:x`, '1')).rejects.toThrow(/NOPERM/);
    await expect(ro.call('EVALSHA', 'a'.repeat(40), '0')).rejects.toThrow(/NOPERM/);
    await ro.quit();
    await admin.call('ACL', 'LOG', 'RESET');
    for (const deep of [false, true]) {
      const result = await asReadOnly((ctx) => check({ deep, sample: '50' }, ctx));
      expect(result.stderr).toBe('');
      expect(result.code).toBe(1);
      const rules = JSON.parse(result.stdout).findings.map((f: { rule: string; queue?: string }) => `${f.rule}:${f.queue}`);
      // The worker writes the queue's meta, so the undeclared queue exists as well as its worker.
      expect(rules).toEqual(['legacy-has-jobs:shared', 'job-misrouted:ocr', 'queue-undeclared:ghost', 'worker-undeclared-queue:ghost']);
    }
    // Nothing was refused quietly either (a refused CONFIG GET is tolerated, but would be logged here).
    expect(await admin.call('ACL', 'LOG')).toEqual([]);
  });

  it('runs inspect and doctor', async () => {
    const table = await asReadOnly((ctx) => inspect({ all: true }, ctx, []), false);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('ghost');
    const doc = await asReadOnly((ctx) => inspect({ all: true }, ctx, []));
    expect(doc.code).toBe(0);
    expect(JSON.parse(doc.stdout).queues.map((q: { name: string }) => q.name)).toEqual(expect.arrayContaining(['ocr', 'proc', 'shared']));
    const health = await asReadOnly((ctx) => doctor({}, ctx));
    // A private test server has no persistence, so doctor may fail a check (exit 1), but never on permissions (exit 3).
    expect([0, 1]).toContain(health.code);
    expect(health.stdout + health.stderr).not.toMatch(/NOPERM|permission/i);
  });

  it('sends only non-writing commands, and never KEYS', async () => {
    // Stop the only other client that talks to this server, so the stats are the check's alone.
    await Promise.all(opened.splice(0).map((o) => o.close().catch(() => undefined)));
    await admin.config('RESETSTAT');
    const result = await asReadOnly((ctx) => check({ deep: true, sample: '50' }, ctx));
    expect(result.code).toBe(1);
    const stats = (await admin.info('commandstats')).split(/\r?\n/).filter((l) => l.startsWith('cmdstat_'));
    const commands = stats.map((l) => l.slice('cmdstat_'.length, l.indexOf(':')));
    expect(commands).not.toContain('keys');
    if (process.env.SHOW_COMMANDS) console.log(commands.join(' '));
    expect(commands).toEqual(expect.arrayContaining(['scan', 'hget', 'lrange']));
    for (const name of commands) {
      const [info] = (await admin.call('COMMAND', 'INFO', name)) as [unknown[] | null];
      const flags = (info?.[2] ?? []) as string[];
      expect({ name, write: flags.includes('write') }).toEqual({ name, write: false });
    }
  });

  it('migrate --dry-run says it needs script permission (exit 3, one clear line), and changes nothing', async () => {
    const t = testContext({ yaml, json: true, redis: roUrl });
    try {
      const refused = migrate({ from: 'shared', dryRun: true }, t.ctx);
      await expect(refused).rejects.toThrow(RedisError);
      await expect(refused).rejects.toThrow(/migrate --dry-run classifies jobs with its move script.*may not run scripts/);
      await expect(refused).rejects.toMatchObject({ exitCode: 3, hint: expect.stringContaining('+evalsha +eval') });
      expect(t.stdout()).toBe('');
    } finally {
      await t.ctx.close();
    }
    expect(await admin.llen(`${prefix}:shared:wait`)).toBe(1);
  });
});
