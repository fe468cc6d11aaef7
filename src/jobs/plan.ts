import type { LiveQueue, QueueCounts } from '../inspect/types.js';

/**
 * The pure half of `queue …`: from what was read, what each operation would change. The commands
 * print these plans for --dry-run and before confirming, then apply them through BullMQ.
 */

export interface PauseStep {
  queue: string;
  /** Paused before the command. */
  wasPaused: boolean;
  /** Whether this queue changes (false: it is already in the wanted state). */
  change: boolean;
}

export function planPause(queues: LiveQueue[], pause: boolean): PauseStep[] {
  return queues.map((q) => ({ queue: q.name, wasPaused: q.paused, change: q.paused !== pause }));
}

export function describePause(steps: PauseStep[], pause: boolean, dryRun: boolean): string[] {
  const verb = pause ? 'pause' : 'resume';
  return steps.map((s) => (s.change
    ? `${dryRun ? `would ${verb}` : pause ? 'paused' : 'resumed'} ${s.queue} (was ${s.wasPaused ? 'paused' : 'running'})`
    : `${s.queue} is already ${pause ? 'paused' : 'running'}: nothing to do`));
}

/** Jobs a queue holds, every state together. */
export function totalJobs(counts: QueueCounts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** `waiting 3, delayed 1, …` for the states that hold jobs; `no jobs` when none do. */
export function describeCounts(counts: QueueCounts): string {
  // BullMQ's state names (waiting-children), not the field names.
  const parts = Object.entries(counts).filter(([, n]) => n > 0).map(([state, n]) => `${state.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${n}`);
  return parts.length ? parts.join(', ') : 'no jobs';
}

/** How many removed, as a phrase. */
export function jobsPhrase(n: number): string {
  return `${n} job${n === 1 ? '' : 's'}`;
}
