import type { Redis } from 'ioredis';
import { UsageError } from '../errors.js';
import { didYouMean } from '../topology/problems.js';

/**
 * Which BullMQ prefixes a Redis holds, to say plainly when the prefix in use holds nothing (a
 * `--prefix` typo showed every queue "absent" and exited 0). Every queue that ever had a job has
 * `<prefix>:<queue>:meta` or `<prefix>:<queue>:id`; queue names have no `:`, so the prefix is the
 * key less its last two segments. Bounded: SCAN (never KEYS) for at most `maxCalls` pages per
 * master, so a huge keyspace costs a few milliseconds and at worst an unknown answer.
 */
export interface PrefixProbe {
  /** True when a key of the prefix in use was seen. */
  found: boolean;
  /** True when the walk covered the whole keyspace, so `found: false` is certain. */
  complete: boolean;
  /** Other BullMQ prefixes seen, sorted. */
  others: string[];
}

export interface ProbeOptions {
  maxCalls?: number;
  count?: number;
}

/** How many other prefixes a message names. */
const LISTED = 8;

/** One coarse pattern for both marker suffixes; prefixOfMarker keeps only the exact ones. */
const MARKER_PATTERN = '*:[im][de]*';

export function prefixOfMarker(key: string): string | undefined {
  const last = key.lastIndexOf(':');
  if (last < 0) return undefined;
  const suffix = key.slice(last + 1);
  if (suffix !== 'meta' && suffix !== 'id') return undefined;
  const queueStart = key.lastIndexOf(':', last - 1);
  // An empty queue name (`<prefix>::relay:…` style keys) or no prefix at all is not a queue.
  if (queueStart <= 0 || queueStart === last - 1) return undefined;
  return key.slice(0, queueStart);
}

export async function probePrefixes(masters: Redis[], prefix: string, options: ProbeOptions = {}): Promise<PrefixProbe> {
  const maxCalls = options.maxCalls ?? 50;
  const count = options.count ?? 1000;
  const others = new Set<string>();
  let found = false;
  let complete = true;
  for (const node of masters) {
    let cursor = '0';
    let calls = 0;
    do {
      if (calls >= maxCalls) {
        complete = false;
        break;
      }
      const [next, keys] = await node.scan(cursor, 'MATCH', MARKER_PATTERN, 'COUNT', count);
      calls += 1;
      for (const key of keys) {
        const seen = prefixOfMarker(key);
        if (seen === prefix) found = true;
        else if (seen !== undefined) others.add(seen);
      }
      cursor = next;
    } while (cursor !== '0' && !found);
    if (found) break;
  }
  return { found, complete: complete || found, others: [...others].sort() };
}

/**
 * What to say about a prefix that holds no BullMQ queue, or nothing when it holds some (or the
 * bounded walk could not tell). A `--prefix` typed on the command line under which nothing exists,
 * while other prefixes do, names nothing: exit 2 with a did-you-mean, as a queue name would. The
 * topology's own prefix (or the default) only gets a warning: before the first job that is normal.
 */
export function emptyPrefixVerdict(prefix: string, probe: PrefixProbe, explicit: boolean): { error?: UsageError; warning?: string } {
  if (probe.found || !probe.complete) return {};
  const listed = probe.others.slice(0, LISTED).map((p) => `"${p}"`).join(', ') + (probe.others.length > LISTED ? `, … (${probe.others.length - LISTED} more)` : '');
  const where = probe.others.length > 0 ? `; BullMQ queues exist under ${listed}` : '; this Redis holds no BullMQ queue at all';
  const message = `no BullMQ queue exists under prefix "${prefix}"${where}`;
  if (explicit && probe.others.length > 0) {
    const guess = didYouMean(prefix, probe.others);
    return { error: new UsageError(message, guess ? `did you mean --prefix ${guess}?` : 'check --prefix') };
  }
  return { warning: `${message} — check the prefix${explicit ? '' : " (--prefix, or the topology's prefix:)"}` };
}
