import { expect } from 'vitest';
import type { Job, Queue, Worker } from 'bullmq';
import { run as apply } from '../src/commands/topology-apply.js';
import { run as check } from '../src/commands/topology-check.js';
import { run as plan } from '../src/commands/topology-plan.js';
import { testContext } from './helpers/context.js';
import { until } from './helpers/wait.js';

/**
 * The bug `topology apply` exists for, on either backend with real BullMQ: the app's scheduler is
 * replaced by one under a new id (a changed schedule), the old one stays and keeps firing. check
 * finds it, apply removes it, the new one fires on time and the old one never again.
 */
export interface Backend {
  /** --url for the commands. */
  url: string;
  /** `prefix: …` for Redis, nothing for PostgreSQL (the URL's database is fresh). */
  yamlHead: string;
  queue(name: string): Queue;
  worker(name: string, processor: (job: Job) => Promise<unknown>): Worker;
}

/** Runs a command in-process with a topology given as YAML; returns its exit code and output. */
export async function command(b: Backend, which: 'check' | 'plan' | 'apply', yaml: string, opts: Record<string, unknown> = {}, globals: { yes?: boolean; json?: boolean } = {}) {
  const t = testContext({ yaml, redis: b.url, json: globals.json ?? true, yes: globals.yes ?? false });
  try {
    const runner = { check, plan, apply }[which] as (o: unknown, ctx: typeof t.ctx) => Promise<number>;
    const code = await runner(which === 'check' ? { sample: '50', ...opts } : opts, t.ctx);
    return { code, stdout: t.stdout(), stderr: t.stderr(), json: () => t.json() };
  } finally {
    await t.ctx.close();
  }
}

/** Fire time of a scheduler's job, from its id `repeat:<scheduler>:<millis>` (both backends). */
const firesAt = (job: Job) => Number(String(job.id).split(':').pop());

export async function staleScheduleScenario(b: Backend, queueName: string): Promise<void> {
  const EVERY = 1000;
  const yaml = `version: 1
${b.yamlHead}
queues:
  ${queueName}:
    jobs: [tick]
    schedulers:
      tick-v2: { every: ${EVERY}ms, job: { name: tick, data: { v: 2 } } }
workers:
  w: { queues: [${queueName}] }
`;
  const q = b.queue(queueName);
  // Release 1 scheduled tick-v1; release 2 scheduled tick-v2 and never removed tick-v1.
  await q.upsertJobScheduler('tick-v1', { every: EVERY }, { name: 'tick', data: { v: 1 } });
  await q.upsertJobScheduler('tick-v2', { every: EVERY }, { name: 'tick', data: { v: 2 } });
  const seen: { scheduler: string; at: number; v: number }[] = [];
  const worker = b.worker(queueName, async (job) => {
    seen.push({ scheduler: String(job.repeatJobKey), at: firesAt(job), v: job.data.v });
  });
  try {
    await until(() => seen.some((s) => s.v === 1) && seen.some((s) => s.v === 2), 'both schedules to fire before apply');

    const before = await command(b, 'check', yaml);
    expect(before.code).toBe(1);
    const stale = before.json().findings.filter((f: { rule: string }) => f.rule === 'scheduler-undeclared');
    expect(stale).toHaveLength(1);
    expect(stale[0].message).toMatch(/scheduler "tick-v1" is live but not declared: every 1s → tick, fires next at \d{4}-\d\d-\d\dT/);

    const applied = await command(b, 'apply', yaml, {}, { yes: true });
    expect(applied.code).toBe(0);
    const doc = applied.json();
    expect(doc).toMatchObject({ schema: 'queuectl/topology-apply@1', applied: 1, summary: { create: 0, update: 0, delete: 1 } });
    expect(doc.changes).toEqual([{ action: 'delete', queue: queueName, resource: 'scheduler', id: 'tick-v1', schedule: { every: EVERY, job: 'tick', next: expect.any(Number) } }]);
    const appliedAt = Date.now();

    // Several new-schedule fires after apply, and not one fire of the old schedule among them.
    await until(() => seen.filter((s) => s.v === 2 && s.at > appliedAt).length >= 4, 'four tick-v2 fires after apply');
    const after = seen.filter((s) => s.at > appliedAt);
    expect(after.filter((s) => s.v === 1 || s.scheduler === 'tick-v1')).toEqual([]);
    // On time: consecutive fires of the new schedule are exactly `every` apart.
    const times = after.filter((s) => s.v === 2).map((s) => s.at).sort((x, y) => x - y);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(EVERY);
    expect((await q.getJobSchedulers()).map((s) => s.key)).toEqual(['tick-v2']);

    // Idempotent: nothing left to plan, check in sync, a second apply applies nothing.
    expect((await command(b, 'plan', yaml)).code).toBe(0);
    expect((await command(b, 'check', yaml)).code).toBe(0);
    const again = await command(b, 'apply', yaml);
    expect(again.code).toBe(0);
    expect(again.json()).toMatchObject({ applied: 0, changes: [] });
  } finally {
    await worker.close();
  }
}
