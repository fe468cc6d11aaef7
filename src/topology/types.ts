import type { TableSourceSpec } from '../table/types.js';

/**
 * The topology after loading: every duration in milliseconds, `defaults` merged into each queue,
 * names copied into each entry. Lint rules, graph, inspect, check and migrate all read this shape;
 * only src/topology/schema.ts knows the file's surface syntax.
 */

/** Milliseconds. The file accepts numbers or `500ms`, `30s`, `5m`, `1h`, `7d`. */
export type Millis = number;

export type Backoff =
  | { type: 'fixed'; delay: Millis; jitter?: number }
  | { type: 'exponential'; delay: Millis; jitter?: number }
  /** A step table: retry n waits steps[n-1] (the last step repeats). */
  | { type: 'steps'; steps: Millis[]; jitter?: number };

/**
 * BullMQ's removeOnComplete / removeOnFail: true (remove at once), false (keep all), or a bound.
 * `age` is milliseconds here like every duration; the file writes it as BullMQ does (a number is
 * seconds) or as a duration string, and producers convert back to seconds.
 */
export type Retention = boolean | { age?: Millis; count?: number };

export type DeadLetter =
  /** The queue's own failed set (BullMQ's default). */
  | { kind: 'failed' }
  /**
   * A dedicated dead-letter queue whose items carry the failed job: by default
   * `{ originalQueue, originalJobId, jobData, error, attempts, failedAt }`, or the shape `fields` declares.
   */
  | { kind: 'queue'; queue: string; fields?: DeadLetterFields };

/**
 * Where each part of the failed job sits in a dead-letter item (top-level keys of its job data).
 * `queue`, `id` and `data` are always declared; an item missing any declared key but `opts` is unreadable.
 */
export interface DeadLetterFields {
  queue: string;
  id: string;
  data: string;
  /** The job's name (undeclared: the item's own `name` key, else the dead-letter job's name). */
  name?: string;
  /** Text, or an Error-like object whose `message` is used. */
  reason?: string;
  failedAt?: string;
  attempts?: string;
  /** The job's own options, when an item has them: its `priority` and `lifo` put a retried job back where it was. */
  opts?: string;
}

/** [warning, critical] thresholds. */
export type Threshold = [number, number];

export interface Alerts {
  waiting?: Threshold;
  delayed?: Threshold;
  active?: Threshold;
  failed?: Threshold;
  /** Age of the oldest waiting job, ms. */
  oldestWait?: [Millis, Millis];
}

export type PayloadFieldType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array';

/** A JSON-Schema subset describing a queue's job data. */
export interface PayloadSchema {
  type: 'object';
  properties: Record<string, { type: PayloadFieldType; description?: string }>;
  required: string[];
}

/** Options for the jobs of one name, over their queue's (what the producer passes to Queue.add). */
export interface JobNameOptions {
  /** BullMQ priority: 1 runs first, higher numbers later (at most 2^21 - 1); absent or 0 means none. */
  priority?: number;
  attempts?: number;
  backoff?: Backoff;
  /** Delay before the job may run, ms. */
  delay?: Millis;
  lifo?: boolean;
  removeOnComplete?: Retention;
  removeOnFail?: Retention;
  timeout?: Millis;
}

export interface QueueSpec {
  name: string;
  description?: string;
  /** Job names this queue owns. */
  jobs: string[];
  /** Deterministic job id template over payload fields, e.g. `process-{sessionId}`. */
  jobId?: string;
  /** Explicitly no idempotency rule (the `dedup: none` escape hatch). */
  dedup?: 'none';
  /** BullMQ's deduplication option: id template and optional TTL. */
  deduplication?: { id: string; ttl?: Millis };
  attempts?: number;
  backoff?: Backoff;
  removeOnComplete?: Retention;
  removeOnFail?: Retention;
  deadLetter?: DeadLetter;
  concurrency?: number;
  rateLimit?: { max: number; duration: Millis };
  /** Per-job processing timeout, ms. */
  timeout?: Millis;
  /** The worker's lock on an active job, ms (BullMQ lockDuration; renewed while the job runs). */
  lockDuration?: Millis;
  /** Options per job name (keys are names from `jobs`), over the queue's own; see jobSpec(). */
  jobOptions?: Record<string, JobNameOptions>;
  alerts?: Alerts;
  payload?: PayloadSchema;
  /** BullMQ job schedulers by id (`topology apply` upserts them, removes live ones not listed). */
  schedulers?: Record<string, SchedulerSpec>;
  /** The declared pause state; absent means the file does not manage it. */
  paused?: boolean;
}

/**
 * One BullMQ job scheduler, as Queue.upsertJobScheduler(id, repeat, job) takes it: exactly one of
 * `pattern` (cron, with optional `tz`) or `every`. Dates are epoch milliseconds.
 */
export interface SchedulerSpec {
  id: string;
  pattern?: string;
  tz?: string;
  every?: Millis;
  limit?: number;
  startDate?: number;
  endDate?: number;
  immediately?: boolean;
  /** The template of every job it produces: a name the queue owns, data, BullMQ job options. */
  job: { name: string; data?: Record<string, unknown>; opts?: Record<string, unknown> };
}

export interface WorkerSpec {
  name: string;
  queues: string[];
  concurrency?: number;
  description?: string;
}

export interface LegacyQueueSpec {
  name: string;
  note?: string;
  /** Optional: route every job of this legacy queue to one declared queue (the default of migrate --to). */
  to?: string;
  /** A hand-rolled job table in PostgreSQL instead of a BullMQ queue (see src/table/). */
  table?: TableSourceSpec;
  /** The library that wrote the queue's keys; absent means BullMQ, or what its keys show (src/inspect/layout.ts). */
  kind?: QueueLayoutName;
}

/** Which library's Redis layout a queue's keys follow: BullMQ (any version) or Bull 3.x/4.x. */
export type QueueLayoutName = 'bullmq' | 'bull';

export interface Topology {
  version: 1;
  /** BullMQ key prefix; `{name}` hash-tag form for Redis Cluster. */
  prefix: string;
  /** `backend: redis|postgres` when the file says where its queues live. */
  backend?: 'redis' | 'postgres';
  /** BullMQ's schema on PostgreSQL, when the file names one (else bullmq). */
  schema?: string;
  queues: Record<string, QueueSpec>;
  workers: Record<string, WorkerSpec>;
  legacy: Record<string, LegacyQueueSpec>;
}

/** Where a topology came from, so problems can name a file and a line. */
export interface TopologySource {
  file: string;
  format: 'yaml' | 'json' | 'module';
  /** 1-based line of a dotted path (`queues.eccb-ocr.backoff`) in YAML/JSON files, when known. */
  lineOf(path: (string | number)[]): number | undefined;
}

export interface LoadedTopology {
  topology: Topology;
  source: TopologySource;
}

export type Severity = 'error' | 'warning';

/** One problem found by a lint rule or by `topology check`. */
export interface Finding {
  rule: string;
  severity: Severity;
  message: string;
  queue?: string;
  /** Dotted path in the topology file, when the finding is about one entry. */
  path?: string;
  line?: number;
}
