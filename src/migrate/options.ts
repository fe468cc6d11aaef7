import { UsageError } from '../errors.js';
import { parseDuration, DURATION_HINT } from '../topology/durations.js';
import { DEFAULT_STATES, MOVABLE_STATES, type MovableState } from './keys.js';

/** `migrate` options as commander hands them over (strings), validated into one typed object. */
export interface MigrateOptions {
  from: string;
  to?: string;
  states: MovableState[];
  names?: string[];
  dryRun: boolean;
  batch: number;
  rate?: number;
  follow: boolean;
  quietMs: number;
  strategy: 'move' | 'drain';
  confirm?: string;
  /** With --strategy drain: delete the failed jobs left behind too (never by default). */
  includeFailed: boolean;
}

const MAX_BATCH = 10_000;

/** --batch when not given, and why that size (the hint of a bad --batch). */
export interface BatchDefault {
  batch: number;
  why: string;
}

/** On Redis (and for moves to another server): each batch is one script that blocks Redis while it runs. */
export const REDIS_BATCH: BatchDefault = { batch: 250, why: 'keeps each step under ~10 ms of Redis time' };

export function parseMigrateOptions(raw: Record<string, unknown>, defaults: BatchDefault = REDIS_BATCH): MigrateOptions {
  const from = raw.from as string | undefined;
  if (!from) throw new UsageError('migrate needs --from <queue>', 'e.g. queuectl migrate --from eccb-smart-upload --dry-run');
  const list = (v: unknown) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined);
  const states = (list(raw.states) ?? DEFAULT_STATES) as MovableState[];
  const bad = states.filter((s) => !MOVABLE_STATES.includes(s));
  if (bad.length > 0 || states.length === 0) {
    throw new UsageError(`--states: ${bad.length ? `"${bad.join(',')}" cannot be moved` : 'empty list'}`, `choose from ${MOVABLE_STATES.join(',')} (active and waiting-children jobs never move)`);
  }
  const batch = Number(raw.batch ?? defaults.batch);
  if (!Number.isInteger(batch) || batch < 1 || batch > MAX_BATCH) throw new UsageError(`--batch must be an integer from 1 to ${MAX_BATCH}, got "${String(raw.batch)}"`, `the default, ${defaults.batch}, ${defaults.why}`);
  let rate: number | undefined;
  if (raw.rate !== undefined) {
    rate = Number(raw.rate);
    if (!Number.isFinite(rate) || rate <= 0) throw new UsageError(`--rate must be a positive number of jobs per second, got "${String(raw.rate)}"`, 'e.g. --rate 5000');
  }
  const quietRaw = raw.quietFor ?? '10s';
  const quietMs = parseDuration(quietRaw);
  if (quietMs === undefined || quietMs < 0) throw new UsageError(`--quiet-for: "${String(quietRaw)}" is not a duration`, DURATION_HINT);
  if (raw.quietFor !== undefined && !raw.follow && raw.strategy !== 'drain') throw new UsageError('--quiet-for only makes sense with --follow or --strategy drain', 'add --follow');
  const strategy = (raw.strategy ?? 'move') as string;
  if (strategy !== 'move' && strategy !== 'drain') throw new UsageError(`--strategy must be move or drain, got "${strategy}"`, 'move copies jobs over; drain waits for old workers to empty the queue');
  if (raw.includeFailed && strategy !== 'drain') throw new UsageError('--include-failed only makes sense with --strategy drain', 'to move failed jobs instead, add failed to --states');
  const names = list(raw.names);
  if (names !== undefined && names.length === 0) throw new UsageError('--names is empty', 'e.g. --names smartupload.process,smartupload.autoCommit');
  return {
    from,
    to: raw.to as string | undefined,
    states: [...new Set(states)],
    names,
    dryRun: Boolean(raw.dryRun),
    batch,
    rate,
    follow: Boolean(raw.follow),
    quietMs,
    strategy,
    confirm: raw.confirm as string | undefined,
    includeFailed: Boolean(raw.includeFailed),
  };
}
