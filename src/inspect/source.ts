import type { QueuectlError } from '../errors.js';
import type { QueueTarget } from './read-queues.js';
import type { LiveQueue, RedisHealth } from './types.js';
import type { JobView } from './read-job.js';
import type { PostgresHealth } from './postgres-health.js';

/**
 * What `inspect` reads, whatever the backend: the Redis implementation is redis-source.ts, the
 * PostgreSQL one postgres-source.ts. Every read is bounded by the number of queues, never by the
 * number of jobs, and none writes.
 */
export interface InspectSource {
  /** Queues present on the backend (for --all, and for a run without a topology). */
  discover(): Promise<string[]>;
  /** `workers: false` skips the worker lookup (CLIENT LIST on Redis) when only counts matter. */
  readQueues(targets: QueueTarget[], options?: { workers?: boolean }): Promise<LiveQueue[]>;
  /** One job, for `inspect job`; undefined when the queue has no job with that id. */
  readJob(queue: string, id: string): Promise<JobView | undefined>;
  readHealth(): Promise<BackendHealth>;
  /** When no shown queue exists: a warning to print, or an error for a namespace that holds nothing while others do. */
  emptyVerdict(): Promise<{ warning?: string; error?: QueuectlError }>;
}

export type BackendHealth = { backend: 'redis'; redis: RedisHealth } | { backend: 'postgres'; postgres: PostgresHealth };
