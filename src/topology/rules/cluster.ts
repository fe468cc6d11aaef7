import type { Rule } from './types.js';

const HASH_TAG = /\{[^{}]+\}/;

/**
 * prefix-no-hash-tag: on Redis Cluster every key one BullMQ script touches must hash to one slot.
 * With a plain prefix and untagged queue names Queue.add fails with CROSSSLOT at once. Offline we
 * only know the URL might be a cluster (warning); live it is certain (error).
 */
export const clusterPrefix: Rule = (topology, options) => {
  if (!options.redisUrl?.startsWith('redis+cluster://') || HASH_TAG.test(topology.prefix)) return [];
  const untagged = Object.keys(topology.queues).filter((name) => !HASH_TAG.test(name));
  if (untagged.length === 0) return []; // every queue name carries its own hash tag
  return [
    {
      rule: 'prefix-no-hash-tag',
      severity: options.live ? 'error' : 'warning',
      path: ['prefix'],
      message: `prefix "${topology.prefix}" has no hash tag and Redis is a cluster, so BullMQ fails with CROSSSLOT on ${untagged.length} queue(s); use prefix: "{${topology.prefix}}" (jobs already stored under "${topology.prefix}" stay there: drain them first)`,
    },
  ];
};
