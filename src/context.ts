import type { Output } from './output.js';
import type { OutputFormat } from './ui/layout.js';
import type { Prompter } from './ui/prompt.js';
import type { LoadedTopology } from './topology/types.js';
import type { RedisHandle } from './redis/types.js';
import type { Target } from './backend/target.js';
import type { PostgresHandle } from './backend/postgres/types.js';

/** Options every command accepts, before or after the command name (contract: global options). */
export interface GlobalOptions {
  config?: string;
  /** --url, or its alias --redis: a redis…:// or postgres:// URL (named `redis` for the code that predates PostgreSQL). */
  redis?: string;
  /** --schema: BullMQ's schema on PostgreSQL. */
  schema?: string;
  /** --source-url: the database of a legacy table source, when it is not named by the source's urlEnv. */
  sourceUrl?: string;
  passwordFile?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  prefix?: string;
  /** --json, or -o json. */
  json: boolean;
  /** -o/--output: human (fits the terminal), wide, plain or json. */
  output?: OutputFormat;
  /** --quiet: no notes or progress on stderr (warnings and errors still). */
  quiet?: boolean;
  /** --verbose: also say what is used (topology file, server, database) and extra detail. */
  verbose?: boolean;
  color: boolean;
  yes: boolean;
  timeout: number;
}

/**
 * Everything a command may touch. Commands never reach for globals (process, env, stdin):
 * tests build a Context over a test Redis and drive the command directly.
 */
export interface Context {
  readonly globals: GlobalOptions;
  readonly out: Output;
  readonly prompt: Prompter;
  /** Aborted on Ctrl-C; long-running commands stop at a consistent point and throw InterruptedError. */
  readonly signal: AbortSignal;
  /** The topology named by -c, QUEUECTL_CONFIG or found in the working directory; fails with exit 2 when none. */
  topology(): Promise<LoadedTopology>;
  /** Like topology(), but undefined when no file was named and none is found. */
  topologyIfAny(): Promise<LoadedTopology | undefined>;
  /** The key prefix in force: --prefix, else the topology's, else `bull`. */
  prefix(): Promise<string>;
  /**
   * Where the queues live and on which backend, from --url/--redis, QUEUECTL_URL, REDIS_URL; a
   * --prefix with a PostgreSQL URL or a --schema with a Redis URL is a UsageError here.
   */
  target(): Target;
  /** Connects on first use; closed by main when the command ends. A PostgreSQL URL is a UsageError. */
  redis(): Promise<RedisHandle>;
  /** BullMQ's schema on PostgreSQL: --schema, else the topology's `schema`, else bullmq. */
  schema(): Promise<string>;
  /** Connects to PostgreSQL on first use (loads pg only then); closed by main when the command ends. */
  postgres(): Promise<PostgresHandle>;
  /** An environment variable (a table source's urlEnv, DATABASE_URL): the runtime's env, not process.env in tests. */
  env(name: string): string | undefined;
  /**
   * A session to a legacy table source's database (src/table/resolve.ts), one per URL, closed by
   * main with the rest. The --url session itself when both name the same PostgreSQL URL, so a
   * move into BullMQ-on-PostgreSQL in that database can commit both sides in one transaction.
   */
  sourcePostgres(url: string): Promise<PostgresHandle>;
  close(): Promise<void>;
}

/** A command: typed options in, exit code out. Printing goes through ctx.out. */
export type Command<O> = (options: O, ctx: Context) => Promise<number>;
