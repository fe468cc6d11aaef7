import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue, Worker, type Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { bullConnection, client, redisUrl, uniqueName } from './helpers/redis.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { until } from './helpers/wait.js';
import { bullQueue } from './bull-fixture.js';

// migrate --from a Bull 4.x queue (issue 20): jobs written by the real `bull` package move into
// BullMQ queues routed by name, and real BullMQ workers run each moved job exactly once, never
// before its due time.

function topology(prefix: string, legacy = 'old-mail: { kind: bull }'): string {
  const file = join(tempDir('bullmove'), 'queuectl.yaml');
  writeFileSync(file, [
    'version: 1',
    `prefix: "${prefix}"`,
    'queues:',
    '  mail: { jobs: [mail.send, mail.digest], dedup: none }',
    '  misc: { jobs: [__default__], dedup: none }',
    'legacy:',
    `  ${legacy}`,
    '',
  ].join('\n'));
  return file;
}

interface Ran { id: string; name: string; to: string; at: number; atm: number; opts: Job['opts'] }

/** BullMQ workers on the destinations, recording every run; they fail a job once when data.failOnce. */
function workers(prefix: string, queues: string[]) {
  const ran: Ran[] = [];
  const started = queues.map((q) => new Worker(q, async (job) => {
    ran.push({ id: String(job.id), name: job.name, to: job.data.to, at: Date.now(), atm: job.attemptsMade, opts: job.opts });
    return 'ok';
  }, { connection: bullConnection(), prefix, concurrency: 4 }));
  return { ran, close: () => Promise.all(started.map((w) => w.close())) };
}

async function migrate(file: string, ...args: string[]) {
  const r = await runCli(['migrate', '--from', 'old-mail', '-c', file, '--redis', redisUrl(), '--json', ...args]);
  return { ...r, doc: r.stdout ? JSON.parse(r.stdout) : undefined };
}

describe('migrate --from a Bull queue', () => {
  it('plans, moves waiting, lifo, prioritized and delayed jobs by name, translates opts, and BullMQ runs each once, none early', async () => {
    const prefix = uniqueName('bm');
    const bull = bullQueue('old-mail', prefix);
    await bull.add('mail.send', { to: 'a' }, { attempts: 3, backoff: 500, timeout: 5000, removeOnComplete: 10 });
    await bull.add('mail.send', { to: 'b' }, { attempts: 2, backoff: { type: 'exponential', delay: 100 } });
    await bull.add('mail.send', { to: 'lifo' }, { lifo: true });
    await bull.add({ to: 'default' });
    await bull.add('mail.digest', { to: 'p5' }, { priority: 5 });
    await bull.add('mail.send', { to: 'p1' }, { priority: 1 });
    await bull.add('mail.digest', { to: 'p5b' }, { priority: 5 });
    await bull.add('mail.send', { to: 'soon' }, { delay: 4000 });
    await bull.add('mail.send', { to: 'later' }, { delay: 3_600_000 });
    const laterDue = Number((await client().zscore(`${prefix}:old-mail:delayed`, '9')));
    const file = topology(prefix);

    const dry = await migrate(file, '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.doc.plan.moves).toEqual({ mail: { wait: 3, prioritized: 3, delayed: 2 }, misc: { wait: 1 } });
    expect(dry.doc.plan.bull.options).toEqual({ timeout: 1, 'backoff.exponential': 1 });
    expect(await client().llen(`${prefix}:old-mail:wait`)).toBe(7);

    const run = await migrate(file, '--yes');
    expect(run.code, run.stderr).toBe(0);
    expect(run.doc.verified).toBe(true);
    expect(run.doc.moved).toEqual({ mail: 8, misc: 1 });
    // --yes is one pass (the move's own classification is the plan): the same plan as the dry run's.
    expect(run.doc.plan.moves).toEqual(dry.doc.plan.moves);
    expect(run.doc.plan.bull.options).toEqual(dry.doc.plan.bull.options);
    const redis = client();
    expect(await redis.llen(`${prefix}:old-mail:wait`)).toBe(0);
    expect(await redis.zcard(`${prefix}:old-mail:priority`)).toBe(0);
    expect(await redis.zcard(`${prefix}:old-mail:delayed`)).toBe(0);
    // The due time is kept to the millisecond.
    expect(Number(await redis.zscore(`${prefix}:mail:delayed`, '9'))).toBe(laterDue);
    const hash = await redis.hgetall(`${prefix}:mail:1`);
    expect(hash).toMatchObject({ name: 'mail.send', data: '{"to":"a"}', atm: '0' }); // opts rewritten: atm written too
    expect(hash.attemptsMade).toBeUndefined();
    const opts = JSON.parse(hash.opts);
    expect(opts).toMatchObject({ attempts: 3, backoff: { type: 'fixed', delay: 500 }, removeOnComplete: 10 });
    expect(opts.timeout).toBeUndefined();

    const w = workers(prefix, ['mail', 'misc']);
    try {
      await until(() => w.ran.length >= 8, 'BullMQ workers to run the 8 due jobs', 30_000);
      // Give a wrongly early `later` a chance to show up, on observed state: the queue is idle.
      const q = new Queue('mail', { connection: bullConnection(), prefix });
      await until(async () => (await q.getJobCounts('wait', 'prioritized', 'active')).active === 0, 'mail to be idle');
      expect(await q.getJobState('9')).toBe('delayed');
      await q.close();
    } finally {
      await w.close();
    }
    const tos = w.ran.map((r) => r.to);
    expect([...tos].sort()).toEqual(['a', 'b', 'default', 'lifo', 'p1', 'p5', 'p5b', 'soon'].sort());
    expect(new Set(w.ran.map((r) => r.id)).size).toBe(8);
    const soon = w.ran.find((r) => r.to === 'soon')!;
    expect(soon.at).toBeGreaterThanOrEqual(Number((await redis.hget(`${prefix}:mail:8`, 'timestamp'))) + 4000);
    // Priority then FIFO within a priority, as Bull would.
    const prio = tos.filter((t) => t.startsWith('p'));
    expect(prio).toEqual(['p1', 'p5', 'p5b']);
    redis.disconnect();
  });

  it('moves a paused Bull queue\'s jobs and, with --states failed, its failed jobs with attempts made', async () => {
    const prefix = uniqueName('bm');
    const bull = bullQueue('old-mail', prefix);
    void bull.process('*', 1, async (job) => {
      throw new Error(`refused ${job.data.to}`);
    });
    await bull.add('mail.send', { to: 'x' }, { attempts: 2, backoff: 10 });
    await until(async () => (await bull.getJobCounts()).failed === 1, 'the Bull job to fail twice');
    await bull.pause();
    await bull.add('mail.send', { to: 'paused' });
    await bull.add('mail.digest', { to: 'paused-p' }, { priority: 2 });
    const file = topology(prefix);
    const run = await migrate(file, '--yes', '--states', 'wait,prioritized,delayed,failed');
    expect(run.code, run.stderr).toBe(0);
    expect(run.doc.plan.moves).toEqual({ mail: { wait: 1, prioritized: 1, failed: 1 } });
    const q = new Queue('mail', { connection: bullConnection(), prefix });
    const [failed] = await q.getFailed();
    expect(failed).toMatchObject({ id: '1', attemptsMade: 2, failedReason: 'refused x' });
    expect(failed.stacktrace?.length).toBeGreaterThan(0);
    await failed.retry();
    const w = workers(prefix, ['mail']);
    try {
      await until(() => w.ran.length >= 3, 'the three jobs to run');
    } finally {
      await w.close();
      await q.close();
    }
    expect(w.ran.map((r) => r.to).sort()).toEqual(['paused', 'paused-p', 'x']);
  });

  it('--follow keeps moving while an old Bull worker still consumes and a producer still adds: each job runs once, in Bull or in BullMQ', async () => {
    const prefix = uniqueName('bm');
    const bullRan: number[] = [];
    const oldWorker = bullQueue('old-mail', prefix);
    void oldWorker.process('*', 1, async (job) => {
      bullRan.push(job.data.n);
      await new Promise((r) => setTimeout(r, 5));
    });
    const producer = bullQueue('old-mail', prefix);
    let added = 0;
    const adding = (async () => {
      for (; added < 400; added++) {
        await producer.add(added % 3 ? 'mail.send' : 'mail.digest', { n: added }, added % 5 === 0 ? { priority: 2 } : {});
        if (added % 20 === 0) await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const w = workers(prefix, ['mail']);
    const file = topology(prefix);
    await until(() => added >= 50, 'the producer to start');
    const moving = migrate(file, '--yes', '--follow', '--quiet-for', '1s');
    await adding;
    const run = await moving;
    expect(run.code, run.stderr).toBe(0);
    expect(run.doc.verified).toBe(true);
    try {
      await until(() => bullRan.length + w.ran.length >= 400, 'every job to run in Bull or BullMQ', 60_000);
      await until(async () => (await oldWorker.getJobCounts()).active === 0, 'the Bull worker to be idle');
    } finally {
      await w.close();
    }
    expect(w.ran.length).toBeGreaterThan(0);
    const counts = new Map<number, number>();
    for (const n of [...bullRan]) counts.set(n, (counts.get(n) ?? 0) + 1);
    const redis = client();
    for (const r of w.ran) {
      const n = JSON.parse((await redis.hget(`${prefix}:mail:${r.id}`, 'data')) ?? '{"n":-1}').n as number;
      counts.set(n, (counts.get(n) ?? 0) + 1);
    }
    redis.disconnect();
    expect(bullRan.length + w.ran.length).toBe(400);
    expect([...counts.entries()].filter(([, c]) => c !== 1)).toEqual([]);
    expect(counts.size).toBe(400);
  }, 90_000);

  it('leaves Bull repeatable jobs and names the BullMQ job scheduler to declare for each, which topology validate accepts', async () => {
    const prefix = uniqueName('bm');
    const bull = bullQueue('old-mail', prefix);
    await bull.add('mail.digest', { kind: 'daily' }, { repeat: { cron: '0 7 * * *', tz: 'Europe/Paris' } });
    await bull.add('mail.send', { kind: 'ping' }, { repeat: { every: 60_000 } });
    await bull.add('mail.send', { to: 'once' });
    const file = topology(prefix);
    const run = await migrate(file, '--yes');
    // The repeatable jobs' next runs stay (scheduler): the queue cannot be retired yet, exit 1.
    expect(run.code, run.stderr).toBe(1);
    expect(run.doc.moved).toEqual({ mail: 1 });
    expect(run.doc.skipped).toEqual([expect.objectContaining({ reason: 'scheduler', count: 2 })]);
    const repeatable = run.doc.plan.bull.repeatable as { name: string; queue: string; scheduler: string }[];
    expect(repeatable.map((r) => [r.name, r.queue, r.scheduler]).sort()).toEqual([
      ['mail.digest', 'mail', '"mail.digest": { pattern: "0 7 * * *", tz: "Europe/Paris", job: { name: "mail.digest", data: {"kind":"daily"} } }'],
      ['mail.send', 'mail', '"mail.send": { every: 60000, job: { name: "mail.send", data: {"kind":"ping"} } }'],
    ]);
    const text = await runCli(['migrate', '--from', 'old-mail', '--dry-run', '-c', file, '--redis', redisUrl()]);
    expect(text.stdout).toContain('2 Bull repeatable job(s) stay in old-mail');
    expect(text.stdout).toContain('queues.mail.schedulers: "mail.send": { every: 60000');
    // The suggested entries are a valid `schedulers:` block as written.
    const declared = join(tempDir('bullsched'), 'queuectl.yaml');
    writeFileSync(declared, `version: 1\nprefix: "${prefix}"\ndefaults: { attempts: 3, backoff: 1s, removeOnComplete: 100, removeOnFail: 1000, deadLetter: failed }\nworkers:\n  mailer: { queues: [mail] }\nqueues:\n  mail:\n    jobs: [mail.send, mail.digest]\n    dedup: none\n    schedulers:\n${repeatable.map((r) => `      ${r.scheduler}`).join('\n')}\n`);
    const valid = await runCli(['topology', 'validate', '-c', declared]);
    expect(valid.code, valid.stderr + valid.stdout).toBe(0);
  });

  it('refuses a queue whose keys show both Bull and BullMQ, moving nothing', async () => {
    const prefix = uniqueName('bm');
    await bullQueue('old-mail', prefix).add('mail.send', { to: 'bull' }, { priority: 1 });
    const bullmq = new Queue('old-mail', { connection: bullConnection(), prefix });
    await bullmq.add('mail.send', { to: 'bullmq' });
    await bullmq.close();
    const file = topology(prefix, 'old-mail: { note: "no kind: detected from the keys" }');
    const run = await migrate(file, '--yes');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/keys of both Bull \(priority zset\) and BullMQ .*two libraries share this queue's keys; migrate moved nothing/);
    expect(await client().llen(`${prefix}:old-mail:wait`)).toBe(2);
  });
});
