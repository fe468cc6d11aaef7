import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Queue, QueueEvents, Worker, type ConnectionOptions } from 'bullmq';
import { RedisError } from '../errors.js';
import type { RedisHandle } from '../redis/types.js';
import { removeScratchKeys } from './cleanup.js';
import type { DedupSite } from './site.js';

const CONNECTION_TROUBLE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|Connection is closed|timed out|max retries|NOAUTH|WRONGPASS|CLUSTERDOWN/i;
const RESTORE_MARKER = readFileSync(new URL('./lua/restore-marker.lua', import.meta.url), 'utf8');

/** dedup-check on Redis: BullMQ objects on duplicated connections, a random key prefix as scratch (the PostgreSQL twin is postgres-site.ts). */
export function redisDedupSite(handle: RedisHandle): DedupSite {
  const connection = () => handle.bullmqConnection() as ConnectionOptions;
  return {
    nsKind: 'prefix',
    producer: (queue, prefix) => {
      const own = handle.duplicate();
      const q = new Queue(queue, { connection: own, prefix, skipMetasUpdate: true });
      return {
        queue: q,
        // BullMQ leaves connections it was given open: they are ours to close.
        close: async () => {
          await q.close().catch(() => undefined);
          await own.quit().catch(() => own.disconnect());
        },
      };
    },
    worker: (queue, prefix, processor, options) => new Worker(queue, processor, { ...options, connection: connection(), prefix }),
    events: (queue, prefix, lastEventId) => new QueueEvents(queue, { connection: connection(), prefix, lastEventId }),
    duplicateReports: async (_queue, _prefix, _afterId, _ids, heard) => heard,
    lastEventId: async (queue, prefix) => (await handle.client.xrevrange(`${prefix}:${queue}:events`, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0',
    dedupKey: async (queue, prefix, id) => {
      const pttl = await handle.client.pttl(`${prefix}:${queue}:de:${id}`);
      // PTTL: -2 no key, -1 no expiry.
      return { exists: pttl !== -2, pttl };
    },
    makeScratch: async () => scratchPrefix(handle.mode),
    clearScratch: async (prefix) => void (await removeScratchKeys(handle, prefix)),
    dropScratch: async (prefix) => {
      await removeScratchKeys(handle, prefix).catch((error: unknown) => {
        throw new RedisError(`could not remove the scratch keys ${prefix}:* (${error instanceof Error ? error.message : String(error)})`, 'delete them with SCAN MATCH + UNLINK');
      });
    },
    // The canary's delay marker must not outlive it (see lua/restore-marker.lua).
    afterCanaries: async (queue, prefix, earliestDue) => {
      const queueKey = `${prefix}:${queue}`;
      await handle.client.eval(RESTORE_MARKER, 2, `${queueKey}:marker`, `${queueKey}:delayed`, String(earliestDue));
    },
    connectionTrouble: (queue, message) => (CONNECTION_TROUBLE.test(message) ? new RedisError(`Redis failed during dedup-check of ${queue}: ${message}`, 'check --redis and that the server is up') : undefined),
  };
}

/** A scratch prefix nobody else uses; hash-tagged on a cluster so every BullMQ script stays in one slot. */
export function scratchPrefix(mode: RedisHandle['mode']): string {
  const name = `queuectl-dedup-${randomBytes(6).toString('hex')}`;
  return mode === 'cluster' ? `{${name}}` : name;
}
