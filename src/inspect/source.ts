import type { QueuectlError } from '../errors.js';
import type { QueueTarget } from './read-queues.js';
import type { LiveQueue, RedisHealth } from './types.js';
import type { PostgresHealth } from './postgres-health.js';

/**
 * What `inspect` reads, whatever the backend: the Redis implementation is redis-source.ts, the
 * PostgreSQL one postgres-source.ts. Every read is bounded by the number of queues, never by the
 * number of jobs, and none writes.
 */
export interface InspectSource {
  /** Queues present on the backend (for --all, and for a run without a topology). */
  discover(): Promise<string[]>;
  readQueues(targets: QueueTarget[]): Promise<LiveQueue[]>;
  readHealth(): Promise<BackendHealth>;
  /** When no shown queue exists: a warning to print, or an error for a namespace that holds nothing while others do. */
  emptyVerdict(): Promise<{ warning?: string; error?: QueuectlError }>;
}

export type BackendHealth = { backend: 'redis'; redis: RedisHealth } | { backend: 'postgres'; postgres: PostgresHealth };
