import type { Redis } from 'ioredis';
import { escapeGlob } from '../redis/scan.js';

/**
 * Key suffixes that prove a queue exists. `meta` and `id` are written by every BullMQ version that
 * adds a job, but a queue written by an old version (or with custom ids and its `meta` deleted) may
 * hold nothing but state keys, e.g. only `completed`: those count too.
 */
export const QUEUE_MARKER_SUFFIXES: ReadonlySet<string> = new Set([
  'meta', 'id', 'wait', 'paused', 'active', 'prioritized', 'delayed', 'completed', 'failed', 'waiting-children',
]);

/**
 * One SCAN pattern for every marker key: the last segment must start with a marker's first letter.
 * SCAN walks the whole keyspace whatever the pattern, so one walk with a coarse pattern costs less
 * than one walk per suffix; the class keeps numeric job hashes (automatic ids) off the wire, and
 * `queueNameOf` filters the rest exactly.
 */
export function discoveryPattern(prefix: string): string {
  const firsts = [...new Set([...QUEUE_MARKER_SUFFIXES].map((s) => s[0]))].sort().join('');
  return `${escapeGlob(prefix)}:*:[${firsts}]*`;
}

/**
 * The queue a key belongs to when the key is one of a queue's marker keys, else undefined.
 * Queue names cannot contain `:`, so `<prefix>:<name>:<suffix>` has exactly one colon after the
 * prefix; job keys (`<prefix>:<name>:<id>:logs`) and `<prefix>::relay:…` (empty name) are skipped.
 */
export function queueNameOf(key: string, prefix: string): string | undefined {
  const head = `${prefix}:`;
  if (!key.startsWith(head)) return undefined;
  const rest = key.slice(head.length);
  const colon = rest.indexOf(':');
  if (colon <= 0 || rest.indexOf(':', colon + 1) !== -1) return undefined;
  return QUEUE_MARKER_SUFFIXES.has(rest.slice(colon + 1)) ? rest.slice(0, colon) : undefined;
}

export interface DiscoverOptions {
  /** SCAN COUNT hint: keys the server looks at per call, so no single call blocks it for long. */
  count?: number;
  signal?: AbortSignal;
}

/** Every queue under `prefix` on every master, found with SCAN (never KEYS), sorted by name. */
export async function discoverQueues(masters: Redis[], prefix: string, options: DiscoverOptions = {}): Promise<string[]> {
  const pattern = discoveryPattern(prefix);
  // 5000 keys a call: ~25% faster discovery over 1M keys than 1000, and each call still stays well
  // under SLOWLOG's 10 ms (the bench asserts an empty SLOWLOG during inspect).
  const count = options.count ?? 5000;
  const names = new Set<string>();
  await Promise.all(masters.map(async (node) => {
    let cursor = '0';
    do {
      options.signal?.throwIfAborted();
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      for (const key of keys) {
        const name = queueNameOf(key, prefix);
        if (name !== undefined) names.add(name);
      }
      cursor = next;
    } while (cursor !== '0');
  }));
  return [...names].sort();
}
