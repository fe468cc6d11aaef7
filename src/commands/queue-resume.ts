import type { Context } from '../context.js';
import { pauseOrResume, type QueuePauseOptions } from './queue-pause.js';

/** `queuectl queue resume <queue…>`: workers take jobs from these queues again (BullMQ's Queue.resume). */
export async function run(opts: QueuePauseOptions, ctx: Context, args: string[] = []): Promise<number> {
  return pauseOrResume(false, opts, ctx, args);
}
