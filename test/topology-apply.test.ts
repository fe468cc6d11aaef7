import { afterEach, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import { bullConnection, client, clusterClient, clusterUrl, redisUrl, uniqueName } from './helpers/redis.js';
import { runCli } from './helpers/cli.js';
import { tempFile } from './helpers/temp.js';
import { command, staleScheduleScenario, type Backend } from './schedules-scenario.js';
import { run as applyCommand } from '../src/commands/topology-apply.js';
import { InterruptedError } from '../src/errors.js';
import { testContext } from './helpers/context.js';
import { createHash } from 'node:crypto';

/** Schedules as code on Redis: topology check / plan / apply with real BullMQ. */

const opened: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close().catch(() => undefined)));
});

function redisBackend(prefix: string): Backend {
  return {
    url: redisUrl(),
    yamlHead: `prefix: "${prefix}"`,
    queue: (name) => {
      const q = new Queue(name, { connection: bullConnection(), prefix });
      opened.push(q);
      return q;
    },
    worker: (name, processor) => {
      const w = new Worker(name, processor, { connection: bullConnection(), prefix });
      opened.push(w);
      return w;
    },
  };
}

const reportsYaml = (prefix: string, extra = '') => `version: 1
prefix: "${prefix}"
queues:
  reports:
    jobs: [report.nightly, report.ping]
    concurrency: 2
    rateLimit: { max: 10, duration: 1s }
    paused: true
    schedulers:
      nightly-report: { pattern: "0 3 * * *", tz: Europe/Madrid, job: { name: report.nightly, data: { kind: full }, opts: { attempts: 3 } } }
      heartbeat: { every: 30s, job: { name: report.ping, opts: { keepLogs: 20, removeDependencyOnFailure: true, backoff: { type: exponential, delay: 1000 } } } }
  mail:
    jobs: [mail.send]
workers:
  w: { queues: [reports, mail] }
${extra}`;

describe('topology apply on Redis', () => {
  it('a changed schedule leaves the old scheduler firing; check finds it, apply removes it, the new one fires on time and the old one never again', async () => {
    await staleScheduleScenario(redisBackend(uniqueName('p')), 'ticks');
  });

  it('plan: + / ~ / - with the differing fields, JSON shape, exit 1 with changes and 0 after apply', async () => {
    const prefix = uniqueName('p');
    const b = redisBackend(prefix);
    const reports = b.queue('reports');
    await reports.upsertJobScheduler('nightly-report', { pattern: '0 4 * * *', tz: 'Europe/Madrid' }, { name: 'report.nightly', data: { kind: 'full' }, opts: { attempts: 3 } });
    await reports.upsertJobScheduler('nightly-v0', { pattern: '0 2 * * *' }, { name: 'report.nightly' });
    await reports.setGlobalConcurrency(5);
    await reports.setGlobalRateLimit(5, 1000);
    const yaml = reportsYaml(prefix);

    const text = await command(b, 'plan', yaml, {}, { json: false });
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`Plan for ${redisUrl()} (prefix ${prefix}):`);
    expect(text.stdout).toMatch(/\+ scheduler heartbeat: every 30s → report\.ping/);
    expect(text.stdout).toMatch(/~ scheduler nightly-report\n\s+pattern: "0 4 \* \* \*" → "0 3 \* \* \*"/);
    expect(text.stdout).toMatch(/- scheduler nightly-v0: pattern "0 2 \* \* \*" → report\.nightly \(fires next at \d{4}-/);
    expect(text.stdout).toMatch(/~ concurrency: 5 → 2/);
    expect(text.stdout).toMatch(/~ rate limit: 5 per 1000 ms → 10 per 1000 ms/);
    expect(text.stdout).toMatch(/~ paused: false → true/);
    expect(text.stdout).toContain('Plan: 1 to create, 4 to change, 1 to remove.');

    const json = await command(b, 'plan', yaml);
    expect(json.code).toBe(1);
    expect(json.json()).toEqual({
      schema: 'queuectl/topology-plan@1',
      target: `${redisUrl()} (prefix ${prefix})`,
      changes: [
        { action: 'create', queue: 'reports', resource: 'scheduler', id: 'heartbeat', schedule: { every: 30000, job: 'report.ping' } },
        { action: 'update', queue: 'reports', resource: 'scheduler', id: 'nightly-report', fields: [{ field: 'pattern', from: '0 4 * * *', to: '0 3 * * *' }] },
        { action: 'delete', queue: 'reports', resource: 'scheduler', id: 'nightly-v0', schedule: { pattern: '0 2 * * *', job: 'report.nightly', next: expect.any(Number) } },
        { action: 'update', queue: 'reports', resource: 'concurrency', fields: [{ field: 'concurrency', from: 5, to: 2 }] },
        { action: 'update', queue: 'reports', resource: 'rateLimit', fields: [{ field: 'rateLimit', from: { max: 5, duration: 1000 }, to: { max: 10, duration: 1000 } }] },
        { action: 'update', queue: 'reports', resource: 'paused', fields: [{ field: 'paused', from: false, to: true }] },
      ],
      summary: { create: 1, update: 4, delete: 1 },
      leftAlone: [],
    });

    const dry = await command(b, 'apply', yaml, { dryRun: true });
    expect(dry.code).toBe(1);
    expect(dry.json()).toEqual(json.json());

    const applied = await command(b, 'apply', yaml, {}, { yes: true });
    expect(applied.code).toBe(0);
    expect(applied.json()).toMatchObject({ schema: 'queuectl/topology-apply@1', applied: 6 });
    expect(await reports.isPaused()).toBe(true);
    const meta = await client().hgetall(`${prefix}:reports:meta`);
    expect(meta).toMatchObject({ concurrency: '2', max: '10', duration: '1000' });
    const schedulers = await reports.getJobSchedulers();
    expect(schedulers.map((s) => [s.key, s.pattern ?? s.every, s.tz ?? null]).sort()).toEqual([['heartbeat', 30000, null], ['nightly-report', '0 3 * * *', 'Europe/Madrid']]);
    expect(schedulers.find((s) => s.key === 'nightly-report')?.template).toEqual({ data: { kind: 'full' }, opts: { attempts: 3 } });

    const again = await command(b, 'plan', yaml, {}, { json: false });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`No changes: the live queues on ${redisUrl()} (prefix ${prefix}) match the file.\n`);
    // In sync: only the warning that the queue with nothing declared live (mail) has no keys yet.
    expect((await command(b, 'check', yaml)).json()).toEqual({ schema: 'queuectl/topology-check@1', inSync: true, findings: [expect.objectContaining({ rule: 'queue-absent', queue: 'mail' })] });
  });

  it('check: scheduler-drift lists the fields, scheduler-missing, paused-drift', async () => {
    const prefix = uniqueName('p');
    const b = redisBackend(prefix);
    const reports = b.queue('reports');
    await reports.upsertJobScheduler('nightly-report', { pattern: '0 3 * * *', tz: 'UTC', limit: 5 }, { name: 'report.nightly', data: { kind: 'delta' }, opts: { attempts: 3 } });
    await reports.setGlobalConcurrency(2);
    await reports.setGlobalRateLimit(10, 1000);
    const r = await command(b, 'check', reportsYaml(prefix));
    expect(r.code).toBe(1);
    const byRule = (rule: string) => r.json().findings.filter((f: { rule: string }) => f.rule === rule).map((f: { message: string }) => f.message);
    expect(byRule('scheduler-drift')).toEqual([
      'scheduler "nightly-report" differs from the file: tz "UTC" live, "Europe/Madrid" declared; limit 5 live, none declared; job.data {"kind":"delta"} live, {"kind":"full"} declared — run queuectl topology plan to see the change, topology apply to make it',
    ]);
    expect(byRule('scheduler-missing')).toEqual([expect.stringMatching(/^scheduler "heartbeat" \(every 30s → report\.ping\) is declared but not live/)]);
    expect(byRule('paused-drift')).toEqual([expect.stringMatching(/^queue is running but the file says paused: true/)]);
  });

  it('an old-style repeatable job (BullMQ 5 layout): check names its pattern and next fire, apply removes it and its next job', async () => {
    const prefix = uniqueName('p');
    const b = redisBackend(prefix);
    const redis = client();
    const key = 'report.ping::::*/5 * * * *';
    const next = Date.now() + 3_600_000;
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    const jobId = `repeat:${md5(`report.ping${md5(key)}`)}:${next}`;
    // What BullMQ 5's Queue.add('report.ping', {}, { repeat: { pattern } }) left: the zset member and the next delayed job.
    await b.queue('reports').add('report.ping', {}, { jobId, delay: 3_600_000 });
    await redis.zadd(`${prefix}:reports:delayed`, next * 0x1000, jobId);
    await redis.zadd(`${prefix}:reports:repeat`, next, key);
    const yaml = `version: 1\nprefix: "${prefix}"\nqueues:\n  reports: { jobs: [report.ping] }\nworkers:\n  w: { queues: [reports] }\n`;

    const r = await command(b, 'check', yaml);
    expect(r.json().findings.filter((f: { rule: string }) => f.rule === 'scheduler-undeclared').map((f: { message: string }) => f.message)).toEqual([
      `old-style repeatable job "${key}" (BullMQ ≤ 5) is live but not declared: pattern "*/5 * * * *" → report.ping, fires next at ${new Date(next).toISOString()} — remove it with queuectl topology apply (or declare it under queues.reports.schedulers)`,
    ]);
    const applied = await command(b, 'apply', yaml, {}, { yes: true });
    expect(applied.json().changes).toEqual([{ action: 'delete', queue: 'reports', resource: 'repeatable', id: key, schedule: { pattern: '*/5 * * * *', job: 'report.ping', next, legacy: true } }]);
    expect(await redis.zcard(`${prefix}:reports:repeat`)).toBe(0);
    expect(await redis.zscore(`${prefix}:reports:delayed`, jobId)).toBeNull();
    expect(await redis.exists(`${prefix}:reports:${jobId}`)).toBe(0);
    expect((await command(b, 'plan', yaml)).code).toBe(0);
  });

  it('only declared queues unless --prune; --target limits to one queue, with a did-you-mean for typos', async () => {
    const prefix = uniqueName('p');
    const b = redisBackend(prefix);
    await b.queue('stray').upsertJobScheduler('old-cleanup', { every: 60_000 }, { name: 'cleanup' });
    await b.queue('mail').upsertJobScheduler('digest', { every: 60_000 }, { name: 'mail.send' });
    const yaml = `version: 1\nprefix: "${prefix}"\nqueues:\n  reports: { jobs: [report.ping], schedulers: { hb: { every: 30s, job: { name: report.ping } } } }\n  mail: { jobs: [mail.send] }\nworkers:\n  w: { queues: [reports, mail] }\n`;

    const plain = await command(b, 'plan', yaml);
    expect(plain.json().changes.map((c: { action: string; queue: string; id: string }) => `${c.action} ${c.queue}/${c.id}`)).toEqual(['create reports/hb', 'delete mail/digest']);
    expect(plain.json().leftAlone).toEqual([{ queue: 'stray', schedulers: 1 }]);
    const text = await command(b, 'plan', yaml, {}, { json: false });
    expect(text.stdout).toContain('Left alone: queue stray is not declared and holds 1 scheduler (--prune removes them).');

    const pruned = await command(b, 'plan', yaml, { prune: true });
    expect(pruned.json().changes.map((c: { action: string; queue: string; id: string }) => `${c.action} ${c.queue}/${c.id}`)).toEqual(['create reports/hb', 'delete mail/digest', 'delete stray/old-cleanup']);

    const targeted = await command(b, 'apply', yaml, { target: 'mail' }, { yes: true });
    expect(targeted.json()).toMatchObject({ applied: 1, changes: [{ action: 'delete', queue: 'mail', id: 'digest' }] });
    expect(await b.queue('reports').getJobSchedulersCount()).toBe(0);
    expect(await b.queue('stray').getJobSchedulersCount()).toBe(1);

    const typo = await runCli(['topology', 'plan', '--target', 'mails', '-c', tempFile('sched', 'queuectl.yaml', yaml), '--url', redisUrl()]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe('queuectl: --target "mails" is neither a declared queue nor a live queue holding schedulers — did you mean "mail"?\n');
    const undeclared = await command(b, 'plan', yaml, { target: 'stray' }).catch((e: Error) => e);
    expect(String(undeclared)).toContain('--target "stray" is not declared in the file');

    const all = await command(b, 'apply', yaml, { prune: true }, { yes: true });
    expect(all.json()).toMatchObject({ applied: 2 });
    expect(await b.queue('stray').getJobSchedulersCount()).toBe(0);
    expect((await command(b, 'plan', yaml, { prune: true })).code).toBe(0);
  });

  it('off a terminal without --yes: exit 2 naming the server and prefix, nothing changed', async () => {
    const prefix = uniqueName('p');
    const b = redisBackend(prefix);
    await b.queue('mail').upsertJobScheduler('digest', { every: 60_000 }, { name: 'mail.send' });
    const file = tempFile('sched', 'queuectl.yaml', `version: 1\nprefix: "${prefix}"\nqueues:\n  mail: { jobs: [mail.send] }\nworkers:\n  w: { queues: [mail] }\n`);
    const r = await runCli(['topology', 'apply', '-c', file, '--url', redisUrl()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`queuectl: Apply 1 change (0 to create, 0 to change, 1 to remove) to ${redisUrl()} (prefix ${prefix})? needs a confirmation and stdin is not a terminal — rerun with --yes\n`);
    expect(await b.queue('mail').getJobSchedulersCount()).toBe(1);
    const yes = await runCli(['topology', 'apply', '--yes', '--json', '-c', file, '--url', redisUrl()]);
    expect(yes.code).toBe(0);
    expect(JSON.parse(yes.stdout)).toMatchObject({ schema: 'queuectl/topology-apply@1', applied: 1 });
    expect(await b.queue('mail').getJobSchedulersCount()).toBe(0);
  });

  it('on a Redis Cluster with a hash-tag prefix: a stale scheduler and an old-style repeatable job go, the declared one stays', async () => {
    const redis = clusterClient();
    const prefix = `{${uniqueName('c')}}`;
    const q = new Queue('reports', { connection: redis, prefix });
    opened.push(q);
    await q.upsertJobScheduler('tick-v1', { every: 60_000 }, { name: 'report.ping' });
    await q.upsertJobScheduler('tick-v2', { every: 60_000 }, { name: 'report.ping' });
    await redis.zadd(`${prefix}:reports:repeat`, Date.now() + 60_000, 'report.ping::::60000');
    const yaml = `version: 1\nprefix: "${prefix}"\nqueues:\n  reports: { jobs: [report.ping], schedulers: { tick-v2: { every: 1m, job: { name: report.ping } } } }\nworkers:\n  w: { queues: [reports] }\n`;
    const b = { ...redisBackend(prefix), url: clusterUrl() };
    const applied = await command(b, 'apply', yaml, {}, { yes: true });
    expect(applied.code).toBe(0);
    expect(applied.json().changes.map((c: { resource: string; id: string }) => `${c.resource} ${c.id}`)).toEqual(['repeatable report.ping::::60000', 'scheduler tick-v1']);
    expect(await redis.zrange(`${prefix}:reports:repeat`, 0, -1)).toEqual(['tick-v2']);
    expect((await command(b, 'check', yaml)).json().findings.filter((f: { rule: string }) => f.rule.startsWith('scheduler'))).toEqual([]);
  });

  it('refuses to plan or apply a scheduler whose job name its queue does not own (exit 2, the file\'s line)', async () => {
    const prefix = uniqueName('p');
    const file = tempFile('sched', 'queuectl.yaml', `version: 1\nprefix: "${prefix}"\nqueues:\n  mail:\n    jobs: [mail.send]\n    schedulers:\n      digest: { every: 1m, job: { name: report.ping } }\nworkers:\n  w: { queues: [mail] }\n`);
    for (const cmd of ['plan', 'apply']) {
      const r = await runCli(['topology', cmd, '--yes', '-c', file, '--url', redisUrl()]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^queuectl: \S+queuectl\.yaml \(line 7\): scheduler "digest" makes jobs named "report\.ping", which queue "mail" does not own .* — fix the file first; queuectl topology validate lists every problem\n$/);
    }
    expect(await client().exists(`${prefix}:mail:repeat`)).toBe(0);
  });

  it('Ctrl-C before the first change: exit 130, nothing changed', async () => {
    const prefix = uniqueName('p');
    const b = redisBackend(prefix);
    await b.queue('mail').upsertJobScheduler('digest', { every: 60_000 }, { name: 'mail.send' });
    const abort = new AbortController();
    abort.abort();
    const t = testContext({ yaml: `version: 1\nprefix: "${prefix}"\nqueues:\n  mail: { jobs: [mail.send] }\nworkers:\n  w: { queues: [mail] }\n`, yes: true, signal: abort.signal });
    try {
      await expect(applyCommand({}, t.ctx)).rejects.toBeInstanceOf(InterruptedError);
    } finally {
      await t.ctx.close();
    }
    expect(await b.queue('mail').getJobSchedulersCount()).toBe(1);
  });
});
