import { colonsAccepted, jobIdProblem, parseIdTemplate, templateFields, type TemplatePart } from '../topology/rules/template.js';
import type { Payload } from './types.js';

export { parseIdTemplate, templateFields, type TemplatePart };

export type Rendered = { ok: true; id: string } | { ok: false; problem: string };

/** Reads a dotted path (`org.id`) from a payload; undefined when any step is missing. */
export function readPath(payload: Payload, path: string): unknown {
  let value: unknown = payload;
  for (const step of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return value;
}

/** Fills `{field}` placeholders from the payload, as a producer computing the job id would. */
export function renderTemplate(template: string, payload: Payload): Rendered {
  const parsed = parseIdTemplate(template);
  if (!parsed.ok) return { ok: false, problem: parsed.problem };
  let id = '';
  for (const part of parsed.parts) {
    if (part.kind === 'text') {
      id += part.text;
      continue;
    }
    const value = readPath(payload, part.field);
    if (value === undefined || value === null) return { ok: false, problem: `field "${part.field}" is missing from the payload` };
    if (typeof value === 'object') return { ok: false, problem: `field "${part.field}" is an object, not a value` };
    id += String(value);
  }
  return { ok: true, id };
}

/** BullMQ's own rule for custom job ids (Job.validateOptions), applied to one rendered id. */
export function renderedIdProblem(id: string): string | undefined {
  if (id === '') return 'renders an empty id';
  if (`${parseInt(id, 10)}` === id) return `renders an integer ("${id}"), which BullMQ rejects as a custom id`;
  if (!colonsAccepted(id)) return `renders "${id}", whose ":" BullMQ rejects (it accepts exactly two or none)`;
  if (id.startsWith('0')) return `renders "${id}", which starts with "0" and BullMQ rejects`;
  return undefined;
}

/**
 * Why this jobId template cannot work for every payload, or undefined. Static, the same rules as
 * `topology validate`, so a template that only breaks for some values still fails the check.
 */
export function staticTemplateProblem(template: string): string | undefined {
  const parsed = parseIdTemplate(template);
  if (!parsed.ok) return parsed.problem;
  if (templateFields(parsed.parts).length === 0) return 'names no payload field, so every job of the queue would share one id';
  return jobIdProblem(parsed.parts);
}
