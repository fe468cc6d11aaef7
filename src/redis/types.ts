import type { Cluster, Redis, RedisOptions, ClusterOptions } from 'ioredis';

export type RedisMode = 'standalone' | 'cluster';

/** What the user asked for: the URL, secrets, TLS and timeouts. Parsed by src/redis/url.ts. */
export interface ConnectionSpec {
  mode: RedisMode;
  /** host:port pairs: one for standalone, the seeds for a cluster. */
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  db?: number;
  tls: boolean;
  /** Contents of the --tls-ca file. */
  tlsCa?: string;
  /** Contents of --tls-cert and --tls-key: a client certificate, for servers with tls-auth-clients. */
  tlsCert?: string;
  tlsKey?: string;
  /** Connect and per-command timeout, ms. */
  timeoutMs: number;
  /** The URL as the user gave it, password replaced by `***`: the only form ever printed. */
  redacted: string;
}

/** A live connection, the one way commands reach Redis. */
export interface RedisHandle {
  readonly spec: ConnectionSpec;
  readonly mode: RedisMode;
  /** The main client: a Redis on one node, a Cluster on a cluster. */
  readonly client: Redis | Cluster;
  /** Every master (one client each), for SCAN, INFO and CONFIG, which are per node. */
  masters(): Promise<Redis[]>;
  /** Options to give BullMQ Queue/Worker (`connection`), with maxRetriesPerRequest null for blocking clients. */
  bullmqConnection(): RedisOptions | Cluster;
  /** A new, separate client with the same settings (for workers, concurrent producers). */
  duplicate(): Redis | Cluster;
  close(): Promise<void>;
}

export type { Cluster, Redis, RedisOptions, ClusterOptions };
