import type { TestProject } from 'vitest/node';
import { startCluster, startRedis } from './redis-process.js';
import { openRunTempRoot } from './run-temp.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    clusterUrl: string;
  }
}

/**
 * One single-node redis-server and one 3-master cluster for the whole run, on free loopback ports.
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
  try {
    single = await startRedis();
    cluster = await startCluster(3);
  } catch (error) {
    await single?.stop();
    temp.close();
    throw error;
  }
  project.provide('redisUrl', single.url);
  project.provide('clusterUrl', cluster.url);
  return async () => {
    await Promise.all([single.stop(), cluster.stop()]);
    const left = temp.close();
    if (left.length > 0) {
      process.exitCode = 1; // vitest only logs an error thrown here; the run must fail
      throw new Error(`the test run left ${left.length} temp entr${left.length === 1 ? 'y' : 'ies'} behind (removed now; the test that made them must clean up): ${left.join(', ')}`);
    }
  };
}
