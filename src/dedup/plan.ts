import type { QueueSpec } from '../topology/types.js';
import { isPerRequestField, schemaProblem, synthesisePayloads } from './payload.js';
import { parseIdTemplate, renderTemplate, renderedIdProblem, staticTemplateProblem, templateFields } from './template.js';
import { retentionWarning } from './options.js';
import type { Payload } from './types.js';

/** What dedup-check will do with one queue, decided before touching Redis. */
export type QueuePlan =
  | { kind: 'skip'; queue: string; detail: string }
  | { kind: 'fail'; queue: string; detail: string }
  | {
      kind: 'check';
      queue: string;
      spec: QueueSpec;
      template: string;
      /** One payload and its rendered ids per copy. */
      copies: { payload: Payload; jobId: string; deduplicationId?: string }[];
      /** Template fields that differ per copy (per-request fields): they break deduplication. */
      perRequestFields: string[];
      warnings: string[];
    };

function fieldsOf(template: string): string[] {
  const parsed = parseIdTemplate(template);
  return parsed.ok ? templateFields(parsed.parts) : [];
}

/** Pure: classifies a queue and synthesises n copies of one session for it. */
export function planQueue(spec: QueueSpec, copies: number, session: string): QueuePlan {
  const queue = spec.name;
  const fail = (detail: string): QueuePlan => ({ kind: 'fail', queue, detail });
  if (spec.jobId === undefined) {
    if (spec.dedup === 'none') return { kind: 'skip', queue, detail: 'dedup: none — not checked' };
    return fail('no jobId template and no "dedup: none": duplicate enqueues make duplicate jobs — add jobId: "<name>-{sessionId}" (or dedup: none if the work is idempotent)');
  }
  const template = spec.jobId;
  const broken = staticTemplateProblem(template);
  if (broken) return fail(`jobId "${template}" ${broken}`);
  const dedupTemplate = spec.deduplication?.id;
  if (dedupTemplate !== undefined) {
    const parsed = parseIdTemplate(dedupTemplate);
    if (!parsed.ok) return fail(`deduplication id "${dedupTemplate}": ${parsed.problem}`);
  }
  const fields = fieldsOf(template);
  const allFields = [...new Set([...fields, ...(dedupTemplate ? fieldsOf(dedupTemplate) : [])])];
  const mismatch = schemaProblem(fields, spec.payload);
  if (mismatch) return fail(`jobId "${template}" ${mismatch}`);
  const dedupMismatch = dedupTemplate ? schemaProblem(fieldsOf(dedupTemplate), spec.payload) : undefined;
  if (dedupMismatch) return fail(`deduplication id "${dedupTemplate}" ${dedupMismatch}`);

  const payloads = synthesisePayloads({ fields: allFields, schema: spec.payload, session, copies });
  const rendered: { payload: Payload; jobId: string; deduplicationId?: string }[] = [];
  for (const payload of payloads) {
    const id = renderTemplate(template, payload);
    if (!id.ok) return fail(`jobId "${template}": ${id.problem}`);
    const bad = renderedIdProblem(id.id);
    if (bad) return fail(`jobId "${template}" ${bad}`);
    let deduplicationId: string | undefined;
    if (dedupTemplate !== undefined) {
      const dedup = renderTemplate(dedupTemplate, payload);
      if (!dedup.ok) return fail(`deduplication id "${dedupTemplate}": ${dedup.problem}`);
      deduplicationId = dedup.id;
    }
    rendered.push({ payload, jobId: id.id, deduplicationId });
  }
  const perRequestFields = fields.filter((f) => isPerRequestField(f, spec.payload));
  const warnings = [retentionWarning(spec.removeOnComplete)].filter((w): w is string => w !== undefined);
  if (perRequestFields.length > 0 && dedupTemplate !== undefined) {
    // The de: key may hide the bad id today, but it lapses when the job finishes or its TTL ends.
    warnings.push(`jobId "${template}" reads ${perRequestFields.join(', ')}, which vary per request: only the deduplication id keeps copies together, and only while its key lives`);
  }
  return {
    kind: 'check',
    queue,
    spec,
    template,
    copies: rendered,
    perRequestFields,
    warnings,
  };
}
