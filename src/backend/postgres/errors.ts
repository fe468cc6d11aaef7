import { ExitCode, QueuectlError } from '../../errors.js';
import { scrubSecrets } from '../../redis/url.js';
import type { PostgresSpec } from './types.js';

const CHECK_URL = 'check --url or QUEUECTL_URL';

/** PostgreSQL unreachable, authentication refused, timeout, a database error, or an unusable BullMQ schema: exit 3. */
export class PostgresError extends QueuectlError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.redis, hint);
  }
}

/** One line for any failure of pg (a socket error, a server error with a SQLSTATE, a timeout), password scrubbed. */
export function toPostgresError(error: unknown, spec: Pick<PostgresSpec, 'redacted' | 'password' | 'timeoutMs' | 'user' | 'database'>): QueuectlError {
  if (error instanceof QueuectlError) return error;
  const err = error as { code?: string; message?: string };
  const raw = scrubSecrets(String(err.message ?? error).split('\n')[0], spec.password);
  const where = spec.redacted;
  switch (err.code) {
    case 'ECONNREFUSED':
      return new PostgresError(`PostgreSQL at ${where} refused the connection (nothing listens there)`, `is the server running? ${CHECK_URL}`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new PostgresError(`PostgreSQL host of ${where} not found (${err.code})`, CHECK_URL);
    case 'ECONNRESET':
    case 'EPIPE':
      return new PostgresError(`PostgreSQL at ${where} dropped the connection (${err.code})`, `is it PostgreSQL, and does it want TLS (sslmode=require)? ${CHECK_URL}`);
    case '28P01':
    case '28000':
      return new PostgresError(`PostgreSQL at ${where} refused the login${spec.user ? ` of "${spec.user}"` : ''} (${raw})`, 'check the user and password (--password-file, or the URL) and pg_hba.conf');
    case '3D000':
      return new PostgresError(`database ${spec.database ? `"${spec.database}" ` : ''}does not exist on PostgreSQL at ${where}`, `name an existing database in the URL; ${CHECK_URL}`);
    case '57014':
      return new PostgresError(`PostgreSQL at ${where} cancelled a query after --timeout ${spec.timeoutMs} ms (${raw})`, 'raise --timeout, or look at the server\'s load');
    case '53300':
      return new PostgresError(`PostgreSQL at ${where} has no connection slot left (${raw})`, 'raise max_connections or close idle sessions');
    default:
      break;
  }
  if (/timeout|timed out/i.test(raw)) {
    return new PostgresError(`PostgreSQL at ${where} did not answer within --timeout ${spec.timeoutMs} ms`, `is it up and reachable? raise --timeout for a slow link; ${CHECK_URL}`);
  }
  if (/SSL|TLS|certificate/i.test(raw)) {
    return new PostgresError(`TLS to PostgreSQL at ${where} failed (${raw})`, 'check sslmode and --tls-ca/--tls-cert/--tls-key');
  }
  const code = err.code ? ` [${err.code}]` : '';
  return new PostgresError(`PostgreSQL error at ${where}: ${raw}${code}`, CHECK_URL);
}
