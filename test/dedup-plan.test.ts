import { describe, expect, it } from 'vitest';
import { CANARY_MAX_DELAY, STEPS_BACKOFF, producerOptions, retentionWarning } from '../src/dedup/options.js';
import { isPerRequestField, schemaProblem, synthesisePayloads } from '../src/dedup/payload.js';
import { planQueue } from '../src/dedup/plan.js';
import { renderTemplate, renderedIdProblem, staticTemplateProblem } from '../src/dedup/template.js';
import { scratchVerdict } from '../src/dedup/verdict.js';
import type { PayloadSchema, QueueSpec } from '../src/topology/types.js';

const spec = (over: Partial<QueueSpec> = {}): QueueSpec => ({ name: 'q', jobs: ['q.run'], attempts: 3, ...over });
const schema = (properties: PayloadSchema['properties'], required: string[] = []): PayloadSchema => ({ type: 'object', properties, required });

describe('jobId templates', () => {
  it('renders flat and nested fields', () => {
    expect(renderTemplate('process-{sessionId}', { sessionId: 'abc' })).toEqual({ ok: true, id: 'process-abc' });
    expect(renderTemplate('o-{org.id}-{n}', { org: { id: 'x' }, n: 7 })).toEqual({ ok: true, id: 'o-x-7' });
    expect(renderTemplate('p-{missing}', {})).toEqual({ ok: false, problem: 'field "missing" is missing from the payload' });
  });

  it('applies BullMQ\'s own rule to rendered ids', () => {
    expect(renderedIdProblem('42')).toMatch(/integer/);
    expect(renderedIdProblem('a:b')).toMatch(/":"/);
    expect(renderedIdProblem('a:b:c:d')).toMatch(/":"/);
    expect(renderedIdProblem('quote:42:1700000000')).toBeUndefined(); // BullMQ accepts exactly two colons
    expect(renderedIdProblem('0abc')).toMatch(/starts with "0"/);
    expect(renderedIdProblem('process-1')).toBeUndefined();
  });

  it('finds templates that break for some payloads', () => {
    expect(staticTemplateProblem('{fileId}')).toMatch(/integer/);
    expect(staticTemplateProblem('ocr:{fileId}')).toMatch(/":"/);
    expect(staticTemplateProblem('0-{fileId}')).toMatch(/starts with "0"/);
    expect(staticTemplateProblem('constant')).toMatch(/names no payload field/);
    expect(staticTemplateProblem('p-{sessionId')).toMatch(/never closed/);
    expect(staticTemplateProblem('p-{sessionId}')).toBeUndefined();
  });
});

describe('payload synthesis', () => {
  it('tells per-request fields from session fields', () => {
    for (const f of ['requestId', 'request_id', 'traceId', 'correlationId', 'timestamp', 'createdAt', 'meta.enqueuedAt']) expect(isPerRequestField(f), f).toBe(true);
    for (const f of ['sessionId', 'fileId', 'format', 'chat', 'org.id', 'status']) expect(isPerRequestField(f), f).toBe(false);
    expect(isPerRequestField('attemptKey', schema({ attemptKey: { type: 'string', description: 'new per request' } }))).toBe(true);
  });

  it('gives every copy the same session and a different request', () => {
    const s = schema({ sessionId: { type: 'string' }, requestId: { type: 'string' }, fileId: { type: 'integer' }, lang: { type: 'string' }, tags: { type: 'array' } }, ['lang', 'tags']);
    const copies = synthesisePayloads({ fields: ['sessionId', 'requestId', 'fileId', 'org.id'], schema: s, session: 'queuectl-dedup-abc123', copies: 3 });
    expect(copies).toHaveLength(3);
    expect(new Set(copies.map((c) => c.sessionId))).toEqual(new Set(['queuectl-dedup-abc123']));
    expect(new Set(copies.map((c) => c.requestId)).size).toBe(3);
    expect(Number.isInteger(copies[0].fileId)).toBe(true);
    expect(copies[0].tags).toEqual([]);
    expect(typeof copies[0].lang).toBe('string');
    expect(copies[0].org).toEqual({ id: 'queuectl-dedup-abc123' });
  });

  it('reports template fields the payload schema does not declare', () => {
    expect(schemaProblem(['sessionId'], schema({ fileId: { type: 'string' } }))).toMatch(/"sessionId", which the payload schema does not declare/);
    expect(schemaProblem(['org.id'], schema({ org: { type: 'string' } }))).toMatch(/declared as string/);
    expect(schemaProblem(['anything'], undefined)).toBeUndefined();
  });
});

describe('job options', () => {
  it('shortens every backoff for the canary and maps steps to a custom strategy', () => {
    const exp = producerOptions(spec({ backoff: { type: 'exponential', delay: 2000, jitter: 0.2 } }), true);
    expect(exp.job.backoff).toEqual({ type: 'exponential', delay: CANARY_MAX_DELAY, jitter: 0.2 });
    const steps = producerOptions(spec({ backoff: { type: 'steps', steps: [10, 120_000, 300_000] } }), true);
    expect(steps.job.backoff).toEqual({ type: STEPS_BACKOFF });
    expect([1, 2, 3, 9].map((n) => steps.backoffStrategy!(n))).toEqual([10, CANARY_MAX_DELAY, CANARY_MAX_DELAY, CANARY_MAX_DELAY]);
    const real = producerOptions(spec({ backoff: { type: 'fixed', delay: 30_000 } }), false);
    expect(real.job.backoff).toEqual({ type: 'fixed', delay: 30_000 });
  });

  it('converts retention ages to BullMQ seconds', () => {
    const { job } = producerOptions(spec({ removeOnComplete: { age: 86_400_000, count: 1000 }, removeOnFail: true }), true);
    expect(job).toMatchObject({ attempts: 3, removeOnComplete: { age: 86_400, count: 1000 }, removeOnFail: true });
  });

  it('warns when removeOnComplete frees an id a later duplicate could take', () => {
    expect(retentionWarning(true)).toMatch(/as soon as it completes/);
    expect(retentionWarning({ count: 10 })).toMatch(/after 10 newer completions/);
    expect(retentionWarning({ age: 3_600_000 })).toMatch(/more than 1h after completion/);
    expect(retentionWarning(false)).toBeUndefined();
    expect(retentionWarning(undefined)).toBeUndefined();
  });
});

describe('plans and verdicts', () => {
  it('skips dedup: none and fails a queue with no rule', () => {
    expect(planQueue(spec({ dedup: 'none' }), 5, 's')).toMatchObject({ kind: 'skip', detail: 'dedup: none — not checked' });
    expect(planQueue(spec(), 5, 's')).toMatchObject({ kind: 'fail', detail: expect.stringMatching(/no jobId template and no "dedup: none"/) });
  });

  it('fails broken templates with the reason, not a crash', () => {
    expect(planQueue(spec({ jobId: '{fileId}' }), 5, 's')).toMatchObject({ kind: 'fail', detail: expect.stringMatching(/jobId "\{fileId\}" can render an integer/) });
    expect(planQueue(spec({ jobId: 'p:{sessionId}' }), 5, 's')).toMatchObject({ kind: 'fail', detail: expect.stringMatching(/contains ":"/) });
    expect(planQueue(spec({ jobId: 'p-{sessionId}', payload: schema({ fileId: { type: 'string' } }) }), 5, 's'))
      .toMatchObject({ kind: 'fail', detail: expect.stringMatching(/does not declare/) });
  });

  it('warns when only the deduplication id holds a per-request jobId together', () => {
    const plan = planQueue(spec({ jobId: 'p-{requestId}', deduplication: { id: 'd-{sessionId}' } }), 3, 's1');
    expect(plan).toMatchObject({ kind: 'check', warnings: [expect.stringMatching(/only the deduplication id keeps copies together/)] });
  });

  it('passes one job with exactly one completion and n-1 duplicates, and explains n jobs', () => {
    const plan = planQueue(spec({ jobId: 'p-{requestId}' }), 5, 'queuectl-dedup-x');
    if (plan.kind !== 'check') throw new Error(plan.detail);
    expect(new Set(plan.copies.map((c) => c.jobId)).size).toBe(5);
    const ok = scratchVerdict(plan, { jobs: 1, attempts: 2, completions: 1, duplicateEvents: 4, settled: true, settleMs: 10_000 });
    expect(ok).toMatchObject({ ok: true, attempts: 2, completions: 1 });
    const twice = scratchVerdict(plan, { jobs: 1, attempts: 3, completions: 2, duplicateEvents: 4, settled: true, settleMs: 10_000 });
    expect(twice).toMatchObject({ ok: false, detail: expect.stringMatching(/2 completions of one job, expected exactly 1/) });
    const bad = scratchVerdict(plan, { jobs: 5, attempts: 10, completions: 5, duplicateEvents: 0, settled: true, settleMs: 10_000 });
    expect(bad).toMatchObject({ ok: false, jobs: 5 });
    expect(bad.detail).toMatch(/5 jobs from 5 copies of one session — jobId "p-\{requestId\}" reads requestId, which varies per request/);
    const slow = scratchVerdict(plan, { jobs: 1, attempts: 1, completions: 0, duplicateEvents: 4, settled: false, settleMs: 10_000 });
    expect(slow.detail).toMatch(/did not settle within 10s/);
  });
});
