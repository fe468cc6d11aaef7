import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, inject } from 'vitest';

import { stopStarted } from '../setup/redis-process.js';

export { startRedis, startCluster, freePort } from '../setup/redis-process.js';

/** URL of the run's single-node redis-server (redis://127.0.0.1:<port>). */
export function redisUrl(): string {
  return inject('redisUrl');
}

/** URL of the run's 3-master cluster (redis+cluster://127.0.0.1:<p1>,<p2>,<p3>). */
export function clusterUrl(): string {
  return inject('clusterUrl');
}

/** A fresh queue name per test, so tests never see each other's keys. */
export function uniqueName(prefix = 'q'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

const opened: (Redis | Cluster)[] = [];
afterAll(async () => {
  await Promise.all(opened.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
  await stopStarted(); // private servers a failed test or setup did not get to stop
});

/** A plain ioredis client to the single node (closed after the file's tests). */
export function client(url = redisUrl()): Redis {
  const c = new Redis(url, { maxRetriesPerRequest: null });
  opened.push(c);
  return c;
}

/** A plain ioredis Cluster client (closed after the file's tests). */
export function clusterClient(url = clusterUrl()): Cluster {
  const seeds = url.replace('redis+cluster://', '').split(',').map((hp) => {
    const [host, port] = hp.split(':');
    return { host, port: Number(port) };
  });
  const c = new Cluster(seeds, { redisOptions: { maxRetriesPerRequest: null } });
  opened.push(c);
  return c;
}

/** BullMQ connection options for the single node. */
export function bullConnection(url = redisUrl()) {
  const { hostname, port } = new URL(url);
  return { host: hostname, port: Number(port), maxRetriesPerRequest: null };
}

/**
 * Makes `prefix` hold one real BullMQ queue (one waiting job in `queue`): a command given an
 * explicit --prefix under which nothing exists, while the shared test server holds other
 * prefixes, is exit 2 by design (a mistyped --prefix), so a test that only wants an empty-ish
 * queue table seeds one first.
 */
export async function seedPrefix(prefix: string, queue = 'eccb-ocr', name = 'ocr.run'): Promise<void> {
  const { Queue } = await import('bullmq');
  const q = new Queue(queue, { connection: bullConnection(), prefix });
  try {
    await q.add(name, {});
  } finally {
    await q.close();
  }
}
