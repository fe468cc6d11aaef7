import type { TestProject } from 'vitest/node';
import { startCluster, startRedis } from './redis-process.js';
import { openRunTempRoot } from './run-temp.js';
import { findPostgresBinDir, startPostgres } from './postgres-process.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    clusterUrl: string;
    /** The run's throwaway PostgreSQL (superuser URL), or '' when PostgreSQL is not installed. */
    pgUrl: string;
  }
}

/**
 * One single-node redis-server, one 3-master cluster and one throwaway PostgreSQL cluster for the
 * whole run, on free loopback ports, started in parallel. Postgres tests each create a database of
 * their own (test/helpers/postgres.ts).
 * Tests share them but each uses fresh random queue names; tests that change server config start
 * a private server with startRedis().
 *
 * Everything the run writes under the temp dir goes into a directory of its own (see run-temp.ts);
 * the teardown fails the run if anything is left in it, after stopping the servers.
 */
export default async function setup(project: TestProject) {
  const temp = openRunTempRoot();
  let single: Awaited<ReturnType<typeof startRedis>> | undefined;
  let cluster: Awaited<ReturnType<typeof startCluster>> | undefined;
  let postgres: Awaited<ReturnType<typeof startPostgres>> | undefined;
  const startingPostgres = findPostgresBinDir().then((bin) => (bin === undefined ? undefined : startPostgres(bin)));
  try {
    const redis = (async () => {
      single = await startRedis();
      cluster = await startCluster(3);
    })();
    // Wait for both even when one fails, so the other is stopped below rather than left running.
    const [r, p] = await Promise.allSettled([redis, startingPostgres]);
    if (p.status === 'fulfilled') postgres = p.value;
    if (r.status === 'rejected') throw r.reason;
    if (p.status === 'rejected') throw p.reason;
  } catch (error) {
    await Promise.allSettled([single?.stop(), cluster?.stop(), postgres?.stop()]);
    temp.close();
    throw error;
  }
  if (!single || !cluster) throw new Error('unreachable: redis servers not started');
  const [s, c] = [single, cluster];
  project.provide('redisUrl', s.url);
  project.provide('clusterUrl', c.url);
  project.provide('pgUrl', postgres?.url ?? '');
  return async () => {
    await Promise.all([s.stop(), c.stop(), postgres?.stop()]);
    const left = temp.close();
    if (left.length > 0) {
      process.exitCode = 1; // vitest only logs an error thrown here; the run must fail
      throw new Error(`the test run left ${left.length} temp entr${left.length === 1 ? 'y' : 'ies'} behind (removed now; the test that made them must clean up): ${left.join(', ')}`);
    }
  };
}
