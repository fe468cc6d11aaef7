import { RedisError } from '../errors.js';
import { bullmqSigns, type QueueLayoutReader } from './layout.js';
import { toNumber } from './reads.js';
import type { BullCounts } from './types.js';

/**
 * A Bull 3.x/4.x queue's reads (Bull 4.16.5's Lua scripts are the source): `wait` and `paused`
 * lists (pause renames one into the other and sets the `meta-paused` string), `active` list,
 * `delayed` zset (score due-ms·4096 + id bits), `completed`/`failed` zsets, `stalled` set, `id`
 * counter. A prioritized job sits in the wait (or paused) list at its place AND in the
 * `priority` zset until a worker takes it (moveToActive ZREMs it), so queuectl's one-state-per-job
 * counts take those out of waiting; `bullCounts` keeps Bull's own view. Read commands only.
 */
const COUNT_READS = [
  ['llen', 'wait', 'list'], ['llen', 'paused', 'list'], ['llen', 'active', 'list'],
  ['zcard', 'delayed', 'zset'], ['zcard', 'failed', 'zset'], ['zcard', 'completed', 'zset'],
  ['scard', 'stalled', 'set'],
] as const;
const EVIDENCE_KEYS = [['meta-paused', 'string'], ['priority', 'zset']] as const;

export const bullLayout: QueueLayoutReader = {
  name: 'bull',
  reads(prefix, name) {
    const key = (suffix: string) => `${prefix}:${name}:${suffix}`;
    return [
      ...COUNT_READS.map(([cmd, suffix]): [string, string] => [cmd, key(suffix)]),
      ['hmget', key('meta'), 'paused', 'version', 'opts.maxLenEvents'],
      ['exists', key('id')],
      // Workers take from the right of `wait` (BRPOPLPUSH): the right end is the next job to run.
      ['lindex', key('wait'), -1],
      ['lindex', key('paused'), -1],
    ];
  },
  parse(target, replies, prefix) {
    const key = (suffix: string) => `${prefix}:${target.name}:${suffix}`;
    // execReads turns WRONGTYPE into null; a count never is null otherwise (a missing key counts 0).
    COUNT_READS.forEach(([, suffix, type], i) => assertType(replies[i], key(suffix), type));
    const meta = replies[COUNT_READS.length];
    assertType(meta, key('meta'), 'hash');
    const evidence = replies.slice(COUNT_READS.length + 4);
    EVIDENCE_KEYS.forEach(([suffix, type], i) => assertType(evidence[i], key(suffix), type));
    const [wait, pausedList, active, delayed, failed, completed, stalled] = replies.slice(0, COUNT_READS.length).map(toNumber);
    const [metaPaused, version, maxLenEvents] = meta as (string | null)[];
    const idExists = toNumber(replies[COUNT_READS.length + 1]);
    const [pausedKey, priority] = evidence.map(toNumber);
    const bullCounts: BullCounts = { waiting: wait, paused: pausedList, active, delayed, prioritized: priority, completed, failed };
    // Bull's ZREM from `priority` and its list pop are one script, so prioritized ≤ wait + paused; clamp anyway.
    const prioritized = Math.min(priority, wait + pausedList);
    const counts = { waiting: wait + pausedList - prioritized, prioritized, delayed, active, failed, completed, waitingChildren: 0 };
    const holds = Object.values(counts).some((c) => c > 0);
    const oldestId = (replies[COUNT_READS.length + 2] as string | null) ?? (replies[COUNT_READS.length + 3] as string | null) ?? undefined;
    return {
      queue: {
        name: target.name,
        kind: target.kind,
        exists: holds || idExists > 0 || pausedKey > 0 || metaPaused !== null,
        counts,
        paused: pausedKey > 0 || metaPaused === '1' || pausedList > 0,
        meta: {},
        stalled,
        bullCounts,
      },
      oldestId: wait + pausedList > 0 ? oldestId : undefined,
      bullmqSigns: bullmqSigns(version, maxLenEvents),
    };
  },
};

function assertType(reply: unknown, key: string, type: string): void {
  if (reply !== null) return;
  throw new RedisError(`${key} is not the ${type} Bull keeps there (WRONGTYPE)`, `inspect that key with TYPE ${key}; something other than Bull wrote it`);
}
