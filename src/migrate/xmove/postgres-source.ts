import { createHash } from 'node:crypto';
import { quoteIdent } from '../../backend/postgres/schema.js';
import type { PostgresHandle } from '../../backend/postgres/types.js';
import type { Topology } from '../../topology/types.js';
import { closePgJournal, listPgJournals, lockRun, openPgJournal, recordBatch, resolvePgRun } from '../postgres-journal.js';
import { scanPostgres } from '../postgres-engine.js';
import type { MovableState } from '../keys.js';
import { routeName, type Routing } from '../routing.js';
import { fromRow, type JobRow, type WireJob } from './codec.js';
import { ensureXmoveTables, xmoveTablesExist } from './postgres-tables.js';
import type { Flight, Held, Settled, SourceHolder } from './types.js';
import { reconnectStale, type PgSession } from './sessions.js';

/**
 * The PostgreSQL source of a cross-server move. A take is one transaction: rows of one state are
 * locked in index order (FOR UPDATE SKIP LOCKED: a job a worker is claiming is left to it), the
 * movable ones leave BullMQ's job table for queuectl's holding table `queuectl.xmove_held` (whole,
 * as jsonb, with their job_log rows), and an in-flight record is written, all in one statement; no
 * worker, producer or BullMQ function reaches a held row. Their dedup rows stay in the source until
 * settled, so producers stay deduplicated. A settle is one transaction too: delivered jobs are
 * deleted from the holding table (no foreign keys there: no triggers) with the dedup row that still
 * names them, the others go back to the source whole, with their seq, priority and due time (their
 * place in line) and their logs, and the run's journal counters are bumped in the same commit.
 * Earlier versions held rows inside the job table under the queue `queuectl:xmove:<run>`; the
 * run's lock moves any such rows into the holding table first, so a rerun settles them as usual.
 */
type Cursor = [string, string, string];
/** Rows the plan reads per query, at least (its rows carry no payload: ids, names, order). */
const PLAN_WINDOW = 5000;
const START: Cursor = ['-2147483648', '-9223372036854775808', ''];

const WINDOW: Record<MovableState, { where: string; order: string; next: (r: JobRow) => Cursor }> = {
  wait: { where: `state = 'waiting' AND priority = 0 AND (seq, id) > ($3, $4)`, order: 'job.seq, job.id', next: (r) => ['0', r.seq, r.id] },
  prioritized: { where: `state = 'waiting' AND priority > 0 AND (priority, seq, id) > ($2, $3, $4)`, order: 'job.priority, job.seq, job.id', next: (r) => [String(r.priority), r.seq, r.id] },
  delayed: { where: `state = 'delayed' AND (process_at_ms, id) > ($2, $4)`, order: 'job.process_at_ms, job.id', next: (r) => [r.process_at_ms ?? '0', '0', r.id] },
  failed: { where: `state = 'failed' AND (finished_at_ms, id) > ($2, $4)`, order: 'job.finished_at_ms, job.id', next: (r) => [r.finished_at_ms ?? '0', '0', r.id] },
};

const COLUMNS = `id, name, data, opts, priority, delay_ms::text, max_attempts, attempts_made, attempts_started, stalled_count, progress,
  return_value, failed_reason, stacktrace, deferred_failure, processed_by, added_at_ms::text, process_at_ms::text, processed_at_ms::text,
  finished_at_ms::text, dedup_id, seq::text`;

interface FlightRecord {
  s: MovableState;
  ids: string[];
  q: string[];
  e: string[];
  next: string;
  x: boolean;
}

export function postgresSource(session: PgSession, routing: Routing, topology: Topology, label: string): SourceHolder {
  const s = quoteIdent(session.handle.spec.schema);
  const from = routing.from;
  let area = ''; // the move's intent: names its held jobs and in-flight records
  let runId = ''; // the journal's run
  // Held shared by every take and settle (a take and the previous batch's settle commit side by
  // side, each on its own session), and exclusively before in-flight records are read: a step a
  // killed process left open has ended (committed or rolled back) before a rerun decides anything.
  // Once a session was lost, steps take it exclusively too: a repeated step waits for the first
  // attempt, which may still be running on the server, before it reads what that one recorded.
  let lost = false;
  const step = (h: PostgresHandle) => h.query(`SELECT ${lost ? 'pg_advisory_xact_lock' : 'pg_advisory_xact_lock_shared'}(hashtext('queuectl:xmove-src:' || $1))`, [area]);
  const serialize = (h: PostgresHandle) => h.query(`SELECT pg_advisory_xact_lock(hashtext('queuectl:xmove-src:' || $1))`, [area]);
  // Settles run on a second session, so the next take does not wait behind them.
  let settler: PgSession | undefined;
  const settleSession = async () => (settler ??= await session.fork());
  const sessions = () => (settler ? [session, settler] : [session]);

  /** Builds the wire blobs of held jobs: `rows` and `logs` as the take read them, else read again from the holding table (a repeated take). */
  const wire = async (h: PostgresHandle, state: MovableState, ids: string[], dests: string[], taken?: { rows: JobRow[]; logs: Map<string, string[]> }): Promise<Map<string, string>> => {
    if (!taken) {
      const rows = await h.query<JobRow & { logs: string[] } & Record<string, unknown>>(
        `SELECT ${COLUMNS}, h.logs FROM queuectl.xmove_held h CROSS JOIN LATERAL jsonb_populate_record(NULL::${s}.job, h.job::jsonb) AS j WHERE h.run_id = $1 AND h.job_id = ANY($2::text[])`,
        [area, ids],
      );
      taken = { rows, logs: new Map(rows.map((r) => [r.id, r.logs])) };
    }
    const { rows, logs } = taken;
    const byId = new Map(rows.map((r) => [r.id, r]));
    const dedups = rows.filter((r) => r.dedup_id).map((r) => r.dedup_id!);
    const dedup = new Map<string, { id: string; pttl: number }>();
    if (dedups.length > 0) {
      const now = Date.now();
      for (const d of await h.query<{ dedup_id: string; job_id: string; expire_at_ms: string | null }>(`SELECT dedup_id, job_id, expire_at_ms::text FROM ${s}.dedup WHERE queue = $1 AND dedup_id = ANY($2::text[])`, [from, dedups])) {
        const expire = d.expire_at_ms === null ? undefined : Number(d.expire_at_ms);
        if (expire !== undefined && expire <= now) continue; // expired: BullMQ treats it as gone
        dedup.set(d.job_id, { id: d.dedup_id, pttl: expire === undefined ? -1 : expire - now });
      }
    }
    const per = new Map<string, WireJob[]>();
    ids.forEach((id, n) => {
      const row = byId.get(id);
      if (!row) return;
      const dedupFor = dedup.get(id);
      const list = per.get(dests[n]) ?? [];
      list.push(fromRow(row, state, logs.get(id) ?? [], dedupFor && dedupFor.id === row.dedup_id ? dedupFor : undefined, n));
      per.set(dests[n], list);
    });
    return new Map([...per].map(([d, jobs]) => [d, JSON.stringify(jobs)]));
  };

  /**
   * Held rows of this move ($1) with the ids $2, each by a primary-key probe, then by ctid: a plan
   * that does not depend on statistics. The holding table is small but soon mostly dead rows
   * (autovacuum comes by the minute): `job_id = ANY` planned without statistics scans all of them,
   * every batch (200k jobs: 74 ms a settle against 2 ms).
   */
  const heldCtids = `ctid = ANY (ARRAY(SELECT t.ctid FROM unnest($2::text[]) AS m(id) CROSS JOIN LATERAL (SELECT ctid FROM queuectl.xmove_held h WHERE h.run_id = $1 AND h.job_id = m.id OFFSET 0) t))`;

  /** BullMQ's automatic-id sequence of the source queue: its last value, 0 while it has none. */
  const counterSeq = `${s}.${quoteIdent(`bullmq_jid_${createHash('md5').update(from).digest('hex')}`)}`;

  /**
   * Rows of the source (`where`, on job `d`) into the holding table, with their logs, in one
   * statement: deleted from BullMQ's job table (their job_log rows go by cascade, read before
   * that within the statement) and inserted whole as JSON (every column, whatever BullMQ's
   * version), so the held rows carry no foreign keys and a settle deletes them without triggers.
   * row_to_json, not to_jsonb: written for every job and read back only for the few that return
   * or a repeated take, and it costs the server half as much.
   * `extra` adds CTEs (e.g. the in-flight record) to the same statement. Returns each held job's logs.
   */
  const hold = (h: PostgresHandle, where: string, params: unknown[], extra = '') =>
    h.query<{ job_id: string; logs: string[] }>(
      `WITH d AS (DELETE FROM ${s}.job WHERE ${where} RETURNING *)${extra}
       INSERT INTO queuectl.xmove_held (run_id, job_id, job, log_idx, logs)
       SELECT $1, d.id, row_to_json(d), COALESCE(l.idx, '{}'), COALESCE(l.rows, '{}') FROM d
         LEFT JOIN LATERAL (SELECT array_agg(x.idx ORDER BY x.idx) AS idx, array_agg(x.row ORDER BY x.idx) AS rows
                              FROM ${s}.job_log x WHERE x.queue = d.queue AND x.job_id = d.id) l ON true
       RETURNING job_id, logs`,
      [area, ...params],
    );

  return {
    label,
    resolveRun: (intent) => resolvePgRun(session.handle, intent),
    bind(id: string) {
      area = id;
    },
    async lock(id, signal) {
      runId = id;
      await ensureXmoveTables(session.handle);
      const key = `xmove:${area}`;
      // A process killed -9 holds its session lock until the server notices the socket closed: wait a little for that.
      const take = async (h: PostgresHandle) => {
        for (let tries = 0; ; tries++) {
          try {
            return await lockRun(h, key);
          } catch (error) {
            if (tries >= 50 || signal.aborted) throw error;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      };
      await take(session.handle);
      // Rows an earlier version held inside the job table, under a holding queue: into the holding table.
      await hold(session.handle, `queue = $2`, [`queuectl:xmove:${area}`]);
      session.onReconnect = take;
      return {
        async release() {
          session.onReconnect = undefined;
          const extra = settler;
          settler = undefined;
          await extra?.handle.close().catch(() => undefined);
          await session.handle.query(`SELECT pg_advisory_unlock(hashtext('queuectl:migrate:' || $1))`, [key]).catch(() => undefined);
        },
      };
    },
    openJournal: (intent, j) => openPgJournal(session.handle, intent, j),
    closeJournal: (id, state, left, note) => closePgJournal(session.handle, id, state, left, note),
    listJournals: () => listPgJournals(session.handle),
    async plan(states, batch) {
      // Counts only, and the same whatever the window: wider windows read the queue in fewer round
      // trips (kept from sorting by scanPostgres, for its reads only). Routing decides; the
      // destination, another server, is not probed here.
      return scanPostgres({ handle: session.handle, routing, topology, batch: Math.max(batch, PLAN_WINDOW), elsewhere: true }, states);
    },
    async take(state, after, batch, token): Promise<Held> {
      return session.tx(async (h) => {
        await step(h);
        // One round trip: a repeated take's in-flight record, the source's id counter, and sorting
        // turned off for the window read below (see there; this query cannot sort).
        const [head] = await h.query<{ record: FlightRecord | null; counter: string }>(
          `SELECT (SELECT record FROM queuectl.xmove_flight WHERE run_id = $1 AND token = $2) AS record,
                  COALESCE(pg_sequence_last_value(to_regclass($3)), 0)::text AS counter, set_config('enable_sort', 'off', true) AS sort`,
          [area, token, counterSeq],
        );
        if (head.record) {
          const r = head.record;
          await h.query(`SET LOCAL enable_sort TO DEFAULT`);
          return { token, state, taken: r.ids.length, blobs: await wire(h, state, r.ids, r.q), srcCounter: head.counter, next: r.next, exhausted: r.x, stays: [] };
        }
        const cursor: Cursor = after ? (JSON.parse(after) as Cursor) : START;
        const w = WINDOW[state];
        // Without fresh statistics (a queue loaded just before the move) the planner sorts the whole
        // state for every window; kept from sorting, it reads the window off the state's index
        // (an incremental sort breaks ties on id). For this read only: the setting is put back
        // right after it (a plan costed with sorts disabled can cross the JIT threshold).
        const rows = await h.query<JobRow & { flow: boolean; scheduler: boolean; ctid: string } & Record<string, unknown>>(
          `SELECT ${COLUMNS}, ctid::text AS ctid,
             (parent_id IS NOT NULL OR pending_deps > 0 OR EXISTS (SELECT 1 FROM ${s}.job_dependency d WHERE d.parent_queue = job.queue AND d.parent_id = job.id)) AS flow,
             scheduler_id IS NOT NULL AS scheduler
           FROM ${s}.job WHERE queue = $1 AND ${w.where} AND ($2::bigint, $3::bigint, $4::text) IS NOT NULL ORDER BY ${w.order} LIMIT $5 FOR UPDATE SKIP LOCKED`,
          [from, ...cursor, batch],
        );
        await h.query(`SET LOCAL enable_sort TO DEFAULT`);
        const stays: Held['stays'] = [];
        const movers: { row: JobRow & { ctid: string }; dest: string }[] = [];
        for (const row of rows) {
          const route = routeName(routing, topology, row.name);
          if ('stay' in route) stays.push({ id: row.id, reason: 'unrouted', name: row.name });
          else if (row.flow) stays.push({ id: row.id, reason: 'flow', name: row.name });
          else if (row.scheduler) stays.push({ id: row.id, reason: 'scheduler', name: row.name });
          else movers.push({ row, dest: route.dest });
        }
        // A producer adding this deduplication id right now holds BullMQ's advisory lock: leave that job this batch.
        const withDedup = movers.filter((m) => m.row.dedup_id);
        if (withDedup.length > 0) {
          const got = await h.query<{ k: string; ok: boolean }>(`SELECT k, pg_try_advisory_xact_lock(hashtext('bullmq:dedup:' || k)) AS ok FROM (SELECT DISTINCT k FROM unnest($1::text[]) AS k ORDER BY k) t`, [withDedup.map((m) => `${from}:${m.row.dedup_id}`)]);
          const busy = new Set(got.filter((g) => !g.ok).map((g) => g.k));
          for (let i = movers.length - 1; i >= 0; i--) {
            if (movers[i].row.dedup_id && busy.has(`${from}:${movers[i].row.dedup_id}`)) {
              stays.push({ id: movers[i].row.id, reason: 'locked', name: movers[i].row.name });
              movers.splice(i, 1);
            }
          }
        }
        const next = rows.length > 0 ? JSON.stringify(w.next(rows[rows.length - 1])) : after;
        const exhausted = rows.length < batch;
        const ids = movers.map((m) => m.row.id);
        const dests = movers.map((m) => m.dest);
        let blobs = new Map<string, string>();
        if (ids.length > 0) {
          const record: FlightRecord = { s: state, ids, q: dests, e: movers.map((m) => m.row.dedup_id ?? ''), next, x: exhausted };
          // The rows by their ctid (locked above, so it cannot change): a plan that does not depend on
          // statistics, where `id = ANY` may read every index entry of the queue, every batch. The
          // in-flight record is written by the same statement. A flow child committed between the
          // window's snapshot and its lock is seen here (a new statement; once the rows are held a
          // child must wait for this commit): deleting its parent would cascade its dependency row
          // away, so the batch is refused whole instead, as the key update of earlier versions was.
          const held = await hold(h, `ctid = ANY($2::tid[]) AND NOT EXISTS (SELECT 1 FROM ${s}.job_dependency dd WHERE dd.parent_queue = job.queue AND dd.parent_id = job.id)`, [movers.map((m) => m.row.ctid), token, JSON.stringify(record)], `,
                f AS (INSERT INTO queuectl.xmove_flight (run_id, token, record) VALUES ($1, $3, $4))`);
          if (held.length !== ids.length) throw new Error(`xmove: ${held.length} of ${ids.length} locked rows of ${from} were held; nothing was taken`);
          blobs = await wire(h, state, ids, dests, { rows: movers.map((m) => m.row), logs: new Map(held.map((r) => [r.job_id, r.logs])) });
        }
        return { token, state, taken: ids.length, blobs, srcCounter: head.counter, next, exhausted, stays };
      });
    },
    async settle(held, deliveredIds, after, counters): Promise<Settled> {
      return (await settleSession()).tx(async (h) => {
        await step(h);
        const [done] = await h.query<{ result: { finished: [string, number][]; returned: number; stuck: string[] } }>(`SELECT result FROM queuectl.xmove_settled WHERE run_id = $1 AND token = $2`, [area, held.token]);
        if (done) return { finished: new Map(done.result.finished), returned: done.result.returned, stuck: done.result.stuck, next: after };
        const [flight] = await h.query<{ record: FlightRecord }>(`SELECT record FROM queuectl.xmove_flight WHERE run_id = $1 AND token = $2 FOR UPDATE`, [area, held.token]);
        if (!flight) return { finished: new Map(), returned: 0, stuck: [], next: after };
        const r = flight.record;
        const delivered = new Set(deliveredIds);
        const finished = new Map<string, number>();
        const fin: number[] = [];
        const rest: number[] = [];
        r.ids.forEach((id, k) => (delivered.has(id) ? fin : rest).push(k));
        for (const k of fin) finished.set(r.q[k], (finished.get(r.q[k]) ?? 0) + 1);
        if (fin.length > 0) {
          const withDedup = fin.filter((k) => r.e[k]);
          if (withDedup.length > 0) {
            await h.query(`DELETE FROM ${s}.dedup d USING unnest($2::text[], $3::text[]) AS m(dedup, id) WHERE d.queue = $1 AND d.dedup_id = m.dedup AND d.job_id = m.id`, [from, withDedup.map((k) => r.e[k]), withDedup.map((k) => r.ids[k])]);
          }
          await h.query(`DELETE FROM queuectl.xmove_held WHERE ${heldCtids}`, [area, fin.map((k) => r.ids[k])]);
        }
        let stuck: string[] = [];
        let returned = 0;
        if (rest.length > 0) {
          const ids = rest.map((k) => r.ids[k]);
          // A producer may have re-used an id in the source meanwhile: that job stays held (stuck), never overwritten.
          const taken = await h.query<{ id: string }>(`SELECT id FROM ${s}.job WHERE queue = $1 AND id = ANY($2::text[])`, [from, ids]);
          stuck = taken.map((t) => t.id);
          const back = ids.filter((id) => !stuck.includes(id));
          if (back.length > 0) {
            // Back whole, with their seq, priority and due time (their place in line), then their logs.
            const params = [area, from, back];
            const heldRows = `queuectl.xmove_held h`;
            const mine = `h.run_id = $1 AND h.job_id = ANY($3::text[])`;
            await h.query(`INSERT INTO ${s}.job SELECT j.* FROM ${heldRows} CROSS JOIN LATERAL jsonb_populate_record(NULL::${s}.job, h.job::jsonb || jsonb_build_object('queue', $2::text)) AS j WHERE ${mine}`, params);
            await h.query(`INSERT INTO ${s}.job_log (queue, job_id, idx, row) SELECT $2, h.job_id, u.idx, u.row FROM ${heldRows} CROSS JOIN LATERAL unnest(h.log_idx, h.logs) AS u(idx, row) WHERE ${mine}`, params);
            await h.query(`DELETE FROM queuectl.xmove_held WHERE ${heldCtids}`, [area, back]);
            await h.query(`SELECT pg_notify('bullmq_jobs', $1)`, [from]);
            returned = back.length;
          }
        }
        if (stuck.length > 0) {
          const keep = r.ids.map((id, k) => ({ id, k })).filter((x) => stuck.includes(x.id));
          const rec: FlightRecord = { ...r, ids: keep.map((x) => x.id), q: keep.map((x) => r.q[x.k]), e: keep.map((x) => r.e[x.k]) };
          await h.query(`UPDATE queuectl.xmove_flight SET record = $3 WHERE run_id = $1 AND token = $2`, [area, held.token, JSON.stringify(rec)]);
        } else await h.query(`DELETE FROM queuectl.xmove_flight WHERE run_id = $1 AND token = $2`, [area, held.token]);
        await recordBatch(h, runId, counters.moved, counters.renamed);
        const result = { finished: [...finished], returned, stuck };
        await h.query(`INSERT INTO queuectl.xmove_settled (run_id, token, result) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [area, held.token, JSON.stringify(result)]);
        return { finished, returned, stuck, next: after };
      });
    },
    async flights(): Promise<Flight[]> {
      if (!(await xmoveTablesExist(session.handle))) return [];
      const rows = await session.tx(async (h) => {
        await serialize(h);
        return h.query<{ token: string; record: FlightRecord }>(`SELECT token, record FROM queuectl.xmove_flight WHERE run_id = $1`, [area]);
      });
      return rows.map((r) => ({ token: r.token, state: r.record.s, ids: r.record.ids, dests: r.record.q }));
    },
    reconnect() {
      lost = true;
      return reconnectStale(sessions());
    },
    async close() {
      await settler?.handle.close().catch(() => undefined);
      await session.handle.close();
    },
    async tidy() {
      await session.handle.query(`DELETE FROM queuectl.xmove_settled WHERE run_id = $1`, [area]);
    },
  } as SourceHolder;
}
