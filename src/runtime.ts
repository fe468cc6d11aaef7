import type { Context, GlobalOptions } from './context.js';
import { createOutput, shouldUseColor } from './output.js';
import { createPrompter } from './ui/prompt.js';
import { UsageError } from './errors.js';
import type { LoadedTopology } from './topology/types.js';
import type { RedisHandle } from './redis/types.js';
import type { PostgresHandle } from './backend/postgres/types.js';
import { chooseTarget, checkFlagsFitTarget, type Target } from './backend/target.js';

export interface RuntimeOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  stdinIsTTY?: boolean;
  /** Where output goes (tests capture it); default the process's streams. */
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** `redis://h:6379 (db 0, prefix bull)` or `postgres://app:***@db/app (schema bullmq)`, for prompts. */
export async function describeTarget(ctx: Context): Promise<string> {
  const target = ctx.target();
  if (target.kind === 'postgres') return `${target.redacted} (schema ${await ctx.schema()})`;
  const db = /\/(\d+)$/.exec(target.redacted)?.[1];
  return `${target.redacted} (${db ? '' : 'db 0, '}prefix ${await ctx.prefix()})`;
}

/** Builds the real Context: files from cwd, Redis from the flags, the person at the terminal. */
export function createContext(globals: GlobalOptions, options: RuntimeOptions = {}): Context {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const out = createOutput({
    json: globals.json,
    format: globals.output,
    quiet: globals.quiet,
    verbose: globals.verbose,
    color: options.stdout ? false : shouldUseColor(globals.color, globals.json, globals.output),
    stdout: options.stdout as never,
    stderr: options.stderr as never,
  });
  const interactive = (options.stdinIsTTY ?? Boolean(process.stdin.isTTY)) && !globals.json;
  // Every question names the server and database it is about (contract: prompts name the target).
  const prompt = createPrompter({ yes: globals.yes, interactive, target: () => describeTarget(ctx) });
  const signal = options.signal ?? new AbortController().signal;

  let loaded: Promise<LoadedTopology | undefined> | undefined;
  let handle: Promise<RedisHandle> | undefined;
  let pgHandle: Promise<PostgresHandle> | undefined;
  let target: Target | undefined;
  const sourceHandles = new Map<string, Promise<PostgresHandle>>();

  const topologyIfAny = () => {
    loaded ??= (async () => {
      const { findTopologyFile, loadTopologyFile } = await import('./topology/load.js');
      const file = await findTopologyFile({ config: globals.config, cwd, env });
      out.detail(file === undefined ? 'topology: none found' : `topology: ${file === '-' ? 'stdin' : file}`);
      return file === undefined ? undefined : loadTopologyFile(file);
    })();
    return loaded;
  };

  /** The topology's `backend:` against the URL's kind, checked before connecting. */
  const checkTopologyBackend = async (current: Target) => {
    // A file that does not load is the command's to report, if it needs one; here it says nothing.
    const declared = (await topologyIfAny().catch(() => undefined))?.topology.backend;
    if (declared !== undefined && declared !== current.kind) {
      const want = declared === 'postgres' ? 'a postgres:// URL' : 'a redis:// URL';
      throw new UsageError(`the topology says backend: ${declared}, but ${current.redacted} is ${current.kind === 'postgres' ? 'PostgreSQL' : 'Redis'}`, `pass ${want} with --url (or QUEUECTL_URL), or fix backend: in the topology`);
    }
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
    target() {
      if (!target) {
        const chosen = chooseTarget(globals.redis, env);
        checkFlagsFitTarget(chosen, globals);
        target = chosen;
      }
      return target;
    },
    async schema() {
      if (globals.schema) return globals.schema;
      return (await topologyIfAny())?.topology.schema ?? 'bullmq';
    },
    postgres() {
      pgHandle ??= (async () => {
        const current = ctx.target();
        if (current.kind !== 'postgres') {
          throw new UsageError(`this needs a PostgreSQL URL, got ${current.redacted}`, 'pass --url postgres://host/db');
        }
        await checkTopologyBackend(current);
        const schema = await ctx.schema();
        const { postgresSpecFromGlobals } = await import('./backend/postgres/url.js');
        const { connectPostgres } = await import('./backend/postgres/connection.js');
        out.detail(`server: ${current.redacted} (schema ${schema})`);
        return connectPostgres(postgresSpecFromGlobals(current.url, current.redacted, schema, globals));
      })();
      return pgHandle;
    },
    env(name) {
      return env[name];
    },
    sourcePostgres(url) {
      const current = ctx.target();
      if (current.kind === 'postgres' && current.url === url) return ctx.postgres();
      let opened = sourceHandles.get(url);
      if (!opened) {
        opened = (async () => {
          const { redactUrl } = await import('./redis/url.js');
          const { postgresSpecFromGlobals } = await import('./backend/postgres/url.js');
          const { connectPostgres } = await import('./backend/postgres/connection.js');
          // --password-file is the --url server's password; it fills in only a source URL without one.
          const hasPassword = /:\/\/[^/@]*:[^/@]*@/.test(url) || /[?&]password=/.test(url);
          const globalsHere = hasPassword ? { ...globals, passwordFile: undefined } : globals;
          return connectPostgres(postgresSpecFromGlobals(url, redactUrl(url), await ctx.schema(), globalsHere));
        })();
        sourceHandles.set(url, opened);
      }
      return opened;
    },
    redis() {
      handle ??= (async () => {
        const current = ctx.target();
        if (current.kind !== 'redis') {
          // cli.ts refuses Redis-only commands on PostgreSQL first; this keeps any other path from dialling Redis.
          throw new UsageError(`this command does not support PostgreSQL yet (${current.redacted})`, 'use a redis:// URL; see README "PostgreSQL" for what runs there today');
        }
        await checkTopologyBackend(current);
        const { parseConnectionSpec } = await import('./redis/url.js');
        const { connect } = await import('./redis/connection.js');
        const spec = parseConnectionSpec({
          url: current.url,
          passwordFile: globals.passwordFile,
          tlsCa: globals.tlsCa,
          tlsCert: globals.tlsCert,
          tlsKey: globals.tlsKey,
          timeoutMs: globals.timeout,
          env,
        });
        out.detail(`server: ${current.redacted}${spec.db ? '' : ' (db 0)'}`);
        return connect(spec, { warn: (text) => out.warn(text) });
      })();
      return handle;
    },
    async close() {
      const open = [handle, pgHandle, ...sourceHandles.values()];
      handle = undefined;
      pgHandle = undefined;
      sourceHandles.clear();
      await Promise.all(open.map((current) => current?.then((h) => h.close(), () => undefined)));
    },
  };
  return ctx;
}
