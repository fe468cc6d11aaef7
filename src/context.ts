import type { Output } from './output.js';
import type { Prompter } from './ui/prompt.js';
import type { LoadedTopology } from './topology/types.js';
import type { RedisHandle } from './redis/types.js';

/** Options every command accepts, before or after the command name (contract: global options). */
export interface GlobalOptions {
  config?: string;
  redis?: string;
  passwordFile?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  prefix?: string;
  json: boolean;
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
  /** Connects on first use; closed by main when the command ends. */
  redis(): Promise<RedisHandle>;
  close(): Promise<void>;
}

/** A command: typed options in, exit code out. Printing goes through ctx.out. */
export type Command<O> = (options: O, ctx: Context) => Promise<number>;
