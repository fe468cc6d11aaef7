import { Queue, Worker } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { bullConnection, client, redisUrl, uniqueName } from './helpers/redis.js';
import { runCli } from './helpers/cli.js';
import { until } from './helpers/wait.js';
import { bullQueue, topologyFile } from './bull-fixture.js';

// A legacy queue with no `kind:` and no Bull-only key (never paused, never a prioritized job) is
// told Bull or BullMQ from a sample of its jobs (src/inspect/job-sample.ts), by inspect, migrate
// and dlq alike; when nothing tells, migrate and dlq writes refuse rather than guess.

const JOB_SIGN = /^Bull's job opts \(timestamp, delay, attempts filled in\) on \d+ of \d+ sampled jobs?$/;

async function keysUnder(prefix: string, queue: string): Promise<string[]> {
  return (await client().keys(`${prefix}:${queue}:*`)).sort();
}

describe('a Bull queue with no Bull-only key and no kind:', () => {
  it('is detected as Bull from its jobs by inspect and topology check, and migrated translated', async () => {
    const prefix = uniqueName('bdet');
    const bull = bullQueue('old-mail', prefix);
    await bull.add('mail.send', { to: 'a' }, { attempts: 3, backoff: 500, timeout: 5000 });
    await bull.add('mail.send', { to: 'b' }, { delay: 3_600_000 });
    const file = topologyFile(prefix, 'old-mail: {}');
    const redis = client();
    expect(await redis.exists(`${prefix}:old-mail:priority`, `${prefix}:old-mail:meta-paused`, `${prefix}:old-mail:meta`)).toBe(0);

    const inspect = await runCli(['inspect', 'old-mail', '--json', '-c', file, '--redis', redisUrl()]);
    expect(inspect.code, inspect.stderr).toBe(0);
    const q = JSON.parse(inspect.stdout).queues[0];
    expect(q.layout).toMatchObject({ read: 'bull', from: 'keys', signs: { bullmq: [] } });
    expect(q.layout.signs.bull).toHaveLength(1);
    expect(q.layout.signs.bull[0]).toMatch(JOB_SIGN);
    expect(q.bullCounts).toMatchObject({ waiting: 1, delayed: 1 });
    const human = await runCli(['inspect', 'old-mail', '-c', file, '--redis', redisUrl()]);
    expect(human.stdout).toMatch(/old-mail: Bull queue \(detected: Bull's job opts/);
    const check = await runCli(['topology', 'check', '--json', '-c', file, '--redis', redisUrl()]);
    const findings = JSON.parse(check.stdout).findings.filter((f: { queue?: string }) => f.queue === 'old-mail');
    expect(findings.map((f: { message: string }) => f.message)).toEqual([expect.stringMatching(/^legacy Bull queue still holds 2 jobs \(Bull: 1 waiting, 1 delayed\)/)]);

    const run = await runCli(['migrate', '--from', 'old-mail', '--yes', '--json', '-c', file, '--redis', redisUrl()]);
    expect(run.code, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout);
    expect(doc.verified).toBe(true);
    // Bull's plan (its options report) means the Bull engine moved it, translated.
    expect(doc.plan.bull.options).toEqual({ timeout: 1 });
    const hash = await redis.hgetall(`${prefix}:mail:1`);
    expect(hash.attemptsMade).toBeUndefined();
    const opts = JSON.parse(hash.opts);
    expect(opts).toMatchObject({ attempts: 3, backoff: { type: 'fixed', delay: 500 } });
    expect(opts.timeout).toBeUndefined();
    const ran: string[] = [];
    const worker = new Worker('mail', async (job) => void ran.push(job.data.to), { connection: bullConnection(), prefix });
    try {
      await until(() => ran.length >= 1, 'the BullMQ worker to run the moved job');
      const mail = new Queue('mail', { connection: bullConnection(), prefix });
      await until(async () => (await mail.getJobCounts('active', 'wait')).active === 0, 'mail to be idle');
      expect(await mail.getJobState('2')).toBe('delayed');
      await mail.close();
    } finally {
      await worker.close();
    }
    expect(ran).toEqual(['a']);
    redis.disconnect();
  });

  it('has its failed set read by dlq without kind: bull', async () => {
    const prefix = uniqueName('bdet');
    const bull = bullQueue('old-mail', prefix);
    void bull.process('*', 1, async () => {
      throw new Error('smtp refused');
    });
    await bull.add('mail.send', { to: 'c' });
    await until(async () => (await bull.getJobCounts()).failed === 1, 'the Bull job to fail');
    await bull.close();
    const file = topologyFile(prefix, 'old-mail: {}');
    const list = await runCli(['dlq', 'list', '--queue', 'old-mail', '--json', '-c', file, '--redis', redisUrl()]);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(list.stdout))).toMatch(/"ref":"old-mail\/1".*"failedReason":"smtp refused","attemptsMade":1/);
  });
});

describe('a legacy queue nothing tells apart', () => {
  async function handWritten(prefix: string) {
    // Job hashes and a wait list written by hand: no Bull opts, no BullMQ fields, no meta.
    const redis = client();
    await redis.hset(`${prefix}:old-mail:1`, { name: 'mail.send', data: '{"to":"a"}', opts: '{}', timestamp: String(Date.now()) });
    await redis.hset(`${prefix}:old-mail:2`, { name: 'mail.send', data: '{"to":"b"}', timestamp: String(Date.now()) });
    await redis.lpush(`${prefix}:old-mail:wait`, '1', '2');
    await redis.zadd(`${prefix}:old-mail:failed`, Date.now(), '2');
    return redis;
  }

  it('is refused by migrate with one line naming kind:, and nothing is written', async () => {
    const prefix = uniqueName('bdet');
    const redis = await handWritten(prefix);
    const file = topologyFile(prefix, 'old-mail: {}');
    const before = await keysUnder(prefix, 'old-mail');
    for (const args of [['--yes'], ['--dry-run'], ['--strategy', 'drain', '--yes']]) {
      const run = await runCli(['migrate', '--from', 'old-mail', ...args, '-c', file, '--redis', redisUrl()]);
      expect(run.code, run.stdout).toBe(2);
      const first = run.stderr.split('\n')[0];
      expect(first).toContain('"old-mail" shows no sign of Bull or BullMQ in its keys or sampled jobs: declare kind: bull or kind: bullmq');
    }
    expect(await keysUnder(prefix, 'old-mail')).toEqual(before);
    expect(await redis.lrange(`${prefix}:old-mail:wait`, 0, -1)).toEqual(['2', '1']);
    expect(await keysUnder(prefix, 'mail')).toEqual([]);
    const inspect = await runCli(['inspect', 'old-mail', '-c', file, '--redis', redisUrl()]);
    expect(inspect.stdout).toContain('old-mail: Bull or BullMQ: no sign of either library');
    const check = await runCli(['topology', 'check', '--json', '-c', file, '--redis', redisUrl()]);
    const findings = JSON.parse(check.stdout).findings.filter((f: { rule: string }) => f.rule === 'queue-layout-undecided');
    expect(findings).toEqual([expect.objectContaining({ severity: 'error', queue: 'old-mail', message: expect.stringContaining('declare kind: bull or kind: bullmq') })]);
    redis.disconnect();
  });

  it('is refused by dlq retry and discard, and left out of dlq list with a warning', async () => {
    const prefix = uniqueName('bdet');
    const redis = await handWritten(prefix);
    const file = topologyFile(prefix, 'old-mail: {}');
    const before = await keysUnder(prefix, 'old-mail');
    const retry = await runCli(['dlq', 'retry', 'old-mail/2', '--yes', '-c', file, '--redis', redisUrl()]);
    expect(retry.code).toBe(2);
    expect(retry.stderr).toContain('dlq retry old-mail/2: "old-mail" shows no sign of Bull or BullMQ');
    const discard = await runCli(['dlq', 'discard', '--all', '--queue', 'old-mail', '--reason', 'x', '--yes', '-c', file, '--redis', redisUrl()]);
    expect(discard.code).toBe(2);
    expect(discard.stderr).toContain('"old-mail" shows no sign of Bull or BullMQ');
    const list = await runCli(['dlq', 'list', '-c', file, '--redis', redisUrl()]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stderr).toContain('legacy queue old-mail left out: "old-mail" shows no sign of Bull or BullMQ');
    expect(await keysUnder(prefix, 'old-mail')).toEqual(before);
    redis.disconnect();
  });

  it('with Bull jobs and BullMQ jobs under one name is a conflict, refused', async () => {
    const prefix = uniqueName('bdet');
    await bullQueue('old-mail', prefix).add('mail.send', { to: 'bull' });
    const other = new Queue('old-mail', { connection: bullConnection(), prefix });
    await other.add('mail.send', { to: 'bullmq' });
    await other.close();
    const file = topologyFile(prefix, 'old-mail: {}');
    const run = await runCli(['migrate', '--from', 'old-mail', '--yes', '-c', file, '--redis', redisUrl()]);
    expect(run.code).toBe(2);
    expect(run.stderr.split('\n')[0]).toMatch(/keys of both Bull \(Bull's job opts.*\) and BullMQ \(.*meta\.opts\.maxLenEvents.*\)/);
    expect(await keysUnder(prefix, 'mail')).toEqual([]);
  });
});

describe('migrate --strategy drain on a Bull queue', () => {
  it('is refused, declared or detected: drain counts only BullMQ workers', async () => {
    const prefix = uniqueName('bdet');
    const bull = bullQueue('old-mail', prefix);
    await bull.add('mail.send', { to: 'a' });
    for (const legacy of ['old-mail: {}', 'old-mail: { kind: bull }']) {
      const file = topologyFile(prefix, legacy);
      const run = await runCli(['migrate', '--from', 'old-mail', '--strategy', 'drain', '--yes', '-c', file, '--redis', redisUrl()]);
      expect(run.code).toBe(2);
      expect(run.stderr.split('\n')[0]).toContain('"old-mail" is a Bull queue, and drain counts only BullMQ\'s workers; nothing was deleted');
    }
    expect(await bull.getWaitingCount()).toBe(1);
  });
});
