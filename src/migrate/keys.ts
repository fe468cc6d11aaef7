import { createHash } from 'node:crypto';
import { escapeGlob } from '../redis/scan.js';

/** The job states migrate can move; `active` and `waiting-children` never move. */
export const MOVABLE_STATES = ['wait', 'prioritized', 'delayed', 'failed'] as const;
export type MovableState = (typeof MOVABLE_STATES)[number];
export const DEFAULT_STATES: MovableState[] = ['wait', 'prioritized', 'delayed'];

/** `<prefix>:<queue>:`, the prefix of every key of a queue (and of its job hashes). */
export function queuePrefix(prefix: string, queue: string): string {
  return `${prefix}:${queue}:`;
}

/** The ten keys of one destination, in the order move-batch.lua expects them. */
export function destinationKeys(prefix: string, queue: string): string[] {
  const p = queuePrefix(prefix, queue);
  return ['wait', 'prioritized', 'delayed', 'failed', 'meta', 'id', 'pc', 'marker', 'events', 'active'].map((k) => p + k);
}

/** Journal hash of one run; it lives under the BullMQ prefix so it shares the queues' hash tag. */
export function journalKey(prefix: string, runId: string): string {
  return `${prefix}:queuectl:migrate:${runId}`;
}

/** SCAN pattern for every journal under a prefix (glob characters in the prefix escaped). */
export function journalPattern(prefix: string): string {
  return `${escapeGlob(prefix)}:queuectl:migrate:*`;
}

/**
 * What a run moves (prefix, source, target, names, states), hashed: the id of the first run of
 * that intent, and the stem of the later ones (`<intent>-2`, `-3`…). Rerunning the same command
 * continues the intent's current run while it is unfinished (interrupted, killed); once it has
 * finished, the next migration starts a new run, so two migrations never share one journal.
 */
export function runIdOf(input: { prefix: string; from: string; to?: string; names?: string[]; states: string[] }): string {
  const canonical = JSON.stringify([input.prefix, input.from, input.to ?? null, [...(input.names ?? [])].sort(), [...input.states].sort()]);
  return createHash('sha1').update(canonical).digest('hex').slice(0, 12);
}

/**
 * The intent's current run id (a plain string). Not under `queuectl:migrate:` so listJournals
 * never reads it as a journal. Absent until a second run exists: then the first run (id = intent)
 * is current, which is also how journals of earlier releases are found and continued.
 */
export function currentRunKey(prefix: string, intent: string): string {
  return `${prefix}:queuectl:migrate-current:${intent}`;
}

/** The run after `runId` of the same intent: `<intent>` → `<intent>-2` → `<intent>-3`. */
export function nextRunId(intent: string, runId: string): string {
  const n = runId.startsWith(`${intent}-`) ? Number(runId.slice(intent.length + 1)) : 1;
  return `${intent}-${Number.isInteger(n) && n > 0 ? n + 1 : 2}`;
}

/** Redis Cluster hash tag of a key (the part hashed), per the cluster spec. */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}
