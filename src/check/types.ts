import type { LiveQueue, RedisHealth } from '../inspect/types.js';
import type { LiveScheduler } from '../schedules/types.js';

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
  /** Redis only: its eviction policy. */
  health?: Pick<RedisHealth, 'evictionPolicy'>;
  /** PostgreSQL only: the server and schema facts its own findings judge. */
  postgres?: PostgresCheckFacts;
  misrouted: MisroutedJobs[];
  /** Every worker connection under the prefix; undefined when CLIENT LIST is not available. */
  workers?: WorkerConnection[];
  /** True when every job was read (--deep), false when job names were sampled. */
  deep: boolean;
  /** Job schedulers (and old-style repeatable jobs) of the declared queues. */
  schedulers?: LiveScheduler[];
}

/** What `topology check` reads of a PostgreSQL server beyond the queues (postgres-source.ts). */
export interface PostgresCheckFacts {
  /** Where, for messages (redacted). */
  where: string;
  schema: string;
  maxConnections: number;
  reservedConnections: number;
  /** Client sessions on the whole server, this one included. */
  usedConnections: number;
  /** Other sessions' open transactions, oldest first (at most a few). */
  transactions: { pid: number; ageSeconds: number; state: string; applicationName: string; user: string }[];
  /** BullMQ's job table, from the statistics collector (pg_stat_user_tables). */
  jobTable: { liveRows: number; deadRows: number; lastAutovacuum: string | null };
}
