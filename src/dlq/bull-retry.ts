import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { SCRIPT, scripted } from '../migrate/bull-engine.js';
import { badKeysInError } from '../migrate/bad-keys.js';
import { destinationKeys, queuePrefix } from '../migrate/keys.js';
import { RedisError } from '../errors.js';
import type { DlqItem } from './types.js';

/** dlq's tally of Bull retries (the move script's journal hash: moved counts, renamed ids). */
export const bullRetryTally = (prefix: string) => `${prefix}:queuectl:dlq:bull-retried`;

/** What one call did: retried, and the rest counted per reason. */
export interface BullRetryStep {
  retried: number;
  skipped: Record<string, number>;
  renamed: number;
}

const REASONS: Record<string, string> = {
  'not-failed': 'no longer in the failed set (retried or removed meanwhile)',
  'missing-hash': 'job hash missing',
  scheduler: 'a Bull repeatable job (declare its BullMQ job scheduler instead)',
  collision: 'another job holds its id in the target queue',
  locked: 'locked by a Bull worker',
};

/**
 * Retries Bull failed jobs of one Bull queue into one BullMQ queue with the move's own script
 * (lua/bull-move-batch.lua in retry mode): translated exactly as migrate translates them, landing
 * waiting (or prioritized) with attempts reset, taken out of Bull's failed set in the same atomic
 * call. Every key is checked before the first write; a bad one refuses the whole call.
 */
export async function retryBullFailed(client: Redis | Cluster, prefix: string, items: DlqItem[], target: string): Promise<BullRetryStep> {
  const holder = items[0].holder;
  const src = queuePrefix(prefix, holder);
  const keys = [src + 'failed', src + 'priority', bullRetryTally(prefix), ...destinationKeys(prefix, target), src + 'id'];
  const config = JSON.stringify({ dests: [queuePrefix(prefix, target)], names: [target], routes: { '*': 1 }, states: { wait: true, prioritized: true } });
  const tombstone = `queuectl:retrying:${randomBytes(8).toString('hex')}`;
  const ids = items.map((i) => i.holderId);
  let reply;
  try {
    reply = await scripted(client)[SCRIPT](keys.length, ...keys, 'failed', src, ids.length, '', tombstone, config, '', 'retry', ...ids);
  } catch (error) {
    const bad = badKeysInError(error);
    if (!bad) throw error;
    const [first] = bad;
    throw new RedisError(`${first.key} is a ${first.found}, where ${first.key.startsWith(src) ? 'Bull' : 'BullMQ'} keeps a ${first.want}: this batch retried nothing`, `repair or delete that key (redis-cli TYPE ${first.key}), then rerun`);
  }
  const [moved, , , stays, , , renamed, dups] = reply;
  const skipped: Record<string, number> = {};
  for (let i = 0; i < stays.length; i += 4) {
    const reason = REASONS[stays[i + 1]] ?? stays[i + 1];
    skipped[reason] = (skipped[reason] ?? 0) + 1;
  }
  if (dups.length > 0) skipped[`the same job already in ${target} under its id (dropped from Bull's failed set)`] = dups.length / 4;
  return { retried: Number(moved), skipped, renamed: renamed.length / 3 };
}
