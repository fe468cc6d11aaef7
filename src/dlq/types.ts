/**
 * Dead-letter items as every dlq subcommand sees them. Two styles exist (topology `deadLetter`):
 * (a) `failed`: the job itself, kept in its queue's failed set;
 * (b) `queue`: an item in a dedicated dead-letter queue whose job data carries the failed job, in
 *     the shape the topology declares (shape.ts).
 */
import type { DeadLetterFields } from '../topology/types.js';

/** `table`: a dead (or failed) row of a legacy table source (src/dlq/table-store.ts). */
export type DlqStyle = 'failed' | 'queue' | 'table';

/** Style (b) items carry a status in their hash; style (a) items are always pending. */
export type DlqStatus = 'pending' | 'retried' | 'discarded';

/** Where dead letters are read from: one queue's failed set, or one dead-letter queue. */
export type DlqSource =
  /** `routed`: a Bull legacy queue's failed set, retried into the queue owning each job's name (so names are always read). */
  | { style: 'failed'; queue: string; routed?: true }
  /** `feeds`: the declared queues that send their dead letters here. */
  /** `fields`: the item shape the topology declares (absent: the default shape). */
  | { style: 'queue'; dlq: string; feeds: string[]; fields?: DeadLetterFields };

export interface DlqItem {
  /** `<holder>/<holderId>`: how the user names the item (show, retry, discard). */
  ref: string;
  style: DlqStyle;
  /** The queue whose keys hold the item: the job's queue (a), or the dead-letter queue (b). */
  holder: string;
  holderId: string;
  /** The job's own queue and id: where a retry puts it back. */
  queue: string;
  id: string;
  name: string;
  failedReason: string;
  attemptsMade: number;
  /** Epoch ms. */
  failedAt: number;
  orgId?: string;
  status: DlqStatus;
  /** Why a style (b) item does not fit its queue's item shape ("no originalData"): shown, never retried. */
  unreadable?: string;
  /** Where a retry puts it back (set by planRetry): `queue`, or for a legacy queue the owner of its name. */
  target?: string;
}

/** The filters of list, retry and discard, parsed and validated. */
export interface DlqFilters {
  queues?: string[];
  names?: string[];
  reason?: RegExp;
  /** failedAt >= since (epoch ms). */
  since?: number;
  /** failedAt <= before (epoch ms): `--older-than`. */
  before?: number;
  org?: string;
  /** `--tenant field=value`: table sources only, a field of the row's data or a column. */
  tenant?: { field: string; value: string };
}

/** Hash fields queuectl writes on a style (b) item; the worker's payload is never rewritten. */
export const MARK_FIELDS = {
  status: 'queuectl.status',
  at: 'queuectl.at',
  by: 'queuectl.by',
  reason: 'queuectl.reason',
} as const;
