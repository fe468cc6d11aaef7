import { describe, expect, it } from 'vitest';
import { freshDatabase, migrateBullmq, pgQueue, pgWorker, sql } from './helpers/postgres.js';
import { runCli } from './helpers/cli.js';
import { tempFile } from './helpers/temp.js';
import { command, staleScheduleScenario, type Backend } from './schedules-scenario.js';

/** Schedules as code on BullMQ's PostgreSQL backend: the same check findings, plan and apply, with real BullMQ. */

function pgBackend(url: string): Backend {
  return { url, yamlHead: '', queue: (name) => pgQueue(url, name), worker: (name, processor) => pgWorker(url, name, processor) };
}

describe('topology apply on PostgreSQL', () => {
  it('a changed schedule leaves the old scheduler firing; check finds it, apply removes it, the new one fires on time and the old one never again', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    await staleScheduleScenario(pgBackend(url), 'ticks');
  });

  it('plan and apply: schedulers, concurrency, rate limit and pause state; the scheduler table holds what the file says', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const b = pgBackend(url);
    const reports = b.queue('reports');
    await reports.upsertJobScheduler('nightly-report', { pattern: '0 4 * * *', tz: 'Europe/Madrid' }, { name: 'report.nightly', data: { kind: 'full' } });
    await reports.upsertJobScheduler('nightly-v0', { pattern: '0 2 * * *' }, { name: 'report.nightly' });
    await reports.setGlobalConcurrency(5);
    await reports.setGlobalRateLimit(5, 1000);
    const yaml = `version: 1
queues:
  reports:
    jobs: [report.nightly, report.ping]
    concurrency: 2
    rateLimit: { max: 10, duration: 1s }
    paused: true
    schedulers:
      nightly-report: { pattern: "0 3 * * *", tz: Europe/Madrid, job: { name: report.nightly, data: { kind: full }, opts: { attempts: 3 } } }
      heartbeat: { every: 30s, job: { name: report.ping, data: { a: [1, 2] }, opts: { backoff: { type: exponential, delay: 1000 }, keepLogs: 20, removeOnFail: { age: 3600, count: 10 } } } }
workers:
  w: { queues: [reports] }
`;
    const check = await command(b, 'check', yaml);
    expect(check.code).toBe(1);
    expect(check.json().findings.map((f: { rule: string }) => f.rule)).toEqual(['meta-concurrency-drift', 'meta-ratelimit-drift', 'scheduler-undeclared', 'scheduler-drift', 'scheduler-missing', 'paused-drift']);
    expect(check.json().findings[3].message).toContain('pattern "0 4 * * *" live, "0 3 * * *" declared; job.opts {} live, {"attempts":3} declared');

    const plan = await command(b, 'plan', yaml);
    expect(plan.code).toBe(1);
    expect(plan.json()).toMatchObject({
      schema: 'queuectl/topology-plan@1',
      target: expect.stringMatching(/^postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/qc_\w+ \(schema bullmq\)$/),
      summary: { create: 1, update: 4, delete: 1 },
    });
    expect(plan.json().changes.map((c: { action: string; resource: string; id?: string }) => `${c.action} ${c.resource} ${c.id ?? ''}`.trim())).toEqual([
      'create scheduler heartbeat', 'update scheduler nightly-report', 'delete scheduler nightly-v0', 'update concurrency', 'update rateLimit', 'update paused',
    ]);

    const applied = await command(b, 'apply', yaml, {}, { yes: true });
    expect(applied.code).toBe(0);
    expect(applied.json()).toMatchObject({ schema: 'queuectl/topology-apply@1', applied: 6 });
    expect(await sql(url, 'SELECT scheduler_id, pattern, every_ms::int AS every, tz, template_opts FROM bullmq.scheduler WHERE queue = $1 ORDER BY scheduler_id', ['reports'])).toEqual([
      { scheduler_id: 'heartbeat', pattern: null, every: 30000, tz: null, template_opts: { backoff: { type: 'exponential', delay: 1000 }, keepLogs: 20, removeOnFail: { age: 3600, count: 10 } } },
      { scheduler_id: 'nightly-report', pattern: '0 3 * * *', every: null, tz: 'Europe/Madrid', template_opts: { attempts: 3 } },
    ]);
    expect(await reports.isPaused()).toBe(true);
    expect(await sql(url, `SELECT field, value FROM bullmq.meta WHERE queue = 'reports' AND field IN ('concurrency', 'max', 'duration') ORDER BY field`)).toEqual([
      { field: 'concurrency', value: '2' }, { field: 'duration', value: '1000' }, { field: 'max', value: '10' },
    ]);

    expect((await command(b, 'plan', yaml)).code).toBe(0);
    expect((await command(b, 'check', yaml)).json()).toEqual({ schema: 'queuectl/topology-check@1', inSync: true, findings: [] });
  });

  it('--prune, --target and the refusal off a terminal name the database and schema', async () => {
    const url = await freshDatabase();
    await migrateBullmq(url);
    const b = pgBackend(url);
    await b.queue('stray').upsertJobScheduler('old-cleanup', { every: 60_000 }, { name: 'cleanup' });
    await b.queue('mail').upsertJobScheduler('digest', { every: 60_000 }, { name: 'mail.send' });
    const yaml = 'version: 1\nqueues:\n  mail: { jobs: [mail.send] }\nworkers:\n  w: { queues: [mail] }\n';
    const file = tempFile('pgsched', 'queuectl.yaml', yaml);

    const refused = await runCli(['topology', 'apply', '-c', file, '--url', url]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^queuectl: Apply 1 change \(0 to create, 0 to change, 1 to remove\) to postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/qc_\w+ \(schema bullmq\)\? needs a confirmation and stdin is not a terminal — rerun with --yes\n$/);
    expect(await b.queue('mail').getJobSchedulersCount()).toBe(1);

    expect((await command(b, 'plan', yaml)).json().leftAlone).toEqual([{ queue: 'stray', schedulers: 1 }]);
    const stray = await command(b, 'apply', yaml, { prune: true, target: 'stray' }, { yes: true });
    expect(stray.json()).toMatchObject({ applied: 1, changes: [{ action: 'delete', queue: 'stray', id: 'old-cleanup' }] });
    expect(await b.queue('stray').getJobSchedulersCount()).toBe(0);
    expect(await b.queue('mail').getJobSchedulersCount()).toBe(1);

    const yes = await runCli(['topology', 'apply', '--yes', '--json', '-c', file, '--url', url]);
    expect(yes.code).toBe(0);
    expect(JSON.parse(yes.stdout)).toMatchObject({ applied: 1 });
    const again = await runCli(['topology', 'plan', '-c', file, '--url', url]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^No changes: the live queues on postgres:\/\/\S+ \(schema bullmq\) match the file\.\n$/);
  });
});
