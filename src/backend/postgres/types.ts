import type { Client } from 'pg';

/** What the user asked for: where, who, TLS, schema and timeout. Parsed by ./url.ts. */
export interface PostgresSpec {
  /** A host name, an IP, or a unix socket directory (?host=/run/postgresql). */
  host: string;
  port: number;
  user?: string;
  password?: string;
  database?: string;
  /** BullMQ's schema: --schema, else the topology's `schema`, else bullmq. */
  schema: string;
  /** libpq's sslmode; `prefer` (libpq's default) connects without TLS here, since pg cannot fall back. */
  sslMode: 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  applicationName?: string;
  options?: string;
  /** Connect and per-query timeout, ms. */
  timeoutMs: number;
  /** The URL with its password replaced by `***`: the only form ever printed. */
  redacted: string;
}

/** A live session to PostgreSQL, the one way commands reach a Postgres-backed BullMQ. */
export interface PostgresHandle {
  readonly spec: PostgresSpec;
  readonly client: Client;
  /** A query bounded by the timeout; a failure is a PostgresError (exit 3) naming the redacted URL. */
  query<T extends Record<string, unknown> = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}
