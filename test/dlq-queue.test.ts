import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { bullConnection, client, uniqueName } from './helpers/redis.js';
import { testContext } from './helpers/context.js';
import { deletePrefix, runUntilCompleted, until } from './dlq-helpers.js';
import { run as list } from '../src/commands/dlq-list.js';
import { run as show } from '../src/commands/dlq-show.js';
import { run as retry } from '../src/commands/dlq-retry.js';
import { run as discard } from '../src/commands/dlq-discard.js';
import { run as stats } from '../src/commands/dlq-stats.js';
import { UsageError } from '../src/errors.js';

// Style (b): a worker writes each job's last failure into a dedicated dead-letter queue.
const prefix = uniqueName('p');
const q = uniqueName('q');
const dlqName = uniqueName('dlq');
const yaml = `version: 1
prefix: "${prefix}"
queues:
  ${q}: { jobs: [work], attempts: 2, backoff: { type: fixed, delay: 10 }, deadLetter: { queue: ${dlqName} } }
  ${dlqName}: { jobs: [dead], attempts: 1, dedup: none, deadLetter: failed }
workers:
  w: { queues: [${q}] }
`;
const connection = bullConnection();
let redis: Redis;
let dlq: Queue;
const ctxFor = (extra: Parameters<typeof testContext>[0] = {}) => testContext({ yaml, ...extra });

/** Runs a worker that fails the given jobs for good, writing each to the dead-letter queue. */
async function deadLetter(jobs: { id: string; data: Record<string, unknown>; keepFailed?: boolean }[]): Promise<void> {
  const queue = new Queue(q, { connection, prefix });
  const worker = new Worker(q, async (job: Job) => {
    throw new Error(`cannot process ${job.id}`);
  }, { connection, prefix });
  worker.on('failed', (job, error) => {
    if (!job || job.attemptsMade < (job.opts.attempts ?? 1)) return;
    void dlq.add(job.name, {
      originalQueue: q, originalJobId: job.id, jobData: job.data,
      error: { name: error.name, message: error.message, stack: error.stack }, attempts: job.attemptsMade, failedAt: Date.now(), orgId: job.data.orgId,
    });
  });
  try {
    for (const job of jobs) await queue.add('work', job.data, { jobId: job.id, attempts: 2, backoff: { type: 'fixed', delay: 10 }, removeOnFail: !job.keepFailed });
    await until(async () => (await dlq.getWaitingCount()) >= jobs.length + before);
  } finally {
    await worker.close();
    await queue.close();
  }
}
let before = 0;

beforeAll(async () => {
  redis = client();
  dlq = new Queue(dlqName, { connection, prefix });
  await deadLetter([{ id: 'up-1', data: { orgId: 'org-1', file: 'a.pdf' } }, { id: 'up-2', data: { orgId: 'org-2' } }]);
});

afterAll(async () => {
  await dlq.close();
  await deletePrefix(redis, prefix);
});

async function items(flags: Record<string, unknown> = {}) {
  const t = ctxFor({ json: true });
  await list(flags, t.ctx);
  return t.json().items as { ref: string; queue: string; id: string; failedReason: string; status: string }[];
}

describe('dlq over a dead-letter queue', () => {
  it('lists items as the jobs they carry, with filters on their payload', async () => {
    const all = await items();
    expect(all.map((i) => i.id).sort()).toEqual(['up-1', 'up-2']);
    expect(all[0]).toMatchObject({ queue: q, failedReason: expect.stringContaining('cannot process') });
    expect(all[0].ref.startsWith(`${dlqName}/`)).toBe(true);
    expect((await items({ org: 'org-2' })).map((i) => i.id)).toEqual(['up-2']);
    expect((await items({ matchReason: 'up-1$' })).map((i) => i.id)).toEqual(['up-1']);
    expect((await items({ queue: [q] })).length).toBe(2);
    expect((await items({ since: '1h' })).length).toBe(2);
    expect((await items({ olderThan: '1h' })).length).toBe(0);
  });

  it('shows an item by the job it carries, with the stack trace and the payload', async () => {
    const t = ctxFor();
    expect(await show({}, t.ctx, [`${q}/up-1`])).toBe(0);
    expect(t.stdout()).toContain('cannot process up-1');
    expect(t.stdout()).toMatch(/stack trace:\n\s+Error: cannot process up-1/);
    expect(t.stdout()).toContain('"file": "a.pdf"');
  });

  it('retries into the original queue under the original id, marks the item, never twice; a worker completes it', async () => {
    const t = ctxFor({ yes: true, json: true });
    expect(await retry({}, t.ctx, [`${q}/up-1`])).toBe(0);
    expect(t.json()).toMatchObject({ retried: 1 });
    const job = await redis.hgetall(`${prefix}:${q}:up-1`);
    expect(JSON.parse(job.data)).toEqual({ orgId: 'org-1', file: 'a.pdf' });
    expect(JSON.parse(job.opts)).toMatchObject({ attempts: 2, backoff: { type: 'fixed', delay: 10 } });
    const ref = (await items({ statuses: undefined })).find((i) => i.id === 'up-2')!.ref;
    expect(ref).toBeDefined();
    // The retried item is marked, not deleted, and no longer listed.
    expect((await items()).map((i) => i.id)).toEqual(['up-2']);
    const shown = ctxFor({ json: true });
    await show({}, shown.ctx, [`${q}/up-1`]);
    expect(shown.json().marks).toMatchObject({ status: 'retried', by: expect.stringContaining('@') });
    // Again: refused as already retried, nothing added.
    const again = ctxFor({ yes: true, json: true });
    expect(await retry({}, again.ctx, [`${q}/up-1`])).toBe(0);
    expect(again.json()).toMatchObject({ retried: 0, refused: [{ reason: 'already retried' }] });
    expect(await redis.lrange(`${prefix}:${q}:wait`, 0, -1)).toEqual(['up-1']);
    expect(await runUntilCompleted(redis, prefix, q, 'up-1')).toEqual(['up-1']);
  });

  it('a crash between re-adding and marking is finished by the rerun without a second job', async () => {
    const ref = (await items()).find((i) => i.id === 'up-2')!.ref;
    const t = ctxFor({ yes: true });
    expect(await retry({}, t.ctx, [ref])).toBe(0);
    // Simulate the crash: the mark never happened, and the re-added job already ran and was removed.
    await redis.hdel(`${prefix}:${ref.replace('/', ':')}`, 'queuectl.status', 'queuectl.at', 'queuectl.by');
    await redis.del(`${prefix}:${q}:up-2`);
    await redis.lrem(`${prefix}:${q}:wait`, 0, 'up-2');
    const rerun = ctxFor({ yes: true, json: true });
    expect(await retry({ all: true }, rerun.ctx)).toBe(0);
    expect(rerun.json()).toMatchObject({ retried: 0, skipped: [{ reason: 'retried before (completing its mark)', count: 1 }] });
    expect(await redis.exists(`${prefix}:${q}:up-2`)).toBe(0);
    expect(await items()).toEqual([]);
  });

  it('puts back a failed copy the worker left in the queue, and refuses an undeclared queue', async () => {
    before = await dlq.getWaitingCount();
    await deadLetter([{ id: 'up-3', data: { orgId: 'org-3' }, keepFailed: true }]);
    expect(await redis.zscore(`${prefix}:${q}:failed`, 'up-3')).not.toBeNull();
    const t = ctxFor({ yes: true, json: true });
    expect(await retry({}, t.ctx, [`${q}/up-3`])).toBe(0);
    expect(t.json().retried).toBe(1);
    expect(await redis.zscore(`${prefix}:${q}:failed`, 'up-3')).toBeNull();
    expect(await redis.hget(`${prefix}:${q}:up-3`, 'atm')).toBeNull();
    expect(await redis.lrange(`${prefix}:${q}:wait`, 0, -1)).toContain('up-3');

    const ghost = await dlq.add('dead', { originalQueue: 'ghost-queue', originalJobId: 'g-1', jobData: {}, error: { message: 'x' }, attempts: 1, failedAt: Date.now() });
    await expect(retry({}, ctxFor({ yes: true }).ctx, [`${dlqName}/${ghost.id}`])).rejects.toThrow(/not a declared queue/);
    const all = ctxFor({ yes: true, json: true });
    expect(await retry({ all: true }, all.ctx)).toBe(1);
    expect(all.json().refused[0]).toMatchObject({ ref: `${dlqName}/${ghost.id}` });
    expect(await redis.exists(`${prefix}:ghost-queue:g-1`)).toBe(0);
  });

  it('discard marks the item discarded with the reason; stats count pending items per original queue', async () => {
    const ref = `${dlqName}/${(await items())[0].ref.split('/')[1]}`;
    const s = ctxFor({ json: true });
    await stats({}, s.ctx);
    expect(s.json().queues.find((r: { queue: string }) => r.queue === 'ghost-queue')).toMatchObject({ count: 1, holder: dlqName });
    const t = ctxFor({ yes: true, json: true });
    expect(await discard({ reason: 'queue retired' }, t.ctx, [ref])).toBe(0);
    expect(t.json().discarded).toBe(1);
    expect(await redis.hget(`${prefix}:${ref.replace('/', ':')}`, 'queuectl.reason')).toBe('queue retired');
    expect(await items()).toEqual([]);
    await expect(show({}, ctxFor().ctx, ['no-such'])).rejects.toThrow(UsageError);
  });
});
