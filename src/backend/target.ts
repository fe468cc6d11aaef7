import { UsageError } from '../errors.js';
import { DEFAULT_REDIS_URL, redactUrl } from '../redis/url.js';

/**
 * Which backend the BullMQ queues live on, decided once from the URL's scheme: commands never look
 * at schemes themselves, they ask src/backend/select.ts for their capability's implementation.
 */
export type BackendKind = 'redis' | 'postgres';

export interface Target {
  kind: BackendKind;
  /** The URL as given (may hold a password: never print it; print `redacted`). */
  url: string;
  redacted: string;
  /** Where the URL came from, for hints: a flag or an environment variable. */
  from: '--url' | 'QUEUECTL_URL' | 'REDIS_URL' | 'default';
}

const POSTGRES_SCHEMES = /^postgres(ql)?:\/\//i;

export function backendKindOf(url: string): BackendKind {
  return POSTGRES_SCHEMES.test(url.trim()) ? 'postgres' : 'redis';
}

/**
 * --url (alias --redis), else QUEUECTL_URL, else REDIS_URL, else redis://127.0.0.1:6379. A value
 * that is set but blank is an error, not a reason to fall back: an empty CI variable must not land
 * the command on another server. DATABASE_URL is never read here (contract: only when named).
 */
export function chooseTarget(flag: string | undefined, env: NodeJS.ProcessEnv): Target {
  const make = (url: string, from: Target['from']): Target => ({ kind: backendKindOf(url), url, redacted: redactUrl(url), from });
  if (flag !== undefined) {
    if (flag.trim() === '') throw new UsageError('--url was given an empty value', 'give a URL such as redis://host:6379 or postgres://host/db, or leave --url out to use QUEUECTL_URL or REDIS_URL');
    return make(flag.trim(), '--url');
  }
  for (const name of ['QUEUECTL_URL', 'REDIS_URL'] as const) {
    const value = env[name];
    if (value === undefined) continue;
    if (value.trim() === '') throw new UsageError(`${name} is set but empty`, `give it a URL such as redis://host:6379 or postgres://host/db, or unset it`);
    return make(value.trim(), name);
  }
  return make(DEFAULT_REDIS_URL, 'default');
}

/** --prefix names Redis keys, --schema a PostgreSQL schema: the wrong one for the URL is exit 2, naming the right one. */
export function checkFlagsFitTarget(target: Target, flags: { prefix?: string; schema?: string }): void {
  if (target.kind === 'postgres' && flags.prefix !== undefined) {
    throw new UsageError(`--prefix is a Redis key prefix, but ${target.redacted} is PostgreSQL`, 'on PostgreSQL, BullMQ\'s namespace is a schema: use --schema <name> (default bullmq)');
  }
  if (target.kind === 'redis' && flags.schema !== undefined) {
    throw new UsageError(`--schema is a PostgreSQL schema, but ${target.redacted} is Redis`, 'on Redis, BullMQ\'s namespace is a key prefix: use --prefix <p> (default bull)');
  }
}
