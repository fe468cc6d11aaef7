import type { MovableState } from '../keys.js';
import type { Plan } from '../plan.js';
import type { ApplyResult, Moves } from '../apply.js';
import type { JournalRecord, ResolvedRun } from '../journal.js';

/**
 * The two ends of a move between servers or backends (src/migrate/xmove/run.ts drives them):
 * a SOURCE that holds jobs out of every worker's reach while they are in flight, and a
 * DESTINATION that writes a batch and records its delivery in the same atomic step. Redis and
 * PostgreSQL implement both, side by side (redis-source.ts, postgres-source.ts, redis-dest.ts,
 * postgres-dest.ts). Every step is keyed by the batch's token and safe to run twice.
 */

/** One batch taken out of the source: its jobs per destination, as wire blobs (codec.ts). */
export interface Held {
  token: string;
  state: MovableState;
  taken: number;
  /** Destination queue name → JSON array of wire jobs, oldest first. */
  blobs: Map<string, string | Buffer>;
  /** The source's automatic-id counter (destinations are kept 1,000,000 ahead of it). */
  srcCounter: string;
  /** Where the next take of this state starts, and whether the state is exhausted. */
  next: string;
  exhausted: boolean;
  /** Jobs left in place in this window: id, reason, name. */
  stays: { id: string; reason: string; name: string }[];
}

/** One destination's verdicts for a delivered batch: flat id, verdict (ok | renamed:<id> | duplicate | collision | dedup-conflict). */
export type Verdicts = string[];

/** What settling a batch did on the source. */
export interface Settled {
  /** Destination → jobs finished (their copy is in the destination). */
  finished: Map<string, number>;
  returned: number;
  stuck: string[];
  next: string;
}

/** An in-flight batch an earlier attempt left on the source: token → the destinations it was headed to. */
export interface Flight {
  token: string;
  state: MovableState;
  ids: string[];
  dests: string[];
}

export interface SourceHolder {
  /** e.g. `redis://…:6379 (prefix bull)`: names the end in prompts and status. */
  readonly label: string;
  /** Run bookkeeping on the source (journal, lease): the same as a same-server run's. */
  resolveRun(intent: string): Promise<ResolvedRun>;
  /**
   * The holding area and in-flight records belong to the move's intent (source, destination,
   * names, states), not to one run: a later run of the same move settles whatever any earlier one
   * left in flight.
   */
  bind(area: string): void;
  /** One process per move: refused while another holds it; kept until release. `runId` names the journal. */
  lock(runId: string, signal: AbortSignal): Promise<{ release(): Promise<void> }>;
  openJournal(intent: string, run: { id: string; source: string; to: string; names?: string[]; states: MovableState[]; plan: Plan; planned: number }): Promise<void>;
  closeJournal(runId: string, state: 'interrupted' | 'done' | 'unverified', left: number, note?: string): Promise<void>;
  listJournals(): Promise<JournalRecord[]>;
  /** Counts only: what would move where, what stays and why (destination refusals are learnt at delivery). */
  plan(states: MovableState[], batch: number, signal: AbortSignal): Promise<Plan>;
  take(state: MovableState, after: string, batch: number, token: string): Promise<Held>;
  settle(held: { token: string; state: MovableState }, deliveredIds: string[], after: string, counters: { moved: Moves; renamed: ApplyResult['renamed']; duplicates: ApplyResult['duplicates'] }): Promise<Settled>;
  flights(): Promise<Flight[]>;
  /** Reconnects after a lost connection or a restarted server (the run's lock is taken again). */
  reconnect(): Promise<void>;
  close(): Promise<void>;
}

/** The destination's readiness, for the plan: problems refuse the move, notes are printed. */
export interface Readiness {
  problems: string[];
  notes: string[];
}

export interface DestWriter {
  readonly label: string;
  readiness(dests: string[]): Promise<Readiness>;
  /** Before the first delivery of a real run (e.g. the delivery table on PostgreSQL). */
  prepare(): Promise<void>;
  /** Writes one batch for one destination queue atomically with its delivery record; a repeat answers the record. */
  deliver(token: string, state: MovableState, dest: string, blob: string | Buffer, srcCounter: string): Promise<Verdicts>;
  /** The recorded verdicts of a delivery, or undefined when it never committed. */
  delivered(token: string, dest: string): Promise<Verdicts | undefined>;
  /** Delivery records of settled batches are no longer needed. */
  forget(tokens: { token: string; dest: string }[]): Promise<void>;
  count(dests: string[], states: MovableState[]): Promise<Record<string, Partial<Record<MovableState, number>>>>;
  reconnect(): Promise<void>;
  close(): Promise<void>;
}

/** A verdict whose job the destination holds (as moved, renamed or already there): the source finishes it. */
export const isDelivered = (verdict: string): boolean => verdict === 'ok' || verdict === 'duplicate' || verdict.startsWith('renamed:');
