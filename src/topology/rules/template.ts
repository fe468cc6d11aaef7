/**
 * Job id templates: literal text with `{field}` placeholders filled from job data, e.g.
 * `process-{sessionId}`. A field may be a dotted path (`{order.id}`).
 */
export type TemplatePart = { kind: 'text'; text: string } | { kind: 'field'; field: string };

export type ParsedTemplate =
  | { ok: true; parts: TemplatePart[] }
  | { ok: false; problem: string };

export function parseIdTemplate(template: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  let rest = template;
  while (rest.length > 0) {
    const open = rest.indexOf('{');
    const close = rest.indexOf('}');
    if (close !== -1 && (open === -1 || close < open)) return { ok: false, problem: `a "}" at ${template.length - rest.length + close + 1} has no "{"` };
    if (open === -1) {
      parts.push({ kind: 'text', text: rest });
      break;
    }
    if (open > 0) parts.push({ kind: 'text', text: rest.slice(0, open) });
    const end = rest.indexOf('}', open);
    if (end === -1) return { ok: false, problem: 'a "{" is never closed with "}"' };
    const field = rest.slice(open + 1, end).trim();
    if (field === '' || field.includes('{')) return { ok: false, problem: `"${rest.slice(open, end + 1)}" does not name a field` };
    parts.push({ kind: 'field', field });
    rest = rest.slice(end + 1);
  }
  return { ok: true, parts };
}

/** The fields a template reads, in order, without repeats. */
export function templateFields(parts: TemplatePart[]): string[] {
  return [...new Set(parts.flatMap((p) => (p.kind === 'field' ? [p.field] : [])))];
}

/**
 * BullMQ 6.7's colon rule for custom ids (Job.validateOptions): an id with `:` is accepted only
 * when it has exactly two, i.e. three parts (kept for old repeatable-job ids such as
 * `{type}:{jobId}:{ts}`). True when `id` passes it.
 */
export function colonsAccepted(id: string): boolean {
  return !id.includes(':') || id.split(':').length === 3;
}

/**
 * Why BullMQ would reject some rendering of this template, or undefined. BullMQ refuses custom ids
 * that are integer strings (`String(parseInt(id)) === id`), that contain `:` other than exactly
 * two of them (colonsAccepted), or that are "0…". Field values are assumed free of `:`.
 */
export function jobIdProblem(parts: TemplatePart[]): string | undefined {
  const literal = parts.map((p) => (p.kind === 'text' ? p.text : '')).join('');
  if (!colonsAccepted(literal)) {
    const colons = literal.split(':').length - 1;
    return `contains ":" ${colons === 1 ? 'once' : `${colons} times`}, and BullMQ accepts ":" in a custom id only exactly twice (three parts, e.g. "{type}:{id}:{ts}")`;
  }
  const first = parts[0];
  if (first?.kind === 'text' && first.text.startsWith('0')) return 'starts with "0" (BullMQ rejects "0" and ids starting "0:")';
  // With only digits (and a leading sign) around the fields, a numeric field renders e.g. "42".
  const texts = parts.map((p, i) => (p.kind === 'field' ? '' : i === 0 ? p.text.replace(/^-/, '') : p.text));
  if (texts.every((t) => /^\d*$/.test(t))) {
    return parts.length === 0 ? 'is empty' : 'can render an integer (e.g. "42"), which BullMQ rejects as a custom id';
  }
  return undefined;
}
