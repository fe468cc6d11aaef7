import { InterruptedError, QueuectlError, UsageError } from '../errors.js';
import { toPostgresError } from '../backend/postgres/errors.js';
import { sleep } from '../util/sleep.js';
import { deadByIds, deadPage, deadStatuses, discardDead, DISCARD_TABLE, ensureDiscardTable, retryDead, rowJson, selectDead, type DeadRow } from '../table/dead.js';
import { col } from '../table/reads.js';
import { readOnly } from '../table/session.js';
import type { TableSource } from '../table/types.js';
import type { ApplyOutcome } from './apply.js';
import { matches } from './filters.js';
import { STATS_SAMPLE, topReasons, type StatsRow } from './stats.js';
import type { DlqStore, StoreApplyOptions } from './store.js';
import type { DlqItem } from './types.js';

/**
 * dlq on legacy table sources (src/table/): dead letters are the rows in the `dead` (and `failed`)
 * status, read newest first in pages by an index-served filter; retry and discard are one
 * statement per batch (table/dead.ts) that re-checks each row. The third DlqStore beside Redis and
 * PostgreSQL; combined-store.ts puts it next to the backend's. The `sources` argument of each
 * method is the backend's and is ignored here: a table store holds its own tables.
 */
const PAGE = 500;
const GONE = 'no longer a dead letter (retried or discarded already, or changed by the application)';

export function tableDlqStore(tables: TableSource[]): DlqStore {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const item = (s: TableSource, r: DeadRow): DlqItem => ({
    ref: `${s.name}/${r.id}`, style: 'table', holder: s.name, holderId: r.id, queue: s.name, id: r.id, name: r.family,
    failedReason: r.last_error ?? '', attemptsMade: r.attempts ?? 0, failedAt: Math.round(r.failed_ms ?? 0), status: 'pending',
  });

  async function* scan(s: TableSource, options: Parameters<DlqStore['collect']>[1]): AsyncGenerator<DlqItem[]> {
    const f = options.filters;
    let after: { failedMs: number; id: string } | undefined;
    for (;;) {
      // Each page in its own READ ONLY transaction (no lock held between pages), index-backed like inspect's reads.
      const rows = await readOnly(s.db, () => deadPage(s, { names: f.names, since: f.since, before: f.before, tenant: f.tenant }, after, PAGE));
      if (rows.length === 0) return;
      yield rows.map((r) => item(s, r)).filter((i) => matches(i, { ...f, tenant: undefined }));
      const last = rows[rows.length - 1];
      after = { failedMs: last.failed_ms ?? 0, id: last.id };
      if (rows.length < PAGE) return;
    }
  }

  const collect: DlqStore['collect'] = async (_sources, options) => {
    const items: DlqItem[] = [];
    for (const s of tables) {
      for await (const page of scan(s, options)) {
        items.push(...page);
        // Each table is newest first: past the limit, its older rows cannot make the cut.
        if (options.limit !== undefined && items.length >= options.limit * tables.length) break;
      }
    }
    items.sort((a, b) => b.failedAt - a.failedAt);
    return options.limit === undefined ? items : items.slice(0, options.limit);
  };

  const apply = async (items: DlqItem[], options: StoreApplyOptions, write: (s: TableSource, ids: string[]) => Promise<string[]>): Promise<ApplyOutcome> => {
    const outcome: ApplyOutcome = { done: 0, skipped: {}, interrupted: false, notes: {} };
    const batch = options.batch ?? 250;
    let seen = 0;
    for (const s of tables) {
      const mine = items.filter((i) => i.holder === s.name);
      for (let at = 0; at < mine.length; at += batch) {
        if (options.signal?.aborted) {
          outcome.interrupted = true;
          return outcome;
        }
        const ids = mine.slice(at, at + batch).map((i) => i.holderId);
        const done = await write(s, ids);
        outcome.done += done.length;
        if (ids.length > done.length) outcome.skipped[GONE] = (outcome.skipped[GONE] ?? 0) + ids.length - done.length;
        seen += ids.length;
        options.onProgress?.(seen, items.length);
        if (options.rate) await sleep((ids.length / options.rate) * 1000, options.signal).catch(() => undefined);
      }
    }
    return outcome;
  };

  return {
    collect,
    resolve: async (_sources, refs) => {
      const items: DlqItem[] = [];
      const live: string[] = [];
      for (const ref of refs) {
        const slash = ref.indexOf('/');
        const named = slash > 0 ? byName.get(ref.slice(0, slash)) : undefined;
        const id = named ? ref.slice(slash + 1) : ref;
        const found: { s: TableSource; row: DeadRow }[] = [];
        for (const s of named ? [named] : tables) for (const row of await deadByIds(s, [id])) found.push({ s, row });
        if (found.length === 0) throw new UsageError(`${ref}: no such row${named ? ` in ${named.table.sql}` : ' in any table source'}`, 'see `queuectl dlq list --queue <table source>`');
        if (found.length > 1) throw new UsageError(`${ref} is ambiguous: ${found.map((f) => `${f.s.name}/${id}`).join(', ')}`, 'name it as <table source>/<id>');
        const [{ s, row }] = found;
        if (deadStatuses(s).includes(row.status)) items.push(item(s, row));
        else live.push(`${s.name}/${row.id}`);
      }
      return { items, live };
    },
    show: async (i) => ({ payload: await rowJson(byName.get(i.holder)!, i.holderId) }),
    stats: async () => {
      const rows: StatsRow[] = [];
      for (const s of tables) {
        const sample: DlqItem[] = [];
        for await (const page of scan(s, { filters: {} })) {
          sample.push(...page);
          if (sample.length >= STATS_SAMPLE) break;
        }
        const [{ count, oldest }] = await s.db.query<{ count: number; oldest: number | null }>(
          `SELECT count(*)::int AS count, min(failed_ms) AS oldest FROM (${selectDead(s)} WHERE ${col(s, 'status')} = ANY($1::${s.statusType}[])) d`,
          [deadStatuses(s)],
        );
        rows.push({ queue: s.name, style: 'table', holder: s.table.sql, count, oldestAt: oldest === null ? null : Math.round(oldest), sampled: Math.min(sample.length, STATS_SAMPLE), topReasons: topReasons(sample.slice(0, STATS_SAMPLE).map((i) => i.failedReason)) });
      }
      return rows;
    },
    blocking: async () => [],
    retry: async (items, options) => {
      const outcome = await apply(items, options, retryDead);
      const noPlace = tables.filter((s) => !s.columns.lastError && items.some((i) => i.holder === s.name));
      for (const s of noPlace) outcome.notes[`${s.table.sql} has no lastError column: the last error is not kept in the row`] = items.filter((i) => i.holder === s.name).length;
      return outcome;
    },
    discard: async (items, reason, options) => {
      for (const s of tables) if (items.some((i) => i.holder === s.name)) await ensureDiscardTable(s);
      return apply(items, options, (s, ids) => discardDead(s, ids, reason, options.who));
    },
    canaries: async () => {
      throw new UsageError('--canary watches BullMQ workers; a table source\'s rows are run by the application', 'retry table rows without --canary (or a few first, by reference)');
    },
    discardLog: `${DISCARD_TABLE} (the whole row, reason, who, when) in each table's database`,
    guard: async (work) => {
      try {
        return await work();
      } catch (error) {
        if (error instanceof QueuectlError || error instanceof InterruptedError) throw error;
        throw toPostgresError(error, tables[0]?.db.spec ?? { redacted: 'the table source', timeoutMs: 0 });
      }
    },
  };
}

