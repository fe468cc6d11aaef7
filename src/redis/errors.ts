import { RedisError } from '../errors.js';
import type { ConnectionSpec } from './types.js';
import { scrubSecrets } from './url.js';

const CHECK_URL = 'check --redis or REDIS_URL';

/** A failure from ioredis or Redis, as it may reach toRedisError. */
type AnyError = Error & { code?: string; errno?: string; name: string };

/** True when Redis itself answered with an error (ACL, unknown or disabled command), as opposed to a lost connection. */
export function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError';
}

const CLIENT_ERROR_NAMES = new Set(['ReplyError', 'AbortError', 'MaxRetriesPerRequestError', 'ClusterAllFailedError', 'ParserError']);

/**
 * True for an error that came from ioredis or Redis (a reply error, a lost connection, a command
 * timeout): what a command's caller should pass through toRedisError so it exits 3, not 1.
 */
export function isRedisFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (CLIENT_ERROR_NAMES.has(error.name)) return true;
  if (codeIn(String((error as AnyError).code ?? ''))) return true;
  return /Connection is closed|Command timed out|Stream isn't writeable|None of startup nodes|Failed to refresh slots/i.test(error.message);
}

/** True when the error is an ACL/auth refusal. */
export function isAuthError(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /\b(WRONGPASS|NOAUTH|NOPERM)\b|invalid username-password|AUTH <password> called without/i.test(message);
}

/**
 * Rewrites any failure talking to Redis as one RedisError line (exit 3) that names the redacted
 * URL and never the password, which ioredis may echo (e.g. in a failed AUTH command's arguments).
 */
export function toRedisError(error: unknown, spec: Pick<ConnectionSpec, 'redacted' | 'password' | 'timeoutMs' | 'tlsCert'> & { db?: number }): RedisError {
  if (error instanceof RedisError) return error;
  const err = (error instanceof Error ? error : new Error(String(error))) as AnyError;
  const where = spec.redacted;
  // A MULTI that Redis refused says only EXECABORT; why (OOM, NOPERM…) is in the queued commands' errors.
  const reason = (err as { previousErrors?: Error[] }).previousErrors?.[0]?.message ?? err.message;
  const raw = scrubSecrets(firstLine(reason), spec.password);
  const code = err.code ?? err.errno ?? codeIn(raw);

  if (/\bWRONGPASS\b|invalid username-password/i.test(raw)) {
    return new RedisError(`authentication refused by Redis at ${where} (wrong user name or password)`, 'check the password in the URL or --password-file');
  }
  if (/\bNOAUTH\b/.test(raw)) {
    return new RedisError(`authentication required by Redis at ${where} (no password given)`, 'put it in the URL (redis://:pass@host:port) or use --password-file');
  }
  if (/AUTH <password> called without/i.test(raw)) {
    return new RedisError(`authentication failed: Redis at ${where} has no password set but one was given`, 'drop the password from the URL or --password-file');
  }
  if (/\bNOPERM\b/.test(raw)) {
    return new RedisError(`permission denied by Redis at ${where}: ${raw.replace(/^NOPERM\s*/, '')}`, 'grant the ACL permission to this user or use another user');
  }
  if (/DB index is out of range|invalid DB index/i.test(raw)) {
    return new RedisError(`database ${spec.db ?? '?'} does not exist on Redis at ${where} (${raw.replace(/^ERR\s*/, '')})`, "use a database index below the server's `databases` setting (16 by default); check --redis or REDIS_URL");
  }
  if (/\bOOM\b|used memory > 'maxmemory'/.test(raw)) {
    return new RedisError(`Redis at ${where} is out of memory and refuses writes (${raw.replace(/^(ERR\s*)?/, '')})`, 'free memory on the server (delete or expire keys) or raise its maxmemory, then rerun');
  }
  if (/cluster support disabled/i.test(raw)) {
    return new RedisError(`Redis at ${where} is not a cluster (cluster support disabled)`, 'use redis://host:port for a single node');
  }
  const unreachable = unreachableReason(code, raw, spec.timeoutMs);
  if (unreachable) return new RedisError(`cannot reach Redis at ${where} (${unreachable})`, `is it running? ${CHECK_URL}`);
  if (/Command timed out/i.test(raw)) {
    return new RedisError(`Redis at ${where} did not answer within ${spec.timeoutMs} ms`, 'raise --timeout or check the server load');
  }
  if (/certificate required|alert handshake failure|peer did not return a certificate/i.test(raw)) {
    return new RedisError(`TLS handshake with Redis at ${where} failed (${tlsReason(raw)}): the server requires a client certificate`, spec.tlsCert ? 'check that --tls-cert is signed by a CA the server trusts (its tls-ca-cert-file)' : 'pass --tls-cert and --tls-key');
  }
  if (spec.tlsCert && /alert (unknown ca|bad certificate|certificate unknown|unsupported certificate)/i.test(raw)) {
    return new RedisError(`TLS handshake with Redis at ${where} failed (${tlsReason(raw)}): the server does not trust --tls-cert`, "use a client certificate signed by a CA in the server's tls-ca-cert-file");
  }
  // Whole words only: a Redis reply such as CROSSSLOT contains the letters "ssl" too.
  if (/\b(ssl|tls)\b|ssl routines|certificate|wrong version number/i.test(raw)) {
    return new RedisError(`TLS handshake with Redis at ${where} failed (${tlsReason(raw)})`, 'use rediss:// only for TLS servers; pass --tls-ca for a private CA');
  }
  return new RedisError(`Redis error at ${where}: ${raw}`, 'rerun with QUEUECTL_DEBUG=1 for details');
}

/** OpenSSL's own words from "8000…:error:0A00045C:SSL routines:fn:reason:file:line:SSL alert number n". */
function tlsReason(raw: string): string {
  const openssl = /:SSL routines:[^:]*:([^:]+):/.exec(raw);
  return openssl ? openssl[1] : raw;
}

function unreachableReason(code: string | undefined, message: string, timeoutMs: number): string | undefined {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ETIMEDOUT':
      return `no answer within ${timeoutMs} ms`;
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    default:
  }
  if (/Connection is closed|Stream isn't writeable|max retries per request|None of startup nodes|Failed to refresh slots/i.test(message)) {
    return 'connection closed';
  }
  return undefined;
}

function codeIn(message: string): string | undefined {
  return /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EPIPE|EHOSTUNREACH|ENETUNREACH)\b/.exec(message)?.[1];
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? '').trim();
}
