import { connectPostgres } from '../backend/postgres/connection.js';
import type { PostgresHandle } from '../backend/postgres/types.js';
import type { BatchLanes, BatchOutcome, Cursor, Row } from './postgres-engine.js';
import { assignIds } from './postgres-ids.js';

/**
 * migrate's sessions on PostgreSQL ("lanes"). A batch's time is nearly all the server's per-row
 * work (the job row's copy and its index entries, the foreign-key cascades job_log and
 * job_dependency run on each delete, three events a job, the event trims), done by one server
 * process per session. Three sessions rather than two even on two cores: while one lane waits on
 * a round trip (a batch takes nine), the others keep the cores busy (50k jobs on the loaded
 * 2-core machine, interleaved: move 5.6/6.1/5.4/7.1 s against 6.7/7.2/7.8/6.5 s with two). A third
 * batch in flight costs ~8 MB of peak RSS, a constant: 140 MB at 200k jobs, 162 MB at 1M.
 * Reads take turns in cursor order: a lane reads the next window (locking its rows FOR UPDATE SKIP
 * LOCKED) from where the last read stopped and hands the cursor on, then classifies, moves and
 * commits while the other lanes read and move the next windows. No two lanes hold the same row,
 * and each batch stays one transaction with its journal counters: crash safety is per batch, as
 * with one lane. The lanes share the journal's rows (migrate_moved, migrate_run), but a lane
 * writes them last, just before its COMMIT: sampled every few ms, no lane was ever seen waiting on them.
 */
export const LANES = 3;

export interface Lanes {
  handles: PostgresHandle[];
  events: LaneEvents;
  /** assignIds one lane at a time: its sequence raise reads the sequence, then sets it. */
  assignIds: typeof assignIds;
  close(): Promise<void>;
}

/**
 * The run's own session plus up to `count - 1` more to the same server. A session the server
 * refuses (max_connections reached) only makes the move slower: the run goes on with fewer lanes.
 */
export async function openLanes(main: PostgresHandle, count = LANES): Promise<Lanes> {
  const extra: PostgresHandle[] = [];
  for (let i = 1; i < count; i++) {
    const handle = await connectPostgres(main.spec).catch(() => undefined);
    if (!handle) break;
    extra.push(handle);
  }
  count = 1 + extra.length;
  let queue: Promise<unknown> = Promise.resolve();
  const serialized: typeof assignIds = (...args) => {
    const turn = queue.then(() => assignIds(...args));
    queue = turn.catch(() => undefined);
    return turn;
  };
  return { handles: [main, ...extra], events: new LaneEvents(count), assignIds: serialized, close: async () => void (await Promise.all(extra.map((h) => h.close()))) };
}

/**
 * Event-trim floors across lanes. A trim sees only committed events, so while another lane's
 * transaction is open, its events (all above the highest event id committed when it began) must
 * stay above every floor, or no later trim would reach them.
 */
export class LaneEvents {
  private top = 0n;
  private readonly caps: (bigint | undefined)[];

  constructor(count: number) {
    this.caps = Array.from({ length: count }, () => undefined);
  }

  /** Lane `lane` begins a transaction. */
  open(lane: number): void {
    this.caps[lane] = this.top;
  }

  /** Lane `lane`'s transaction ended; `eventTop`: the highest event id it committed. */
  close(lane: number, eventTop?: string): void {
    this.caps[lane] = undefined;
    if (eventTop !== undefined && BigInt(eventTop) > this.top) this.top = BigInt(eventTop);
  }

  /** The highest floor lane `lane` may keep (undefined: no other lane). A lane not in a transaction yet will write above `top`. */
  capFor(lane: number): bigint | undefined {
    if (this.caps.length === 1) return undefined;
    let cap = this.top;
    this.caps.forEach((c, i) => {
      if (i !== lane && c !== undefined && c < cap) cap = c;
    });
    return cap;
  }
}

/**
 * One walk of a state's windows from `start`, over every lane. `step` runs one batch on a handle
 * (its transaction included) from a cursor; `committed` takes each committed batch, in the order
 * they commit. Resolves false when `signal` stopped it; the first error stops every lane after its
 * current batch and is thrown.
 */
export async function walkInLanes(
  lanes: Lanes,
  start: Cursor,
  next: (last: Row) => Cursor,
  step: (handle: PostgresHandle, cursor: Cursor, hooks: BatchLanes) => Promise<BatchOutcome>,
  committed: (outcome: BatchOutcome) => Promise<void>,
  signal: AbortSignal,
): Promise<boolean> {
  let cursor = start;
  let exhausted = false;
  let failed = false;
  let turn: Promise<void> = Promise.resolve();
  const lane = async (handle: PostgresHandle, index: number): Promise<void> => {
    for (;;) {
      const previous = turn;
      let release!: () => void;
      turn = new Promise<void>((resolve) => (release = resolve));
      await previous;
      if (exhausted || failed || signal.aborted) return release();
      const from = cursor;
      let read = false;
      const onRead = (last: Row | undefined) => {
        if (read) return; // a retried transaction reads again: the cursor went on at the first read
        read = true;
        if (last) cursor = next(last);
        else exhausted = true;
        release();
      };
      lanes.events.open(index);
      let outcome: BatchOutcome | undefined;
      try {
        outcome = await step(handle, from, { onRead, floorCap: () => lanes.events.capFor(index), assignIds: lanes.assignIds });
      } catch (error) {
        failed = true;
        throw error;
      } finally {
        lanes.events.close(index, outcome?.eventTop);
        if (!read) {
          read = true;
          release();
        }
      }
      await committed(outcome);
    }
  };
  const settled = await Promise.allSettled(lanes.handles.map(lane));
  const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
  return !signal.aborted;
}
