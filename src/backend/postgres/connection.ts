import type { Client, ClientConfig } from 'pg';
import type { ConnectionOptions } from 'node:tls';
import { toPostgresError } from './errors.js';
import type { PostgresHandle, PostgresSpec } from './types.js';

/** The name queuectl's own session shows in pg_stat_activity: never one BullMQ's worker discovery would count. */
export const QUEUECTL_APPLICATION_NAME = 'queuectl';

/**
 * Opens one session that fails within spec.timeoutMs (exit 3): a refused port, a refused login, a
 * listener that accepts and never answers. pg is loaded here, so only commands that reach
 * PostgreSQL pay for it. Every query is bounded too (statement_timeout on the server, query_timeout
 * in the client for a server that stops answering).
 */
export async function connectPostgres(spec: PostgresSpec, options: { boundQueries?: boolean } = {}): Promise<PostgresHandle> {
  const { default: pg } = await import('pg');
  const client = new pg.Client(clientConfig(spec, options));
  // A socket error after connect would otherwise be an unhandled 'error' event (a crash with a stack).
  client.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), spec.timeoutMs);
      }),
    ]);
  } catch (error) {
    await endQuietly(client);
    throw toPostgresError(error, spec);
  } finally {
    clearTimeout(timer);
  }
  return new Handle(spec, client);
}

/** `boundQueries: false` (BullMQ's migrations only) keeps the connect timeout but lets queries run as long as they need. */
export function clientConfig(spec: PostgresSpec, { boundQueries = true }: { boundQueries?: boolean } = {}): ClientConfig {
  const config: ClientConfig = {
    host: spec.host,
    port: spec.port,
    user: spec.user,
    password: spec.password,
    database: spec.database,
    connectionTimeoutMillis: spec.timeoutMs,
    application_name: spec.applicationName ?? QUEUECTL_APPLICATION_NAME,
    ssl: sslOptions(spec),
  };
  if (boundQueries) Object.assign(config, { statement_timeout: spec.timeoutMs, query_timeout: spec.timeoutMs + 1000 });
  if (spec.options) config.options = spec.options;
  return config;
}

/** libpq's sslmode in node's TLS terms; prefer/allow cannot fall back in pg, so they stay plain. */
function sslOptions(spec: PostgresSpec): false | ConnectionOptions {
  if (spec.sslMode === 'disable' || spec.sslMode === 'allow' || spec.sslMode === 'prefer') return false;
  const tls: ConnectionOptions = {};
  if (spec.tlsCa) tls.ca = spec.tlsCa;
  if (spec.tlsCert && spec.tlsKey) Object.assign(tls, { cert: spec.tlsCert, key: spec.tlsKey });
  // libpq: require checks nothing unless a root CA is given (then it is verify-ca).
  if (spec.sslMode === 'require' && !spec.tlsCa) tls.rejectUnauthorized = false;
  if (spec.sslMode === 'verify-ca' || (spec.sslMode === 'require' && spec.tlsCa)) tls.checkServerIdentity = () => undefined;
  return tls;
}

async function endQuietly(client: Client): Promise<void> {
  try {
    await Promise.race([client.end(), new Promise((r) => setTimeout(r, 500))]);
  } catch {
    // already broken
  }
  // end() waits for a server that never answers; drop the socket so the process can exit.
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

class Handle implements PostgresHandle {
  constructor(
    readonly spec: PostgresSpec,
    readonly client: Client,
  ) {}

  async query<T extends Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
    try {
      return (await this.client.query<T>(text, params as never[])).rows;
    } catch (error) {
      throw toPostgresError(error, this.spec);
    }
  }

  async close(): Promise<void> {
    await endQuietly(this.client);
  }
}
