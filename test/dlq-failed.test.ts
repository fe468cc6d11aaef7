import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { client, uniqueName } from './helpers/redis.js';
import { testContext } from './helpers/context.js';
import { deletePrefix, failJobs, runUntilCompleted, seedFailed, succeedingWorker, until } from './dlq-helpers.js';
import { run as list } from '../src/commands/dlq-list.js';
import { run as show } from '../src/commands/dlq-show.js';
import { run as retry } from '../src/commands/dlq-retry.js';
import { run as discard } from '../src/commands/dlq-discard.js';
import { run as stats } from '../src/commands/dlq-stats.js';
import { InterruptedError, UsageError } from '../src/errors.js';

const prefix = uniqueName('p');
const qa = uniqueName('qa');
const qb = uniqueName('qb');
const yaml = `version: 1
prefix: "${prefix}"
defaults: { attempts: 1, deadLetter: failed }
queues:
  ${qa}: { jobs: [a.work, a.other] }
  ${qb}: { jobs: [b.work] }
workers:
  w: { queues: [${qa}, ${qb}] }
`;
let redis: Redis;
const ctxFor = (extra: Parameters<typeof testContext>[0] = {}) => testContext({ yaml, ...extra });

beforeAll(async () => {
  redis = client();
  await failJobs(prefix, qa, [
    { name: 'a.work', id: 'a-1', data: { orgId: 'org-1' }, reason: 'timeout after 30s' },
    { name: 'a.work', id: 'a-2', data: { organizationId: 'org-2' }, reason: 'bad input' },
    { name: 'a.other', id: 'shared-9', data: {}, reason: 'timeout after 30s' },
  ]);
  await failJobs(prefix, qb, [{ name: 'b.work', id: 'shared-9', data: { orgId: 'org-1' }, reason: 'bad input' }]);
  // Make a-2 look two hours old: the failed score is finishedOn.
  const old = Date.now() - 2 * 3600_000;
  await redis.zadd(`${prefix}:${qa}:failed`, old, 'a-2');
  await redis.hset(`${prefix}:${qa}:a-2`, 'finishedOn', old);
});

afterAll(async () => {
  // Only this file's prefix: never flush a shared server.
  await deletePrefix(redis, prefix);
});

async function listRefs(flags: Record<string, unknown>): Promise<string[]> {
  const t = ctxFor({ json: true });
  expect(await list(flags, t.ctx)).toBe(0);
  await t.ctx.close();
  return t.json().items.map((i: { ref: string }) => i.ref);
}

describe('dlq list (failed sets)', () => {
  it('lists every declared queue newest first, in the contract JSON shape', async () => {
    const t = ctxFor({ json: true });
    expect(await list({}, t.ctx)).toBe(0);
    const doc = t.json();
    expect(doc.schema).toBe('queuectl/dlq-list@1');
    expect(doc.items).toHaveLength(4);
    expect(doc.items.at(-1).ref).toBe(`${qa}/a-2`);
    const times = doc.items.map((i: { failedAt: string }) => Date.parse(i.failedAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(Object.keys(doc.items[0]).slice(0, 7)).toEqual(['ref', 'queue', 'id', 'name', 'failedReason', 'attemptsMade', 'failedAt']);
    expect(doc.items.find((i: { ref: string }) => i.ref === `${qa}/a-1`)).toMatchObject({ queue: qa, id: 'a-1', name: 'a.work', failedReason: 'timeout after 30s', attemptsMade: 1 });
  });

  it('filters by queue, name, reason, since, older-than, org and limit', async () => {
    expect((await listRefs({ queue: [qb] })).sort()).toEqual([`${qb}/shared-9`]);
    expect((await listRefs({ name: ['a.work'] })).sort()).toEqual([`${qa}/a-1`, `${qa}/a-2`]);
    expect((await listRefs({ name: ['a.other,b.work'] })).sort()).toEqual([`${qa}/shared-9`, `${qb}/shared-9`]);
    expect((await listRefs({ matchReason: '^timeout' })).sort()).toEqual([`${qa}/a-1`, `${qa}/shared-9`]);
    expect((await listRefs({ since: '1h' })).length).toBe(3);
    expect(await listRefs({ olderThan: '1h' })).toEqual([`${qa}/a-2`]);
    expect((await listRefs({ org: 'org-1' })).sort()).toEqual([`${qa}/a-1`, `${qb}/shared-9`]);
    expect(await listRefs({ org: 'org-2' })).toEqual([`${qa}/a-2`]);
    expect(await listRefs({ limit: '2' })).toHaveLength(2);
  });

  it('prints a table on a terminal-less stdout without --json', async () => {
    const t = ctxFor();
    expect(await list({}, t.ctx)).toBe(0);
    expect(t.stdout()).toContain('ref');
    expect(t.stdout()).toContain(`${qa}/a-1`);
  });

  it('rejects a regex that does not compile, a bad duration and an undeclared --queue (exit 2)', async () => {
    await expect(list({ matchReason: '(' }, ctxFor().ctx)).rejects.toThrow(UsageError);
    await expect(list({ since: 'soon' }, ctxFor().ctx)).rejects.toThrow(/not a duration/);
    await expect(list({ queue: ['nope'] }, ctxFor().ctx)).rejects.toThrow(/not a declared queue/);
  });
});

describe('dlq show', () => {
  it('shows everything about one item, including the stack trace and payload', async () => {
    const t = ctxFor({ json: true });
    expect(await show({}, t.ctx, [`${qa}/a-1`])).toBe(0);
    const doc = t.json();
    expect(doc.item.ref).toBe(`${qa}/a-1`);
    expect(doc.job.stacktrace.join('\n')).toContain('timeout after 30s');
    expect(doc.job.data).toMatchObject({ orgId: 'org-1' });
    const text = ctxFor();
    await show({}, text.ctx, ['a-1']);
    expect(text.stdout()).toContain('stack trace:');
    expect(text.stdout()).toContain('"orgId": "org-1"');
  });

  it('refuses unknown and ambiguous references (exit 2) and lists the candidates', async () => {
    await expect(show({}, ctxFor().ctx, ['nope-1'])).rejects.toThrow(/unknown job reference "nope-1"/);
    const error = await show({}, ctxFor().ctx, ['shared-9']).catch((e) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(`${qa}/shared-9`);
    expect(error.message).toContain(`${qb}/shared-9`);
  });
});

describe('dlq stats', () => {
  it('counts per queue, the oldest item and the top reasons', async () => {
    const t = ctxFor({ json: true });
    expect(await stats({}, t.ctx)).toBe(0);
    const rows = t.json().queues;
    const a = rows.find((r: { queue: string }) => r.queue === qa);
    expect(a.count).toBe(3);
    expect(Date.parse(a.oldestAt)).toBeLessThan(Date.now() - 3600_000);
    expect(a.topReasons[0]).toEqual({ reason: 'timeout after 30s', count: 2 });
  });
});

describe('dlq retry and discard (failed sets)', () => {
  it('a declined confirmation exits 1 and changes nothing, as answering "n" to migrate', async () => {
    const t = ctxFor();
    const no = { interactive: true, yes: false, confirm: async () => false, confirmByTyping: async () => false, pick: async () => [], select: async () => undefined as never };
    const declined = { ...t.ctx, prompt: no };
    expect(await retry({}, declined, [`${qa}/a-1`])).toBe(1);
    expect(await discard({ reason: 'not now' }, declined, [`${qa}/a-1`])).toBe(1);
    expect(await redis.zscore(`${prefix}:${qa}:failed`, 'a-1')).not.toBeNull();
    await t.ctx.close();
  });

  it('needs --yes off a terminal, and --dry-run changes nothing', async () => {
    await expect(retry({}, ctxFor().ctx, [`${qa}/a-1`])).rejects.toMatchObject({ exitCode: 2, hint: 'rerun with --yes' });
    const t = ctxFor({ json: true });
    expect(await retry({ all: true, dryRun: true }, t.ctx)).toBe(0);
    expect(t.json()).toMatchObject({ schema: 'queuectl/dlq-retry@1', dryRun: true, planned: 4 });
    expect(await redis.zcard(`${prefix}:${qa}:failed`)).toBe(3);
  });

  it('retries into the same queue and id with attempts reset; twice makes one job; a real worker completes it', async () => {
    const t = ctxFor({ yes: true, json: true });
    expect(await retry({}, t.ctx, [`${qa}/a-1`])).toBe(0);
    expect(t.json()).toMatchObject({ retried: 1 });
    const hash = await redis.hgetall(`${prefix}:${qa}:a-1`);
    expect(hash.atm).toBeUndefined();
    expect(hash.failedReason).toBeUndefined();
    expect(await redis.lrange(`${prefix}:${qa}:wait`, 0, -1)).toEqual(['a-1']);
    // The second retry finds nothing to do and changes nothing.
    const again = ctxFor({ yes: true });
    expect(await retry({}, again.ctx, [`${qa}/a-1`])).toBe(0);
    expect(again.stderr()).toContain('not in the failed set');
    expect(await redis.lrange(`${prefix}:${qa}:wait`, 0, -1)).toEqual(['a-1']);
    expect(await runUntilCompleted(redis, prefix, qa, 'a-1')).toEqual(['a-1']);
  });

  it('discard needs --reason, removes the job and records who, why and when', async () => {
    await expect(discard({}, ctxFor({ yes: true }).ctx, [`${qb}/shared-9`])).rejects.toThrow(/--reason/);
    await expect(discard({ reason: 'x', matchReason: '[' }, ctxFor({ yes: true }).ctx, [])).rejects.toThrow(/--match-reason/);
    const t = ctxFor({ yes: true, json: true });
    expect(await discard({ reason: 'customer deleted the upload', all: true, queue: [qb], matchReason: 'bad' }, t.ctx)).toBe(0);
    expect(t.json()).toMatchObject({ discarded: 1 });
    expect(await redis.exists(`${prefix}:${qb}:shared-9`)).toBe(0);
    expect(await redis.zcard(`${prefix}:${qb}:failed`)).toBe(0);
    const [[, fields]] = await redis.xrange(`${prefix}:queuectl:dlq:discarded`, '-', '+');
    const entry = Object.fromEntries(fields.reduce<string[][]>((a, v, i) => (i % 2 ? a : [...a, [v, fields[i + 1]]]), []));
    expect(entry).toMatchObject({ ref: `${qb}/shared-9`, reason: 'customer deleted the upload' });
    expect(entry.by).toContain('@');
  });

  it('canary: a retried job no worker has picked up is "waiting", never "running"', async () => {
    const q = uniqueName('qw');
    const wyaml = yaml.replace(`  ${qb}: { jobs: [b.work] }`, `  ${qb}: { jobs: [b.work] }\n  ${q}: { jobs: [w.work] }`).replace(`[${qa}, ${qb}]`, `[${qa}, ${qb}, ${q}]`);
    await failJobs(prefix, q, [{ name: 'w.work', id: 'w-1', data: {} }]);
    const t = testContext({ yaml: wyaml, yes: true, json: true });
    expect(await retry({ all: true, queue: [q], canary: '1', canaryTimeout: '1s' }, t.ctx)).toBe(1);
    expect(t.json().canary).toMatchObject({ ok: false, timedOut: true, states: [expect.objectContaining({ id: 'w-1', state: 'waiting' })] });
    await t.ctx.close();
  });

  it('canary: retries n first, stops when one fails again', async () => {
    const q = uniqueName('qc');
    const cyaml = yaml.replace(`  ${qb}: { jobs: [b.work] }`, `  ${qb}: { jobs: [b.work] }\n  ${q}: { jobs: [c.work] }`).replace(`[${qa}, ${qb}]`, `[${qa}, ${qb}, ${q}]`);
    await failJobs(prefix, q, [1, 2, 3].map((n) => ({ name: 'c.work', id: `c-${n}`, data: {} })));
    // A worker that still fails: the canary fails again and the rest stay put.
    const { Worker } = await import('bullmq');
    const { bullConnection } = await import('./helpers/redis.js');
    const failing = new Worker(q, async () => {
      throw new Error('still broken');
    }, { connection: bullConnection(), prefix });
    const t = testContext({ yaml: cyaml, yes: true, json: true });
    expect(await retry({ all: true, queue: [q], canary: '1', canaryTimeout: '20s' }, t.ctx)).toBe(1);
    expect(t.json().canary).toMatchObject({ ok: false });
    expect(await redis.zcard(`${prefix}:${q}:failed`)).toBe(3);
    await failing.close();
    // A fixed worker: the canary completes, then the rest are retried and complete.
    const { worker, ran } = succeedingWorker(prefix, q);
    const ok = testContext({ yaml: cyaml, yes: true, json: true });
    expect(await retry({ all: true, queue: [q], canary: '1' }, ok.ctx)).toBe(0);
    expect(ok.json()).toMatchObject({ retried: 3, canary: { ok: true } });
    await until(async () => (await redis.zcard(`${prefix}:${q}:completed`)) === 3);
    await worker.close();
    expect([...ran].sort()).toEqual(['c-1', 'c-2', 'c-3']);
  });
});

describe('bulk retry interrupted and resumed', () => {
  it('never queues a job twice', async () => {
    const q = uniqueName('bulk');
    const byaml = `version: 1\nprefix: "${prefix}"\nqueues:\n  ${q}: { jobs: [work], attempts: 1, deadLetter: failed }\nworkers:\n  w: { queues: [${q}] }\n`;
    const ids = await seedFailed(redis, prefix, q, 3000);
    const abort = new AbortController();
    const first = testContext({ yaml: byaml, yes: true, signal: abort.signal });
    // 100 per batch at 1000/s; Ctrl-C once a random 1-1500 jobs are back in wait (observed, not
    // timed), so it lands between batches, part way through, however slow the machine.
    const threshold = 1 + Math.floor(Math.random() * 1500);
    const retrying = retry({ all: true, rate: '1000' }, first.ctx);
    let settled = false;
    void retrying.catch(() => undefined).finally(() => (settled = true));
    await until(async () => settled || (await redis.llen(`${prefix}:${q}:wait`)) >= threshold);
    abort.abort();
    await expect(retrying).rejects.toThrow(InterruptedError);
    const moved = await redis.llen(`${prefix}:${q}:wait`);
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(3000);
    expect(moved + (await redis.zcard(`${prefix}:${q}:failed`))).toBe(3000);
    const second = testContext({ yaml: byaml, yes: true, json: true });
    expect(await retry({ all: true }, second.ctx)).toBe(0);
    expect(second.json().retried).toBe(3000 - moved);
    const wait = await redis.lrange(`${prefix}:${q}:wait`, 0, -1);
    expect(wait).toHaveLength(3000);
    expect(new Set(wait).size).toBe(3000);
    expect(new Set(wait)).toEqual(new Set(ids));
    // Oldest first at the tail, where workers take from.
    expect(wait.at(-1)).toBe('job-0');
  });
});

describe('discard of an id in both the failed and the completed set (issue 13.11)', () => {
  it('removes only the stale failed entry and keeps the hash the completed job still uses', async () => {
    const q = uniqueName('both');
    const byaml = `version: 1\nprefix: "${prefix}"\nqueues:\n  ${q}: { jobs: [work], attempts: 1, deadLetter: failed }\nworkers:\n  w: { queues: [${q}] }\n`;
    await seedFailed(redis, prefix, q, 2);
    // job-0 ran again under its id and completed; its failed member was left behind.
    await redis.zadd(`${prefix}:${q}:completed`, Date.now(), 'job-0');
    await redis.hset(`${prefix}:${q}:job-0`, 'returnvalue', '"ok"');
    await redis.rpush(`${prefix}:${q}:job-0:logs`, 'kept');
    const t = testContext({ yaml: byaml, yes: true, json: true });
    expect(await discard({ all: true, reason: 'cleanup' }, t.ctx)).toBe(0);
    expect(t.json()).toMatchObject({ discarded: 2, failedEntryOnly: 1 });
    expect(await redis.zcard(`${prefix}:${q}:failed`)).toBe(0);
    expect(await redis.hget(`${prefix}:${q}:job-0`, 'returnvalue')).toBe('"ok"');
    expect(await redis.lrange(`${prefix}:${q}:job-0:logs`, 0, -1)).toEqual(['kept']);
    expect(await redis.zscore(`${prefix}:${q}:completed`, 'job-0')).not.toBeNull();
    // The job that was only failed is gone, as before.
    expect(await redis.exists(`${prefix}:${q}:job-1`)).toBe(0);
  });
});
