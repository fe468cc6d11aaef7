import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { bullConnection, redisUrl, uniqueName } from './helpers/redis.js';
import { runCli } from './helpers/cli.js';
import { until } from './helpers/wait.js';
import { bullQueue, topologyFile } from './bull-fixture.js';

// dlq on a Bull queue's failed set (issue 20): list and show read Bull's failed jobs (its
// attemptsMade field); retry refuses them, since dlq's scripts write BullMQ's layout, and names
// the migrate that moves them into BullMQ, where dlq retry then works.

describe('dlq on a Bull legacy queue', () => {
  it('lists and shows its failed jobs, refuses to retry them in Bull, and retries them once migrated', async () => {
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

    const retry = await cli('dlq', 'retry', 'old-mail/1', '--yes');
    expect(retry.code).toBe(2);
    expect(retry.stderr).toContain('"old-mail" is a Bull queue: dlq does not write Bull\'s layout');
    expect(retry.stderr).toContain('queuectl migrate --from old-mail --states failed');

    const moved = await cli('migrate', '--from', 'old-mail', '--states', 'failed', '--yes');
    expect(moved.code, moved.stderr).toBe(0);
    const again = await cli('dlq', 'retry', 'mail/1', '--yes');
    expect(again.code, again.stderr).toBe(0);
    const q = new Queue('mail', { connection: bullConnection(), prefix });
    expect(await q.getJobState('1')).toBe('waiting');
    await q.close();
  });
});
