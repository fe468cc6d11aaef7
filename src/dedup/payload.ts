import { randomBytes } from 'node:crypto';
import type { PayloadFieldType, PayloadSchema } from '../topology/types.js';
import type { Payload } from './types.js';

/**
 * Synthetic payloads for n producers enqueueing the SAME session.
 *
 * Design: real producers that race on one session send the same session fields (sessionId,
 * fileId, …) but each call carries its own per-request data (a request or trace id, a
 * timestamp). So the copies share every field except the per-request ones, which differ per
 * copy. A jobId template built on a per-request field therefore renders n ids and makes n
 * jobs, which is exactly the bug the check exists to catch. A field is per-request when its
 * name says so (requestId, traceId, correlationId, messageId, spanId, timestamp, ts, nonce, a
 * camelCase `…At` such as createdAt) or its payload-schema description says "per request",
 * "per call" or "per enqueue".
 */
export interface SynthesisInput {
  /** Fields the jobId (and deduplication id) templates read, dotted paths allowed. */
  fields: string[];
  schema?: PayloadSchema;
  /** The synthetic session value, e.g. `queuectl-dedup-3f9a…`: obviously not a real session. */
  session: string;
  copies: number;
}

const PER_REQUEST_NAME = /^(?:(?:request|trace|correlation|message|span)[-_]?id|timestamp|ts|nonce)$/i;
/** camelCase instants: createdAt, enqueuedAt, requestedAt (case-sensitive, so "format" is not one). */
const INSTANT_NAME = /^[a-z][A-Za-z]*[a-z]At$/;
const PER_REQUEST_DESCRIPTION = /per[- ](?:request|call|enqueue)/i;

export function isPerRequestField(path: string, schema?: PayloadSchema): boolean {
  const top = path.split('.')[0];
  const description = schema?.properties[top]?.description;
  if (description && PER_REQUEST_DESCRIPTION.test(description)) return true;
  const last = path.split('.').pop() ?? path;
  return PER_REQUEST_NAME.test(last) || INSTANT_NAME.test(last);
}

export function randomSession(kind = 'dedup'): string {
  return `queuectl-${kind}-${randomBytes(5).toString('hex')}`;
}

/** A session value of the declared type; numbers stay non-zero and large so ids never start with 0. */
function sessionValue(type: PayloadFieldType | undefined, session: string): unknown {
  if (type === 'number' || type === 'integer') return 900_000_000 + (parseInt(session.slice(-6), 16) % 99_999_999);
  if (type === 'boolean') return true;
  return session;
}

function perRequestValue(type: PayloadFieldType | undefined, copy: number, salt: string): unknown {
  if (type === 'number' || type === 'integer') return Date.now() + copy;
  if (type === 'boolean') return copy % 2 === 0;
  return `queuectl-request-${copy + 1}-${salt}`;
}

function emptyValue(type: PayloadFieldType, session: string): unknown {
  switch (type) {
    case 'string': return session;
    case 'number': case 'integer': return 1;
    case 'boolean': return false;
    case 'object': return {};
    case 'array': return [];
  }
}

function setPath(payload: Payload, path: string, value: unknown): void {
  const steps = path.split('.');
  let node = payload;
  for (const step of steps.slice(0, -1)) {
    const next = node[step];
    if (next === null || typeof next !== 'object') node[step] = {};
    node = node[step] as Payload;
  }
  node[steps[steps.length - 1]] = value;
}

/** n payloads of one session: identical but for per-request fields. */
export function synthesisePayloads(input: SynthesisInput): Payload[] {
  const salt = randomBytes(3).toString('hex');
  const { schema, session } = input;
  return Array.from({ length: input.copies }, (_, copy) => {
    const payload: Payload = {};
    for (const name of schema?.required ?? []) {
      const type = schema?.properties[name]?.type ?? 'string';
      payload[name] = isPerRequestField(name, schema) ? perRequestValue(type, copy, salt) : emptyValue(type, session);
    }
    for (const field of input.fields) {
      // Only top-level fields have a declared type; nested ones are synthesised as strings.
      const type = field.includes('.') ? undefined : schema?.properties[field]?.type;
      setPath(payload, field, isPerRequestField(field, schema) ? perRequestValue(type, copy, salt) : sessionValue(type, session));
    }
    return payload;
  });
}

/**
 * Why the templates' fields do not fit the declared payload schema, or undefined (always
 * undefined when no schema is declared: then the template is the only description of the data).
 */
export function schemaProblem(fields: string[], schema?: PayloadSchema): string | undefined {
  if (!schema) return undefined;
  for (const field of fields) {
    const [top, ...rest] = field.split('.');
    const declared = schema.properties[top];
    if (!declared) return `reads "${field}", which the payload schema does not declare`;
    if (rest.length > 0 && declared.type !== 'object') return `reads "${field}", but "${top}" is declared as ${declared.type}`;
    if (rest.length === 0 && (declared.type === 'object' || declared.type === 'array')) return `reads "${field}", which is declared as ${declared.type}, not a value`;
  }
  return undefined;
}
