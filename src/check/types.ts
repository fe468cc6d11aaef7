import type { LiveQueue, RedisHealth } from '../inspect/types.js';

/** Jobs of one name found in a declared queue that does not own that name. */
export interface MisroutedJobs {
  /** The queue holding the jobs. */
  queue: string;
  name: string;
  /** Jobs found among those read (all of them with --deep, a sample otherwise). */
  count: number;
  /** How many of them are active: migrate cannot move those until they finish. */
  active: number;
  /** How many of them are failed: only `migrate --states …,failed` moves those. */
  failed?: number;
  /** A few job ids, for the report. */
  examples: string[];
}

/** A BullMQ worker's blocking connection, from CLIENT LIST (`<prefix>:<base64(queue)>[:w:<name>]`). */
export interface WorkerConnection {
  queue: string;
  /** The worker's name (`:w:<name>`), or its address when it has none. */
  name: string;
  addr: string;
}

/** Everything `topology check` learned from Redis; drift() compares it with the file. */
export interface LiveFacts {
  /** Declared and legacy queues (exists: false when absent) plus undeclared queues found by SCAN. */
  queues: LiveQueue[];
  health: Pick<RedisHealth, 'evictionPolicy'>;
  misrouted: MisroutedJobs[];
  /** Every worker connection under the prefix; undefined when CLIENT LIST is not available. */
  workers?: WorkerConnection[];
  /** True when every job was read (--deep), false when job names were sampled. */
  deep: boolean;
}
