import type { Context, GlobalOptions } from './context.js';
import { createOutput, shouldUseColor } from './output.js';
import { createPrompter } from './ui/prompt.js';
import { UsageError } from './errors.js';
import type { LoadedTopology } from './topology/types.js';
import type { RedisHandle } from './redis/types.js';

export interface RuntimeOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  stdinIsTTY?: boolean;
  /** Where output goes (tests capture it); default the process's streams. */
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Builds the real Context: files from cwd, Redis from the flags, the person at the terminal. */
export function createContext(globals: GlobalOptions, options: RuntimeOptions = {}): Context {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const out = createOutput({
    json: globals.json,
    color: options.stdout ? false : shouldUseColor(globals.color, globals.json),
    stdout: options.stdout as never,
    stderr: options.stderr as never,
  });
  const interactive = (options.stdinIsTTY ?? Boolean(process.stdin.isTTY)) && !globals.json;
  const prompt = createPrompter({ yes: globals.yes, interactive });
  const signal = options.signal ?? new AbortController().signal;

  let loaded: Promise<LoadedTopology | undefined> | undefined;
  let handle: Promise<RedisHandle> | undefined;

  const topologyIfAny = () => {
    loaded ??= (async () => {
      const { findTopologyFile, loadTopologyFile } = await import('./topology/load.js');
      const file = await findTopologyFile({ config: globals.config, cwd, env });
      return file === undefined ? undefined : loadTopologyFile(file);
    })();
    return loaded;
  };

  const ctx: Context = {
    globals,
    out,
    prompt,
    signal,
    topologyIfAny,
    async topology() {
      const result = await topologyIfAny();
      if (!result) {
        throw new UsageError(
          'no topology file found (looked for queuectl.yaml, queuectl.yml, queuectl.json, queuectl.config.{ts,mjs,js})',
          'pass -c <file> or set QUEUECTL_CONFIG',
        );
      }
      return result;
    },
    async prefix() {
      if (globals.prefix) return globals.prefix;
      return (await topologyIfAny())?.topology.prefix ?? 'bull';
    },
    redis() {
      handle ??= (async () => {
        const { parseConnectionSpec } = await import('./redis/url.js');
        const { connect } = await import('./redis/connection.js');
        const spec = parseConnectionSpec({
          url: globals.redis,
          passwordFile: globals.passwordFile,
          tlsCa: globals.tlsCa,
          tlsCert: globals.tlsCert,
          tlsKey: globals.tlsKey,
          timeoutMs: globals.timeout,
          env,
        });
        return connect(spec);
      })();
      return handle;
    },
    async close() {
      if (!handle) return;
      const current = handle;
      handle = undefined;
      await current.then((h) => h.close(), () => undefined);
    },
  };
  return ctx;
}
