import { connectPostgres } from '../backend/postgres/connection.js';
import type { PostgresHandle } from '../backend/postgres/types.js';

/**
 * The sessions of a table move into BullMQ on PostgreSQL in the same database ("lanes"). There a
 * batch is one transaction (claim, BullMQ's add_jobs_bulk, delete, counters) whose time is nearly
 * all the server's per-row work, done by one server process per session: two sessions keep two
 * server cores busy. Claims take turns in cursor order: a lane claims the next window (FOR UPDATE
 * SKIP LOCKED) from where the last claim stopped and hands the cursor on as soon as its claim
 * statement returned, then writes and commits while the other lane claims. No two lanes hold the
 * same row, and each batch stays one transaction: crash safety is per batch, as with one lane.
 */
export const TABLE_LANES = 2;

export interface LaneCursor {
  at: string;
  strict: boolean;
}

/** The run's own session plus up to `count - 1` more; a session the server refuses only means fewer lanes. */
export async function openTableLanes(main: PostgresHandle, count = TABLE_LANES): Promise<{ handles: PostgresHandle[]; close(): Promise<void> }> {
  const extra: PostgresHandle[] = [];
  for (let i = 1; i < count; i++) {
    const handle = await connectPostgres(main.spec).catch(() => undefined);
    if (!handle) break;
    extra.push(handle);
  }
  return { handles: [main, ...extra], close: async () => void (await Promise.all(extra.map((h) => h.close()))) };
}

/**
 * One walk of a group's rows over every lane, from the start. `step` runs one batch on a handle
 * (its transaction included) from a cursor and calls `onRead` with the cursor of the last row it
 * claimed (undefined: none left) as soon as its claim returned; `committed` takes each committed
 * batch. Stops when nothing is left or `stop()` says so; the first error stops every lane after
 * its current batch and is thrown.
 */
export async function claimInLanes<B>(
  handles: PostgresHandle[],
  step: (handle: PostgresHandle, cursor: LaneCursor | undefined, onRead: (last: string | undefined) => void) => Promise<B>,
  committed: (batch: B) => void,
  stop: () => boolean,
): Promise<void> {
  let cursor: LaneCursor | undefined;
  let exhausted = false;
  let failed = false;
  let turn: Promise<void> = Promise.resolve();
  const lane = async (handle: PostgresHandle): Promise<void> => {
    for (;;) {
      const previous = turn;
      let release!: () => void;
      turn = new Promise<void>((resolve) => (release = resolve));
      await previous;
      if (exhausted || failed || stop()) return release();
      let read = false;
      const onRead = (last: string | undefined) => {
        if (read) return; // a batch taken again reads again: the cursor went on at the first read
        read = true;
        if (last === undefined) exhausted = true;
        else cursor = { at: last, strict: false };
        release();
      };
      let batch: B;
      try {
        batch = await step(handle, cursor, onRead);
      } catch (error) {
        failed = true;
        throw error;
      } finally {
        if (!read) {
          read = true;
          release();
        }
      }
      committed(batch);
    }
  };
  const settled = await Promise.allSettled(handles.map(lane));
  const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}
