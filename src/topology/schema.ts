import * as z from '../vendor/zod.js';
import { cronProblem, timeZoneProblem } from './cron.js';
import { DURATION_HINT, durationProblem, formatDuration, parseDuration } from './durations.js';
import { describeValue, issueMessage, unknownKeyMessage } from './problems.js';
import type { Backoff, DeadLetter, DeadLetterFields, Retention } from './types.js';
import { COLUMN_ROLES, STATUS_ROLES, type ColumnRole, type StatusRole } from '../table/types.js';
import { isTableName } from '../table/identifier.js';

/**
 * The topology file's surface syntax, and the only module that knows it. Parsing turns every
 * duration into milliseconds and every shorthand into its full form; normalize.ts then merges
 * `defaults` and names the entries, giving the `Topology` of types.ts.
 */

/** Milliseconds, or a string such as `500ms`, `30s`, `5m`, `1h`, `7d`. */
export type DurationInput = number | string;

const PARSE_OPTIONS = { error: issueMessage, reportInput: true } as const;

/** Parses with the wording of problems.ts (also used for the nested parses below). */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown) {
  return schema.safeParse(value, PARSE_OPTIONS);
}

/** A strict object whose unknown-key problems suggest the closest known key. */
function strict<S extends z.core.$ZodLooseShape>(shape: S) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? issue.keys.map((key) => unknownKeyMessage(key, known)).join('\n') : undefined),
  });
}

type Kind = 'boolean' | 'number' | 'string' | 'array' | 'object';
const kindOf = (value: unknown): Kind | undefined =>
  Array.isArray(value) ? 'array' : value !== null && ['boolean', 'number', 'string', 'object'].includes(typeof value) ? (typeof value as Kind) : undefined;

/**
 * A value with several written forms, picked by its JSON kind. Unlike z.union, a problem inside
 * the chosen form is reported at its own path instead of as "matches no alternative".
 */
function byKind<In, Out>(expected: string, branches: Partial<Record<Kind, z.ZodType<Out>>>) {
  return z.custom<In>().transform((value, ctx): Out => {
    const kind = kindOf(value);
    const branch = kind && branches[kind];
    if (!branch) {
      ctx.addIssue({ code: 'custom', message: `expected ${expected}, got ${describeValue(value)} — write ${expected}`, input: value });
      return z.NEVER;
    }
    const result = parseWith(branch, value);
    if (!result.success) {
      ctx.issues.push(...(result.error.issues as typeof ctx.issues));
      return z.NEVER;
    }
    return result.data;
  });
}

const duration = z.custom<DurationInput>().transform((value, ctx): number => {
  const ms = parseDuration(value);
  if (ms !== undefined) return ms;
  ctx.addIssue({ code: 'custom', message: value === undefined ? `missing — add a duration (${DURATION_HINT})` : durationProblem(value), input: value });
  return z.NEVER;
});

const count = (what: string) => z.int({ error: (i) => (i.code !== 'invalid_type' || i.input === undefined ? undefined : `${what} must be a whole number, got ${describeValue(i.input)} — write an integer`) }).min(1);
const jitter = z.number().min(0).max(1, { error: 'jitter must be between 0 and 1 — e.g. jitter: 0.2 (±20%)' });

const backoffObject = strict({
  type: z.enum(['fixed', 'exponential', 'steps']),
  delay: duration.optional(),
  steps: z.array(duration).min(1, { error: 'steps must not be empty — e.g. steps: [30s, 2m, 5m]' }).optional(),
  jitter: jitter.optional(),
}).transform((b, ctx): Backoff => {
  const withJitter = b.jitter === undefined ? {} : { jitter: b.jitter };
  if (b.type === 'steps') {
    if (b.delay !== undefined) ctx.addIssue({ code: 'custom', path: ['delay'], message: 'steps backoff takes no delay — remove it, or use type: fixed/exponential' });
    if (b.steps) return { type: 'steps', steps: b.steps, ...withJitter };
    ctx.addIssue({ code: 'custom', path: ['steps'], message: 'missing — add steps: [30s, 2m, 5m] (one wait per retry)' });
    return z.NEVER;
  }
  if (b.steps !== undefined) ctx.addIssue({ code: 'custom', path: ['steps'], message: `${b.type} backoff takes no steps — remove them, or use type: steps` });
  if (b.delay !== undefined) return { type: b.type, delay: b.delay, ...withJitter };
  ctx.addIssue({ code: 'custom', path: ['delay'], message: `missing — add delay: 2000 (or 30s) to the ${b.type} backoff` });
  return z.NEVER;
});

export type BackoffInput =
  | DurationInput
  | DurationInput[]
  | { type: 'fixed' | 'exponential'; delay: DurationInput; jitter?: number }
  | { type: 'steps'; steps: DurationInput[]; jitter?: number };

const BACKOFF_FORMS = 'a duration, a list of durations or { type: fixed|exponential|steps, ... }';
const backoff = byKind<BackoffInput, Backoff>(BACKOFF_FORMS, {
  number: duration.transform((delay): Backoff => ({ type: 'fixed', delay })),
  string: duration.transform((delay): Backoff => ({ type: 'fixed', delay })),
  array: z.array(duration).min(1, { error: 'an empty steps list — e.g. [30s, 2m, 5m]' }).transform((steps): Backoff => ({ type: 'steps', steps })),
  object: backoffObject,
});

/**
 * Retention `age` as BullMQ reads it: a bare number is seconds (`removeOnComplete: { age: 86400 }`
 * in real code is a day), a string with a unit is a duration. A unitless string is refused: it
 * would be milliseconds everywhere else in the file and seconds in the code it is copied from.
 */
const retentionAge = z.custom<number | string>().transform((value, ctx): number => {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.round(value * 1000);
  const ms = typeof value === 'string' && /[a-z]\s*$/i.test(value) ? parseDuration(value) : undefined;
  if (ms !== undefined) return ms;
  const unitless = typeof value === 'string' && parseDuration(value) !== undefined;
  const message = unitless
    ? `age "${value}" has no unit — write age: ${value.trim()} (a number: seconds, as BullMQ reads it) or a duration such as 1d`
    : `invalid age ${describeValue(value)} — write seconds as a number (as BullMQ: 86400) or a duration such as 1d, 12h`;
  ctx.addIssue({ code: 'custom', message, input: value });
  return z.NEVER;
});

/** `age`: a number is seconds (BullMQ's KeepJobs.age), a string a duration; normalized to ms. */
export type RetentionInput = boolean | number | { age?: number | string; count?: number };
const RETENTION_FORMS = 'true, false, a count or { age, count }';
const retention = byKind<RetentionInput, Retention>(RETENTION_FORMS, {
  boolean: z.boolean(),
  number: z.int().min(0).transform((n): Retention => ({ count: n })),
  object: strict({ age: retentionAge.optional(), count: z.int().min(0).optional() }),
});

export type DeadLetterInput = 'failed' | { queue: string; fields?: DeadLetterFields };
const itemKey = z.string().min(1).optional();
/** The dead-letter item's shape: which key of its job data holds each part of the failed job. */
const deadLetterFields = strict({
  queue: z.string().min(1), id: z.string().min(1), data: z.string().min(1),
  name: itemKey, reason: itemKey, failedAt: itemKey, attempts: itemKey, opts: itemKey,
});
const definedOnly = (o: object) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
const deadLetter = byKind<DeadLetterInput, DeadLetter>('"failed" or { queue: <dead-letter queue> }', {
  string: z.literal('failed', { error: (i) => `expected "failed" or { queue: <name> }, got ${describeValue(i.input)} — write deadLetter: { queue: ${String(i.input)} } for a dead-letter queue` })
    .transform((): DeadLetter => ({ kind: 'failed' })),
  object: strict({ queue: z.string().min(1), fields: deadLetterFields.optional() })
    .transform((d): DeadLetter => ({ kind: 'queue', queue: d.queue, ...(d.fields ? { fields: definedOnly(d.fields) as DeadLetterFields } : {}) })),
});

const pair = <T extends z.ZodType>(item: T, example: string) =>
  z.tuple([item, item], { error: (i) => `expected [warning, critical], got ${describeValue(i.input)} — e.g. ${example}` });
const orderedPair = (label: (n: number) => string) => (p: [number, number], ctx: z.RefinementCtx) => {
  if (p[0] > p[1]) ctx.addIssue({ code: 'custom', message: `warning ${label(p[0])} is above critical ${label(p[1])} — write [warning, critical] with warning <= critical` });
};
const threshold = pair(z.int().min(0), '[100, 500]').superRefine(orderedPair(String));
const alerts = strict({
  waiting: threshold.optional(),
  delayed: threshold.optional(),
  active: threshold.optional(),
  failed: threshold.optional(),
  oldestWait: pair(duration, '[1m, 5m]').superRefine(orderedPair(formatDuration)).optional(),
});

const payload = strict({
  type: z.literal('object', { error: (i) => `expected "object", got ${describeValue(i.input)} — a payload schema describes the job data object: type: object` }),
  properties: z.record(z.string(), strict({ type: z.enum(['string', 'number', 'integer', 'boolean', 'object', 'array']), description: z.string().optional() })),
  required: z.array(z.string()).default([]),
}).superRefine((p, ctx) => {
  p.required.forEach((name, i) => {
    if (!(name in p.properties)) {
      ctx.addIssue({ code: 'custom', path: ['required', i], message: `"${name}" is required but not declared — add it under properties or remove it from required` });
    }
  });
});

/** BullMQ's largest priority (Job.validateOptions, PRIORITY_LIMIT); 1 runs first, 0 means none. */
export const PRIORITY_LIMIT = 2 ** 21 - 1;
const priority = z.int({ error: (i) => (i.input === undefined ? undefined : `priority must be a whole number, got ${describeValue(i.input)} — 1 runs first, higher numbers later`) })
  .min(0)
  .max(PRIORITY_LIMIT, { error: `priority must be at most ${PRIORITY_LIMIT} (BullMQ's limit) — 1 runs first, higher numbers later` });

/**
 * `jobOptions.<job name>`: what the producer passes to Queue.add for jobs of that name, over the
 * queue's own options (e.g. `report.nightly: { priority: 5, attempts: 2 }`).
 */
const jobNameOptions = strict({
  priority: priority.optional(),
  attempts: count('attempts').optional(),
  backoff: backoff.optional(),
  delay: duration.optional(),
  lifo: z.boolean().optional(),
  removeOnComplete: retention.optional(),
  removeOnFail: retention.optional(),
  timeout: duration.optional(),
});

/** Queue options that `defaults` may also carry (everything but jobs and jobId). */
const queueOptions = {
  description: z.string().optional(),
  dedup: z.literal('none', { error: (i) => `expected "none", got ${describeValue(i.input)} — write dedup: none, or give a jobId template instead` }).optional(),
  deduplication: strict({ id: z.string().min(1), ttl: duration.optional() }).optional(),
  attempts: count('attempts').optional(),
  backoff: backoff.optional(),
  removeOnComplete: retention.optional(),
  removeOnFail: retention.optional(),
  deadLetter: deadLetter.optional(),
  concurrency: count('concurrency').optional(),
  rateLimit: strict({ max: count('max'), duration }).optional(),
  timeout: duration.optional(),
  /** The worker's lock on an active job (BullMQ lockDuration), renewed while the job runs; apart from timeout. */
  lockDuration: duration.optional(),
  alerts: alerts.optional(),
  payload: payload.optional(),
};

/** A scheduler's startDate/endDate: an ISO 8601 date-time or epoch milliseconds; normalized to ms. */
const instant = z.custom<string | number>().transform((value, ctx): number => {
  const ms = typeof value === 'number' ? value : typeof value === 'string' && /\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isFinite(ms) && ms >= 0) return ms;
  ctx.addIssue({ code: 'custom', message: `invalid date ${describeValue(value)} — write an ISO 8601 date-time such as 2026-01-31T03:00:00Z, or epoch milliseconds`, input: value });
  return z.NEVER;
});

/** Options BullMQ's upsertJobScheduler refuses or ignores in a template (JobSchedulerTemplateOptions). */
const NOT_IN_TEMPLATE = ['jobId', 'repeat', 'delay', 'deduplication', 'debounce'];
const schedulerJob = strict({
  name: z.string().min(1),
  data: z.record(z.string(), z.unknown()).optional(),
  opts: z.record(z.string(), z.unknown()).superRefine((opts, ctx) => {
    for (const key of Object.keys(opts)) {
      if (NOT_IN_TEMPLATE.includes(key)) ctx.addIssue({ code: 'custom', path: [key], message: `a scheduler's job template takes no ${key} — the scheduler sets ids and timing itself; remove it` });
    }
  }).optional(),
});

/**
 * `schedulers.<id>`: a BullMQ job scheduler. Exactly one of `pattern` (cron, parsed by the library
 * BullMQ uses: cron.ts) or `every`; `tz` only with a pattern; `immediately` not with `startDate`
 * (BullMQ refuses that pair).
 */
const scheduler = strict({
  pattern: z.string().min(1).optional(),
  tz: z.string().min(1).optional(),
  every: duration.optional(),
  limit: count('limit').optional(),
  startDate: instant.optional(),
  endDate: instant.optional(),
  immediately: z.boolean().optional(),
  job: schedulerJob.optional(),
}).superRefine((s, ctx) => {
  const problem = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (s.pattern === undefined && s.every === undefined) problem('pattern', 'missing — give a cron pattern (pattern: "0 3 * * *") or an interval (every: 30s)');
  if (s.pattern !== undefined && s.every !== undefined) problem('every', 'a scheduler takes a pattern or every, not both — remove one');
  if (s.every === 0) problem('every', 'every must be more than 0 — e.g. every: 30s');
  if (s.tz !== undefined) {
    const tzProblem = timeZoneProblem(s.tz);
    if (tzProblem) problem('tz', tzProblem);
    else if (s.pattern === undefined) problem('tz', 'tz applies to a cron pattern only — remove it, or use pattern:');
  }
  if (s.pattern !== undefined) {
    const cron = cronProblem(s.pattern, s.tz);
    if (cron) problem('pattern', cron);
  }
  if (s.immediately && s.every !== undefined) problem('immediately', 'an every scheduler already fires at once; immediately applies to a pattern only (BullMQ warns and ignores it) — remove it');
  if (s.immediately && s.startDate !== undefined) problem('immediately', 'immediately and startDate do not go together (BullMQ refuses the pair) — keep one');
  if (s.startDate !== undefined && s.endDate !== undefined && s.endDate <= s.startDate) problem('endDate', 'endDate is not after startDate — the scheduler would never fire');
});

const queue = strict({
  jobs: z.array(z.string().min(1), { error: (i) => (i.input === undefined ? 'missing — list the job names this queue owns: jobs: [name]' : undefined) })
    .min(1, { error: 'jobs must not be empty — list the job names this queue owns' }),
  jobId: z.string().min(1).optional(),
  jobOptions: z.record(z.string(), jobNameOptions).optional(),
  schedulers: z.record(z.string().min(1), scheduler).nullish(),
  paused: z.boolean().optional(),
  ...queueOptions,
});

const worker = strict({
  queues: z.array(z.string().min(1), { error: (i) => (i.input === undefined ? 'missing — list the queues this worker consumes: queues: [name]' : undefined) })
    .min(1, { error: 'queues must not be empty — list the queues this worker consumes' }),
  concurrency: count('concurrency').optional(),
  description: z.string().optional(),
});

const columnName = z.string().min(1);
/** A legacy table queue (contract Part 2 "Legacy table queues"); columns and status values left out are guessed live. */
const tableSource = strict({
  name: z.string().refine(isTableName, { error: (i) => `expected a table name as written in SQL, got ${describeValue(i.input)} — e.g. name: '"WorkerJob"' or app.jobs` }),
  urlEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'urlEnv names an environment variable (e.g. DATABASE_URL), never the URL itself' }).optional(),
  columns: strict(Object.fromEntries(COLUMN_ROLES.map((role) => [role, columnName.optional()])) as Record<ColumnRole, z.ZodOptional<typeof columnName>>).optional(),
  status: strict(Object.fromEntries(STATUS_ROLES.map((role) => [role, z.string().min(1).optional()])) as Record<StatusRole, z.ZodOptional<z.ZodString>>).optional(),
  priority: z.enum(['higher-first', 'lower-first'], { error: (i) => `expected higher-first or lower-first, got ${describeValue(i.input)} — which priority values the table runs first` }).optional(),
  lockTimeout: duration.optional(),
  /** The priorities the application uses, [lowest, highest] (e.g. [0, 10]); topology check reports rows outside it. */
  priorityRange: z.tuple([z.number(), z.number()], { error: (i) => `expected [lowest, highest], got ${describeValue(i.input)} — e.g. priorityRange: [0, 10]` })
    .refine((r) => r[0] <= r[1], { error: 'priorityRange is [lowest, highest]: the first must not be above the second' }).optional(),
});

/**
 * `kind`: which library wrote the legacy queue's keys: BullMQ (the default) or Bull 3.x/4.x,
 * whose layout differs (src/inspect/bull-reads.ts). A table source has no keys, so no kind.
 */
const legacy = strict({
  note: z.string().optional(),
  to: z.string().min(1).optional(),
  kind: z.enum(['bullmq', 'bull'], { error: (i) => `expected bullmq or bull, got ${describeValue(i.input)} — the library that wrote this queue (kind: bull for Bull 3.x/4.x)` }).optional(),
  table: tableSource.optional(),
}).superRefine((entry, ctx) => {
  if (entry.kind !== undefined && entry.table !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['kind'], message: 'a table source is a database table, not a Bull or BullMQ queue — remove kind, or table' });
  }
});

export const topologySchema = strict({
  version: z.literal(1, { error: (i) => `unsupported version ${describeValue(i.input)} — this queuectl reads version: 1` }).default(1),
  prefix: z.string().min(1).default('bull'),
  /** Where the queues live; a URL of the other kind is a usage error. */
  backend: z.enum(['redis', 'postgres']).optional(),
  /** BullMQ's schema on PostgreSQL (BullMQ's own rule for the name); --schema overrides it. */
  schema: z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/, { error: 'not a schema name BullMQ accepts — a letter or _, then letters, digits, _ or $ (at most 63)' }).optional(),
  defaults: strict(queueOptions).nullish(),
  queues: z.record(z.string(), queue, { error: (i) => (i.input === undefined ? 'missing — declare your queues under queues:' : undefined) }),
  workers: z.record(z.string(), worker).nullish(),
  legacy: z.record(z.string(), legacy.nullable()).nullish(),
});

/** What a topology file (or `defineTopology()`) may contain. */
export type TopologyInput = z.input<typeof topologySchema>;
/** The file after parsing, before defaults are merged (see normalize.ts). */
export type ParsedTopology = z.output<typeof topologySchema>;
