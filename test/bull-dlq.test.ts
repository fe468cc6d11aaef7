import { Queue, Worker } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { bullConnection, client, redisUrl, uniqueName } from './helpers/redis.js';
import { runCli } from './helpers/cli.js';
import { until } from './helpers/wait.js';
import { bullQueue, topologyFile } from './bull-fixture.js';

// dlq on a Bull queue's failed set (issue 20): list and show read Bull's failed jobs (its
// attemptsMade field); retry moves them into the BullMQ queue owning their name with the Bull
// move's own script (translated, attempts reset), where a real BullMQ worker runs each once.

describe('dlq on a Bull legacy queue', () => {
  it('lists and shows its failed jobs and retries them into the BullMQ queue owning their name, translated, each run once', async () => {
    const prefix = uniqueName('bd');
    const bull = bullQueue('old-mail', prefix);
    void bull.process('*', 1, async () => {
      throw new Error('smtp refused');
    });
    await bull.add('mail.send', { to: 'c' }, { attempts: 2, backoff: 5 });
    await until(async () => (await bull.getJobCounts()).failed === 1, 'the Bull job to fail twice');
    await bull.close();
    const file = topologyFile(prefix, 'old-mail: { kind: bull }');
    const cli = (...args: string[]) => runCli([...args, '-c', file, '--redis', redisUrl()]);

    const list = await cli('dlq', 'list', '--queue', 'old-mail', '--json');
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(list.stdout))).toMatch(/"ref":"old-mail\/1".*"failedReason":"smtp refused","attemptsMade":2/);
    const show = await cli('dlq', 'show', 'old-mail/1');
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('smtp refused');

    // Retry lands it, translated as migrate translates it, as a waiting job of the BullMQ queue
    // owning its name, out of Bull's failed set in the same script, with attempts reset.
    const dry = await cli('dlq', 'retry', 'old-mail/1', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('mail (from legacy old-mail)');
    const redis = client();
    expect(await redis.zcard(`${prefix}:old-mail:failed`)).toBe(1);
    expect(await redis.exists(`${prefix}:mail:1`)).toBe(0);
    const retry = await cli('dlq', 'retry', 'old-mail/1', '--yes', '--json');
    expect(retry.code, retry.stderr).toBe(0);
    expect(JSON.parse(retry.stdout)).toMatchObject({ planned: 1, retried: 1, perQueue: { mail: 1 } });
    expect(await redis.zcard(`${prefix}:old-mail:failed`)).toBe(0);
    expect(await redis.exists(`${prefix}:old-mail:1`)).toBe(0);
    const hash = await redis.hgetall(`${prefix}:mail:1`);
    expect(hash.attemptsMade).toBeUndefined();
    expect(hash.failedReason).toBeUndefined();
    expect(hash.atm).toBeUndefined();
    expect(JSON.parse(hash.opts)).toMatchObject({ attempts: 2, backoff: { type: 'fixed', delay: 5 } });
    const q = new Queue('mail', { connection: bullConnection(), prefix });
    expect(await q.getJobState('1')).toBe('waiting');
    // A second retry of the same ref finds nothing to do: never twice.
    const again = await cli('dlq', 'retry', 'old-mail/1', '--yes');
    expect(again.code).not.toBe(0);
    expect(await redis.exists(`${prefix}:mail:1`)).toBe(1);
    const ran: { id: string; to: string; atm: number }[] = [];
    const worker = new Worker('mail', async (job) => void ran.push({ id: String(job.id), to: job.data.to, atm: job.attemptsMade }), { connection: bullConnection(), prefix });
    try {
      await until(() => ran.length >= 1, 'the BullMQ worker to run the retried job');
      await until(async () => (await q.getJobState('1')) === 'completed', 'the retried job to complete');
    } finally {
      await worker.close();
      await q.close();
    }
    expect(ran).toEqual([{ id: '1', to: 'c', atm: 0 }]);
    redis.disconnect();
  });

  it('retries --all of a detected Bull queue: prioritized stays prioritized, an unowned name is refused, each runs once', async () => {
    const prefix = uniqueName('bd');
    const bull = bullQueue('old-mail', prefix);
    void bull.process('*', 1, async () => {
      throw new Error('down');
    });
    await bull.add('mail.send', { to: 'p' }, { priority: 3 });
    await bull.add('mail.digest', { to: 'd' });
    await bull.add('billing.charge', { to: 'x' });
    await until(async () => (await bull.getJobCounts()).failed === 3, 'the three Bull jobs to fail');
    await bull.close();
    // No kind: the failed jobs' opts tell it is Bull's.
    const file = topologyFile(prefix, 'old-mail: {}');
    const cli = (...args: string[]) => runCli([...args, '-c', file, '--redis', redisUrl()]);
    const run = await cli('dlq', 'retry', '--all', '--queue', 'old-mail', '--yes', '--json');
    expect(run.code).toBe(1); // billing.charge has no owner: refused, left in Bull's failed set
    const doc = JSON.parse(run.stdout);
    expect(doc).toMatchObject({ planned: 2, retried: 2, perQueue: { mail: 2 } });
    expect(doc.refused).toEqual([expect.objectContaining({ ref: 'old-mail/3', reason: expect.stringContaining('no declared queue owns the job name "billing.charge"') })]);
    const redis = client();
    expect(await redis.zrange(`${prefix}:old-mail:failed`, 0, -1)).toEqual(['3']);
    const q = new Queue('mail', { connection: bullConnection(), prefix });
    expect(await q.getJobState('1')).toBe('prioritized');
    expect(await q.getJobState('2')).toBe('waiting');
    const ran: string[] = [];
    const worker = new Worker('mail', async (job) => void ran.push(`${job.id}:${job.data.to}:${job.attemptsMade}`), { connection: bullConnection(), prefix });
    try {
      await until(async () => (await q.getJobCounts('completed')).completed === 2, 'both retried jobs to complete');
    } finally {
      await worker.close();
      await q.close();
    }
    expect(ran.sort()).toEqual(['1:p:0', '2:d:0']);
    redis.disconnect();
  });

  it('refuses a retry whose target key is of the wrong type before any write, in the dry run and the run', async () => {
    const prefix = uniqueName('bd');
    const bull = bullQueue('old-mail', prefix);
    void bull.process('*', 1, async () => {
      throw new Error('down');
    });
    await bull.add('mail.send', { to: 'a' });
    await until(async () => (await bull.getJobCounts()).failed === 1, 'the Bull job to fail');
    await bull.close();
    const redis = client();
    await redis.set(`${prefix}:mail:prioritized`, 'not a zset');
    const file = topologyFile(prefix, 'old-mail: { kind: bull }');
    const cli = (...args: string[]) => runCli([...args, '-c', file, '--redis', redisUrl()]);
    const dry = await cli('dlq', 'retry', 'old-mail/1', '--dry-run');
    expect(dry.code).toBe(1);
    expect(dry.stdout + dry.stderr).toContain(`${prefix}:mail:prioritized`);
    const run = await cli('dlq', 'retry', 'old-mail/1', '--yes');
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`${prefix}:mail:prioritized`);
    expect(await redis.zrange(`${prefix}:old-mail:failed`, 0, -1)).toEqual(['1']);
    expect(await redis.hget(`${prefix}:old-mail:1`, 'failedReason')).toBe('down');
    expect(await redis.keys(`${prefix}:mail:*`)).toEqual([`${prefix}:mail:prioritized`]);
    redis.disconnect();
  });
});
