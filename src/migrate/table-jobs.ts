import { renderTemplate, renderedIdProblem } from '../dedup/template.js';
import { jobOptsFor } from '../dlq/job-opts.js';
import { jobSpec } from '../topology/job-spec.js';
import type { Topology } from '../topology/types.js';
import type { PriorityDirection } from '../table/types.js';
import { routeName, type Routing } from './routing.js';

/**
 * What `migrate --from <table source>` makes of one row (pure): the BullMQ job it becomes in the
 * queue owning its family. The engine (table-engine.ts) writes these to the outbox and then to
 * the destination; nothing here touches a server.
 */

/** BullMQ's highest priority number (2^21 − 1); 1 runs first. */
export const MAX_BULLMQ_PRIORITY = 2_097_151;

/** One table row as the claim query returns it (columns the table lacks come back null). */
export interface TableRow {
  id: string;
  name: string;
  data: unknown;
  /** Every column of the row by its own name (the jobId template may name any). */
  row: Record<string, unknown>;
  runAtMs: number | null;
  createdAtMs: number | null;
  priority: number | null;
  attemptsMade: number | null;
  maxAttempts: number | null;
  lastError: string | null;
  /** `ready` and `scheduled` rows become jobs to run; `failed` and `dead` ones, failed jobs. */
  kind: 'run' | 'failed';
}

/** The job a row becomes. `runAtMs` stays absolute: the delay is computed when it is written. */
export interface IntendedJob {
  queue: string;
  jobId: string;
  rowId: string;
  name: string;
  /** The row's data, as JSON text. */
  data: string;
  /** BullMQ job options as JSON text (attempts, backoff, retention, priority). */
  opts: string;
  priority: number;
  attempts: number;
  runAtMs: number | null;
  timestampMs: number;
  lastError: string | null;
  kind: 'run' | 'failed';
}

export type RowVerdict = { job: IntendedJob } | { stay: 'unowned' | 'bad-job-id'; problem?: string };

/**
 * Priorities by rank: the table's distinct values, most urgent first, become 1, 2, 3…, so the
 * order the application ran them in is BullMQ's order. A value first seen later (a producer still
 * writing during --follow) ranks with the known value just less urgent than it.
 */
export interface PriorityRanks {
  direction: PriorityDirection;
  /** Distinct values, most urgent first. */
  values: number[];
}

export function priorityRanks(values: number[], direction: PriorityDirection): PriorityRanks {
  const distinct = [...new Set(values.filter((v) => Number.isFinite(v)))];
  distinct.sort((a, b) => (direction === 'higher-first' ? b - a : a - b));
  return { direction, values: distinct };
}

export function bullmqPriority(ranks: PriorityRanks, value: number | null): number {
  if (value === null || ranks.values.length === 0) return 0;
  const moreUrgent = (v: number) => (ranks.direction === 'higher-first' ? v > value : v < value);
  let rank = 0;
  while (rank < ranks.values.length && moreUrgent(ranks.values[rank])) rank += 1;
  return Math.min(rank + 1, MAX_BULLMQ_PRIORITY);
}

/** Attempts left: maxAttempts − attemptsMade, at least one (a row moved to run gets its run). */
export function attemptsLeft(row: Pick<TableRow, 'attemptsMade' | 'maxAttempts'>, declared?: number): number {
  const max = row.maxAttempts ?? declared ?? 1;
  return Math.max(1, max - (row.attemptsMade ?? 0));
}

/** The queue's `jobId` template over the row's data fields, then its columns; else the row id. */
export function jobIdOf(template: string | undefined, row: TableRow): { id: string } | { problem: string } {
  if (!template) return { id: row.id };
  const fields = { ...row.row, ...(row.data && typeof row.data === 'object' && !Array.isArray(row.data) ? (row.data as Record<string, unknown>) : {}) };
  const rendered = renderTemplate(template, fields as never);
  if (!rendered.ok) return { problem: `jobId "${template}": ${rendered.problem}` };
  const problem = renderedIdProblem(rendered.id);
  return problem ? { problem: `jobId "${template}" ${problem}` } : { id: rendered.id };
}

/** A family's declared job options in its queue, worked out once per topology, queue and name (not once per row). */
const declared = new WeakMap<Topology, Map<string, { attempts?: number; opts: Record<string, unknown> }>>();

function declaredOpts(topology: Topology, queue: string, name: string): { attempts?: number; opts: Record<string, unknown> } {
  const byName = declared.get(topology) ?? declared.set(topology, new Map()).get(topology)!;
  const key = `${queue}\u0000${name}`;
  let found = byName.get(key);
  if (!found) {
    const spec = topology.queues[queue];
    const own = spec ? jobSpec(spec, name) : undefined;
    found = { attempts: own?.attempts, opts: JSON.parse(jobOptsFor(own)) as Record<string, unknown> };
    byName.set(key, found);
  }
  return found;
}

export function intendedJob(row: TableRow, routing: Routing, topology: Topology, ranks: PriorityRanks, now: number): RowVerdict {
  const route = routeName(routing, topology, row.name);
  if (!('dest' in route)) return { stay: 'unowned' };
  const spec = topology.queues[route.dest];
  const id = jobIdOf(spec?.jobId, row);
  if ('problem' in id) return { stay: 'bad-job-id', problem: id.problem };
  const own = declaredOpts(topology, route.dest, row.name);
  const priority = bullmqPriority(ranks, row.priority);
  const attempts = attemptsLeft(row, own.attempts);
  const opts = { ...own.opts, attempts, ...(priority > 0 ? { priority } : {}) };
  const created = row.createdAtMs !== null && row.createdAtMs <= now ? row.createdAtMs : now;
  return {
    job: {
      queue: route.dest, jobId: id.id, rowId: row.id, name: row.name, data: JSON.stringify(row.data ?? {}), opts: JSON.stringify(opts),
      priority, attempts, runAtMs: row.runAtMs, timestampMs: created, lastError: row.lastError, kind: row.kind,
    },
  };
}

/**
 * The delay a job is written with, against the writer's clock at the moment of writing, so the
 * job becomes due at the row's own due time (never earlier), however late a replay writes it.
 */
export function delayAt(job: Pick<IntendedJob, 'runAtMs' | 'timestampMs'>, now: number): { timestamp: number; delay: number } {
  if (job.runAtMs === null || job.runAtMs <= now) return { timestamp: job.timestampMs, delay: 0 };
  const timestamp = job.timestampMs <= job.runAtMs ? job.timestampMs : now;
  return { timestamp, delay: job.runAtMs - timestamp };
}
