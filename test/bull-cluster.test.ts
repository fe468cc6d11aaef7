import Bull from 'bull';
import { Cluster } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { clusterUrl, uniqueName } from './helpers/redis.js';
import { runCli } from './helpers/cli.js';
import { Worker } from 'bullmq';
import { topologyFile } from './bull-fixture.js';
import { until } from './helpers/wait.js';

// A Bull queue on the 3-master cluster under a hash-tag prefix (Bull's own cluster recipe:
// createClient hands it Cluster connections): inspect and topology check read it as Bull.

const opened: Bull.Queue[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((q) => q.close().catch(() => undefined)));
});

function clusterBullQueue(name: string, prefix: string): Bull.Queue {
  const nodes = clusterUrl().replace('redis+cluster://', '').split(',').map((hp) => ({ host: hp.split(':')[0], port: Number(hp.split(':')[1]) }));
  const queue = new Bull(name, {
    prefix,
    createClient: () => new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: null, enableReadyCheck: false } }),
  });
  opened.push(queue);
  return queue;
}

describe('a Bull queue on Redis Cluster', () => {
  it('is counted by Bull\'s states under a hash-tag prefix', async () => {
    const prefix = `{${uniqueName('bc')}}`;
    const queue = clusterBullQueue('old-mail', prefix);
    await queue.add('mail.send', { to: 'a' });
    await queue.add('mail.send', { to: 'b' });
    await queue.add('mail.digest', { to: 'c' }, { priority: 3 });
    await queue.add('mail.send', { to: 'd' }, { delay: 3_600_000 });
    const file = topologyFile(prefix, 'old-mail: { kind: bull }');

    const inspect = await runCli(['inspect', 'old-mail', '--json', '-c', file, '--redis', clusterUrl()]);
    expect(inspect.code, inspect.stderr).toBe(0);
    const [q] = (JSON.parse(inspect.stdout) as { queues: { counts: object; bullCounts: object; layout: object }[] }).queues;
    expect(q.counts).toEqual({ waiting: 2, prioritized: 1, delayed: 1, active: 0, failed: 0, completed: 0, waitingChildren: 0 });
    expect(q.bullCounts).toEqual({ waiting: 3, paused: 0, active: 0, delayed: 1, prioritized: 1, completed: 0, failed: 0 });
    expect(q.layout).toEqual({ read: 'bull', from: 'declared', signs: { bull: ['priority zset'], bullmq: [] } });

    const check = await runCli(['topology', 'check', '--json', '-c', file, '--redis', clusterUrl()]);
    const findings = (JSON.parse(check.stdout) as { findings: { rule: string; queue?: string; message: string }[] }).findings;
    expect(findings.filter((f) => f.queue === 'old-mail').map((f) => f.rule)).toEqual(['legacy-has-jobs']);
    expect(findings.find((f) => f.queue === 'old-mail')!.message).toContain('(Bull: 3 waiting, 1 prioritized (of the waiting), 1 delayed)');
  });

  it('migrate --from moves it into BullMQ queues under the same hash-tag prefix, and BullMQ workers run each job once', async () => {
    const prefix = `{${uniqueName('bc')}}`;
    const queue = clusterBullQueue('old-mail', prefix);
    await queue.add('mail.send', { to: 'a' });
    await queue.add('mail.digest', { to: 'b' }, { priority: 3 });
    await queue.add('mail.send', { to: 'c' }, { delay: 1500 });
    const file = topologyFile(prefix, 'old-mail: { kind: bull }');
    const run = await runCli(['migrate', '--from', 'old-mail', '--yes', '--json', '-c', file, '--redis', clusterUrl()]);
    expect(run.code, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout);
    expect(doc.verified).toBe(true);
    expect(doc.plan.moves).toEqual({ mail: { wait: 1, prioritized: 1, delayed: 1 } });
    const nodes = clusterUrl().replace('redis+cluster://', '').split(',').map((hp) => ({ host: hp.split(':')[0], port: Number(hp.split(':')[1]) }));
    const ran: string[] = [];
    const worker = new Worker('mail', async (job) => void ran.push(job.data.to), { prefix, connection: new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: null } }) });
    try {
      await until(() => ran.length >= 3, 'the three moved jobs to run', 30_000);
    } finally {
      await worker.close();
    }
    expect(ran.sort()).toEqual(['a', 'b', 'c']);
  });

  it('refuses, in one line, a Bull queue whose keys hash apart from its destinations', async () => {
    const prefix = uniqueName('bc');
    const file = topologyFile(prefix, '"{old-mail}": { kind: bull }');
    const run = await runCli(['migrate', '--from', '{old-mail}', '--dry-run', '-c', file, '--redis', clusterUrl()]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')[0]).toMatch(/needs its keys, its destinations' and the journal's in one hash slot/);
  });
});
