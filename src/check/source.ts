import type { QueuectlError } from '../errors.js';
import type { Topology } from '../topology/types.js';
import type { DriftOptions } from './drift.js';
import type { GatherOptions } from './gather.js';
import type { LiveFacts } from './types.js';

/**
 * What `topology check` reads, whatever the backend: the Redis implementation is redis-source.ts,
 * the PostgreSQL one postgres-source.ts. Reads only (a read-only ACL user on Redis, a SELECT-only
 * role on PostgreSQL); drift.ts compares what they gather with the file.
 */
export interface CheckSource {
  /** The redacted URL, for the summary line. */
  where: string;
  /** The topology as this backend judges it (on Redis, with --prefix in force). */
  topology: Topology;
  /** What drift() needs to know of the backend (the cluster hash-tag rule, the namespace's words). */
  driftOptions: DriftOptions;
  gather(options: GatherOptions): Promise<LiveFacts>;
  /** When no queue exists: a warning to print, or an error for a namespace that holds nothing while others do. */
  emptyVerdict(): Promise<{ warning?: string; error?: QueuectlError }>;
}
