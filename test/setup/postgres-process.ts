import { findPostgresBinDir, startThrowawayPostgres } from '../../src/demo/postgres-server.js';

/** A PostgreSQL cluster this test run created (initdb) and owns; never the machine's own (5432). */
export interface PostgresProcess {
  port: number;
  /** postgres://postgres:<password>@127.0.0.1:<port>/postgres: the superuser, for creating test databases. */
  url: string;
  password: string;
  stop(): Promise<void>;
}

export { findPostgresBinDir };

/**
 * The test run's throwaway PostgreSQL: the same one `queuectl demo --backend postgres` starts
 * (src/demo/postgres-server.ts: initdb into a fresh folder under the run's temp dir, 127.0.0.1 and
 * a unix socket inside that folder only, run as the `postgres` user under root). stop() shuts it
 * down and removes the folder; a failed start cleans up too.
 */
export async function startPostgres(binDir: string): Promise<PostgresProcess> {
  const server = await startThrowawayPostgres(binDir);
  return { port: server.port, url: server.url, password: decodeURIComponent(new URL(server.url).password), stop: () => server.stop() };
}
