import type { LiveQueue } from './types.js';
import { sleep } from '../util/sleep.js';

export interface Snapshot {
  at: number;
  counts: Map<string, { waiting: number; completed: number }>;
}

export function snapshot(queues: LiveQueue[], at: number): Snapshot {
  return { at, counts: new Map(queues.map((q) => [q.name, { waiting: q.counts.waiting, completed: q.counts.completed }])) };
}

/**
 * Per-queue change per second since the previous tick. Undefined for a queue seen for the first
 * time. Completed counts shrink when retention trims them, so their rate is a floor, not a truth.
 */
export function ratesSince(previous: Snapshot | undefined, current: Snapshot, name: string) {
  const before = previous?.counts.get(name);
  const now = current.counts.get(name);
  const seconds = previous ? (current.at - previous.at) / 1000 : 0;
  if (!before || !now || seconds <= 0) return undefined;
  return {
    waitingPerSec: round((now.waiting - before.waiting) / seconds),
    completedPerSec: round((now.completed - before.completed) / seconds),
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}


/** Cursor home, the frame, then clear whatever the previous (longer) frame left below it. */
export const HOME = '\x1b[H';
export const CLEAR_BELOW = '\x1b[J';
export const CLEAR_SCREEN = '\x1b[2J';

export interface WatchLoopOptions {
  intervalMs: number;
  signal: AbortSignal;
  /** Redraw in place (stdout is a terminal) or print one frame after another. */
  redraw: boolean;
  /** Reads and renders one frame. */
  frame: () => Promise<string>;
  write: (text: string) => void;
}

/** Runs `frame` every interval until the signal aborts; returns the number of frames drawn. */
export async function watchLoop(options: WatchLoopOptions): Promise<number> {
  let frames = 0;
  while (!options.signal.aborted) {
    const text = await options.frame();
    if (options.signal.aborted) break;
    if (options.redraw) {
      // Clear each line's tail and, after the last, everything below: no flicker, no stale rows.
      options.write(`${frames === 0 ? CLEAR_SCREEN : ''}${HOME}${text.split('\n').join('\x1b[K\n')}${CLEAR_BELOW}\n`);
    } else {
      options.write(`${frames === 0 ? '' : '\n'}${text}\n`);
    }
    frames += 1;
    await sleep(options.intervalMs, options.signal);
  }
  return frames;
}
