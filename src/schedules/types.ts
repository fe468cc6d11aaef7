/**
 * Job schedulers as they live on a backend, in one shape for Redis and PostgreSQL. BullMQ 6 keeps
 * them in `<prefix>:<queue>:repeat` (a zset: id → next fire, ms) plus a `repeat:<id>` hash on Redis,
 * and in the `scheduler` table on PostgreSQL; both read back as the same fields (BullMQ's own
 * mapSchedulerRow turns a row into the Redis hash). Redis may also hold old-style repeatable jobs
 * (BullMQ ≤ 5 `Queue.add(…, { repeat })`): a zset member with no `ic` field in its hash, or with no
 * hash at all (`name:jobId:endDate:tz:pattern`). BullMQ 6 workers refuse to reschedule those, but
 * the next job they left behind still fires, and 5.x workers still running keep them going.
 */

/** A live job scheduler, or (Redis only) an old-style repeatable job. */
export interface LiveScheduler {
  queue: string;
  /** The scheduler id; for an old-style repeatable job, its member of the `repeat` zset. */
  id: string;
  /** True for an old-style repeatable job (BullMQ ≤ 5), which only queuectl removes now. */
  legacy: boolean;
  pattern?: string;
  tz?: string;
  /** Interval, ms. */
  every?: number;
  limit?: number;
  startDate?: number;
  endDate?: number;
  /** When it fires next (epoch ms), from the zset score or `next_run_ms`; undefined when never. */
  next?: number;
  /** Iterations made so far (schedulers only). */
  iterations?: number;
  job: { name: string; data: Record<string, unknown>; opts: Record<string, unknown> };
  /** Old-style only: the ids its next delayed job may have (BullMQ 5 used two id forms). */
  nextJobIds?: string[];
}

/** Reads live schedulers, Redis (redis-reader.ts) or PostgreSQL (postgres-reader.ts). Reads only. */
export interface ScheduleReader {
  /** Every scheduler of the named queues, sorted by queue, then id. */
  read(queues: string[]): Promise<LiveScheduler[]>;
}
