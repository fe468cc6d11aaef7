import type { QueueTarget } from '../inspect/read-queues.js';
import type { LiveQueue } from '../inspect/types.js';
import type { LiveScheduler } from '../schedules/types.js';
import type { LiveState } from './types.js';

/**
 * The state plan compares, from either backend's reads: settings of the declared queues (read even
 * when absent), schedulers of those and of every other live queue (for --prune and the
 * "left alone" note).
 */
export async function liveState(
  declared: string[],
  live: string[],
  readQueues: (targets: QueueTarget[]) => Promise<LiveQueue[]>,
  readSchedulers: (queues: string[]) => Promise<LiveScheduler[]>,
): Promise<LiveState> {
  const targets = declared.map((name): QueueTarget => ({ name, kind: 'declared' }));
  const queues = (await readQueues(targets)).map(({ name, kind, exists, paused, meta }) => ({ name, kind, exists, paused, meta }));
  const schedulers = await readSchedulers([...new Set([...declared, ...live])]);
  return { queues, schedulers };
}
