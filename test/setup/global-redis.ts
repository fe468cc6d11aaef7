import type { TestProject } from 'vitest/node';
import { startCluster, startRedis } from './redis-process.js';

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
 */
export default async function setup(project: TestProject) {
  const single = await startRedis();
  const cluster = await startCluster(3);
  project.provide('redisUrl', single.url);
  project.provide('clusterUrl', cluster.url);
  return async () => {
    await Promise.all([single.stop(), cluster.stop()]);
  };
}
