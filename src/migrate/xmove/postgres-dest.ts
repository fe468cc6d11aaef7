import { createHash } from 'node:crypto';
import { quoteIdent, readSchemaState, schemaProblem } from '../../backend/postgres/schema.js';
import type { PostgresHandle } from '../../backend/postgres/types.js';
import { countPostgres } from '../postgres-engine.js';
import { parseWire, toRow, type RowToInsert } from './codec.js';
import { ensureXmoveTables } from './postgres-tables.js';
import type { DestWriter, Readiness, Verdicts } from './types.js';
import { reconnectStale, type PgSession } from './sessions.js';

const NUMERIC = /^\d{1,15}$/;

/** Sessions a destination opens at most (one per destination queue of a batch). */
const MAX_SESSIONS = 4;

/**
 * The PostgreSQL destination of a cross-server move: one transaction per batch and queue inserts
 * the rows as BullMQ's add_jobs_bulk does (seq drawn in the batch's order, so FIFO and priority
 * order are kept; `added` and `waiting`/`delayed` events; a bullmq_jobs NOTIFY), with every field
 * of the job kept (attempts, timestamps, due time, progress, results), its job_log rows and its
 * dedup row, raises the queue's id sequence past numeric ids, and writes the delivery record
 * (queuectl.xmove_delivered) in the same commit. Id policy as on Redis: a numeric id the queue
 * holds takes its next free id; a custom id held by the same job (name, data) is a duplicate; by
 * another job, a collision (stays in the source); a deduplication id held live by another job, a
 * dedup-conflict.
 */
export function postgresDest(session: PgSession, runId: () => string, label: string): DestWriter {
  const s = quoteIdent(session.handle.spec.schema);
  const seqOf = (queue: string) => `${s}.${quoteIdent(`bullmq_jid_${createHash('md5').update(queue).digest('hex')}`)}`;

  // Held shared by each delivery's transaction (deliveries to different queues commit side by
  // side), and exclusively before a rerun reads a delivery record: a delivery a killed process
  // left open has ended (committed or rolled back) by then.
  // Once a session was lost, deliveries take it exclusively too: a repeated delivery waits for the
  // first attempt, which may still be running on the server, before it reads the delivery record.
  let lost = false;
  // A delivery also takes the lock BullMQ's producers take on the queue (add_jobs_bulk's
  // lock_producer_queues): an obliterate of the destination waits for it, and it for an obliterate.
  const step = (h: PostgresHandle, dest: string) =>
    h.query(`SELECT ${lost ? 'pg_advisory_xact_lock' : 'pg_advisory_xact_lock_shared'}(hashtext('queuectl:xmove:' || $1)), pg_advisory_xact_lock_shared(hashtext('bullmq:finalization'), hashtext($2))`, [runId(), dest]);
  const serialize = (h: PostgresHandle) => h.query(`SELECT pg_advisory_xact_lock(hashtext('queuectl:xmove:' || $1))`, [runId()]);
  // One session per destination queue, up to MAX_SESSIONS: a batch's queues are written in parallel.
  const sessions: PgSession[] = [session];
  const pool: (Promise<PgSession> | undefined)[] = [Promise.resolve(session)];
  const byDest = new Map<string, number>();
  const sessionFor = (dest: string): Promise<PgSession> => {
    if (!byDest.has(dest)) byDest.set(dest, byDest.size % MAX_SESSIONS);
    const n = byDest.get(dest)!;
    let found = pool[n];
    if (!found) {
      const forking = session.fork().then((forked) => (sessions.push(forked), forked));
      // A failed connect is tried again by the next delivery (withReconnect repeats it).
      forking.catch(() => pool[n] === forking && (pool[n] = undefined));
      found = pool[n] = forking;
    }
    return found;
  };
  const read = async (h: PostgresHandle, token: string, dest: string): Promise<Verdicts | undefined> => {
    const [row] = await h.query<{ verdicts: string[] }>(`SELECT verdicts FROM queuectl.xmove_delivered WHERE run_id = $1 AND dest = $2 AND token = $3`, [runId(), dest, token]);
    return row?.verdicts;
  };

  return {
    label,
    async readiness(): Promise<Readiness> {
      const state = await readSchemaState(session.handle);
      const problem = schemaProblem(state, label);
      if (problem) return { problems: [`${problem.message} — ${problem.hint}`], notes: [] };
      return { problems: [], notes: [`BullMQ schema "${state.schema}" on ${label}: version ${state.version} (current for BullMQ ${state.bullmqVersion})`] };
    },
    prepare: () => ensureXmoveTables(session.handle),
    delivered: (token, dest) =>
      session.tx(async (h) => {
        await serialize(h);
        return read(h, token, dest);
      }),
    async deliver(token, state, dest, blob, srcCounter) {
      const jobs = parseWire(blob);
      return (await sessionFor(dest)).tx(async (h) => {
        await step(h, dest);
        const rows = jobs.map((j, wireIndex) => Object.assign(toRow(j, state), { pttl: j[3], dedupKey: j[2], wireIndex, vi: 0 }));
        const ids = rows.map((r) => r.id);
        // BullMQ serializes every add of a deduplication id on this lock, taken before any row: so do we.
        const dedupIds = [...new Set(rows.filter((r) => r.dedupKey).map((r) => r.dedupKey))].sort();
        if (dedupIds.length > 0) await h.query(`SELECT pg_advisory_xact_lock(hashtext('bullmq:dedup:' || $1 || ':' || d)) FROM unnest($2::text[]) AS d`, [dest, dedupIds]);
        // One round trip (each a read, after the locks above): the delivery record of a repeated
        // delivery; the ids the queue holds, and whether each is the same job, which matters for
        // custom ids only (a numeric one is renamed: only theirs carry name and data); and a seq per
        // job, drawn in one go (a job refused here leaves a gap, as a rolled-back add does).
        const custom = rows.map((r) => !NUMERIC.test(r.id));
        const [first] = await h.query<{ done: string[] | null; held: [string, boolean | null][]; seqs: string[] }>(
          // A primary-key probe per id (LATERAL … OFFSET 0): joined on the arrays, the planner may read the whole queue for every batch.
          `SELECT (SELECT verdicts FROM queuectl.xmove_delivered WHERE run_id = $5 AND dest = $1 AND token = $6) AS done,
                  (SELECT COALESCE(json_agg(json_build_array(m.id, j.name = m.name AND j.data = m.data::jsonb)), '[]') FROM unnest($2::text[], $3::text[], $4::text[]) AS m(id, name, data)
                     CROSS JOIN LATERAL (SELECT name, data FROM ${s}.job WHERE job.queue = $1 AND job.id = m.id OFFSET 0) j) AS held,
                  ARRAY(SELECT nextval('${s}.job_seq')::text FROM generate_series(1, $7::int)) AS seqs`,
          [dest, ids, rows.map((r, i) => (custom[i] ? r.name : null)), rows.map((r, i) => (custom[i] ? r.data : null)), runId(), token, rows.length],
        );
        if (first.done) return first.done;
        const held = new Map<string, boolean>(first.held.map(([id, same]) => [id, Boolean(same)]));
        const dedupHolder = new Map<string, string>();
        if (dedupIds.length > 0) {
          for (const d of await h.query<{ dedup_id: string; job_id: string }>(`SELECT dedup_id, job_id FROM ${s}.dedup WHERE queue = $1 AND dedup_id = ANY($2::text[]) AND (expire_at_ms IS NULL OR expire_at_ms > $3)`, [dest, dedupIds, Date.now()])) dedupHolder.set(d.dedup_id, d.job_id);
        }
        const verdicts: string[] = [];
        const add: typeof rows = [];
        const renames: number[] = [];
        rows.forEach((r) => {
          const numeric = NUMERIC.test(r.id);
          let v = 'ok';
          if (held.has(r.id) && !numeric) v = held.get(r.id) ? 'duplicate' : 'collision';
          else if (r.dedupKey && dedupHolder.has(r.dedupKey) && dedupHolder.get(r.dedupKey) !== r.id) v = 'dedup-conflict';
          else if (held.has(r.id)) v = 'renamed';
          verdicts.push(r.id, v);
          if (v === 'ok' || v === 'renamed') {
            if (v === 'renamed') renames.push(add.length);
            r.vi = verdicts.length - 1;
            add.push(r);
          }
        });
        // The id sequence: past every numeric id that arrives and 1,000,000 ahead of the source's (cross-slot-copy.lua's rule).
        const numericIds = add.filter((r) => NUMERIC.test(r.id)).map((r) => BigInt(r.id));
        if (numericIds.length > 0) {
          const max = numericIds.reduce((a, b) => (a > b ? a : b));
          const floor = (max > BigInt(srcCounter || '0') ? max : BigInt(srcCounter || '0')) + 1_000_000n;
          const seq = seqOf(dest);
          // BullMQ creates the sequence on first use (next_job_id, run first: the subquery), then it is raised.
          await h.query(`SELECT setval(to_regclass($2), GREATEST(pg_sequence_last_value(to_regclass($2)), $3::bigint)) FROM (SELECT ${s}.next_job_id($1) OFFSET 0) AS created`, [dest, seq, floor.toString()]);
          // Renamed jobs take the sequence's next free ids in order: drawn for all of them at once,
          // an id the queue holds is skipped and drawn again (as one draw per job would).
          for (let left = renames; left.length > 0; ) {
            const drawn = await h.query<{ id: string; taken: boolean }>(
              `SELECT n.id::text AS id, EXISTS (SELECT 1 FROM ${s}.job j WHERE j.queue = $1 AND j.id = n.id::text) AS taken
                 FROM (SELECT nextval($2::regclass) AS id FROM generate_series(1, $3::int)) n ORDER BY n.id`,
              [dest, seq, left.length],
            );
            const free = drawn.filter((n) => !n.taken).map((n) => n.id);
            free.forEach((id, i) => {
              verdicts[add[left[i]].vi] = `renamed:${id}`;
              add[left[i]].id = id;
            });
            left = left.slice(free.length);
          }
        }
        // The delivery record: alone, or in the statement that adds the jobs.
        const recordParams = [runId(), token, JSON.stringify(verdicts)];
        if (add.length === 0) await h.query(`INSERT INTO queuectl.xmove_delivered (run_id, dest, token, verdicts) VALUES ($2, $1, $3, $4)`, [dest, ...recordParams]);
        else {
          const seqs = first.seqs.map((v) => BigInt(v)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
          // One typed array per column (jsonb ones as JSON text, parsed once by the server): unnest
          // reads them at a third of what json_to_recordset of the same rows costs the server.
          const col = <K extends keyof RowToInsert>(k: K) => add.map((r) => r[k]);
          const columns = [
            col('id'), seqs.map(String), col('name'), col('data'), col('opts'), col('priority'), col('delay_ms'), col('max_attempts'), col('attempts_made'),
            col('attempts_started'), col('stalled_count'), col('progress'), col('return_value'), col('failed_reason'), col('stacktrace'), col('deferred_failure'),
            col('processed_by'), col('added_at_ms'), col('process_at_ms'), col('processed_at_ms'), col('finished_at_ms'), col('dedup_id'),
          ];
          // Events as add_jobs_bulk writes them: 'added', then 'waiting' or 'delayed', in the batch's order,
          // and the NOTIFY (delivered at commit, as add_jobs_bulk's). Failed jobs arrive without events.
          const events = state === 'failed' ? '' : `,
            added AS (INSERT INTO ${s}.event (queue, event, data, created_at_ms)
              SELECT $1, ev, dat, (extract(epoch FROM clock_timestamp()) * 1000)::bigint FROM (
                SELECT n * 2 AS o, 'added' AS ev, jsonb_build_object('jobId', id, 'name', name) AS dat FROM unnest($2::text[], $4::text[], $20::bigint[]) WITH ORDINALITY AS t(id, name, at, n)
                UNION ALL
                SELECT n * 2 + 1, CASE WHEN at IS NULL THEN 'waiting' ELSE 'delayed' END,
                       CASE WHEN at IS NULL THEN jsonb_build_object('jobId', id) ELSE jsonb_build_object('jobId', id, 'delay', at) END
                  FROM unnest($2::text[], $4::text[], $20::bigint[]) WITH ORDINALITY AS t(id, name, at, n)) q ORDER BY o RETURNING 1)`;
          // One statement: the jobs, their events and the delivery record.
          await h.query(
            `WITH rec AS (INSERT INTO queuectl.xmove_delivered (run_id, dest, token, verdicts) VALUES ($24, $1, $25, $26)),
              jobs AS (INSERT INTO ${s}.job (queue, id, seq, name, state, data, opts, priority, delay_ms, max_attempts, attempts_made, attempts_started, stalled_count,
                progress, return_value, failed_reason, stacktrace, deferred_failure, processed_by, added_at_ms, process_at_ms, processed_at_ms, finished_at_ms, dedup_id)
             SELECT $1, e.id, e.seq, e.name, $27::text::${s}.job_state, e.data::jsonb, e.opts::jsonb, e.priority, e.delay_ms, e.max_attempts, e.attempts_made, e.attempts_started,
                e.stalled_count, e.progress::jsonb, e.return_value::jsonb, e.failed_reason, e.stacktrace::jsonb, e.deferred_failure, e.processed_by, e.added_at_ms,
                e.process_at_ms, e.processed_at_ms, e.finished_at_ms, e.dedup_id
             FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::int[], $8::bigint[], $9::int[], $10::int[], $11::int[], $12::int[],
                $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::bigint[], $20::bigint[], $21::bigint[], $22::bigint[], $23::text[])
               AS e(id, seq, name, data, opts, priority, delay_ms, max_attempts, attempts_made, attempts_started, stalled_count, progress, return_value,
                failed_reason, stacktrace, deferred_failure, processed_by, added_at_ms, process_at_ms, processed_at_ms, finished_at_ms, dedup_id) RETURNING 1)${events}
             SELECT (SELECT count(*) FROM jobs) AS jobs${events ? `, (SELECT count(*) FROM added) AS events, pg_notify('bullmq_jobs', $1)` : ''}`,
            [dest, ...columns, ...recordParams, add[0].state],
          );
          const logIds: string[] = [];
          const logIdx: number[] = [];
          const logRows: string[] = [];
          add.forEach((r) => {
            const wire = jobs[r.wireIndex];
            wire[5].forEach((line, n) => {
              logIds.push(r.id);
              logIdx.push(n);
              logRows.push(line);
            });
          });
          if (logRows.length > 0) await h.query(`INSERT INTO ${s}.job_log (queue, job_id, idx, row) SELECT $1, i, n, r FROM unnest($2::text[], $3::bigint[], $4::text[]) AS t(i, n, r)`, [dest, logIds, logIdx, logRows]);
          const dd = add.filter((r) => r.dedupKey && r.pttl !== -2);
          if (dd.length > 0) {
            const now = Date.now();
            await h.query(
              `INSERT INTO ${s}.dedup (queue, dedup_id, job_id, expire_at_ms) SELECT $1, d, i, x FROM unnest($2::text[], $3::text[], $4::bigint[]) AS t(d, i, x)
               ON CONFLICT (queue, dedup_id) DO UPDATE SET job_id = EXCLUDED.job_id, expire_at_ms = EXCLUDED.expire_at_ms`,
              [dest, dd.map((r) => r.dedupKey), dd.map((r) => r.id), dd.map((r) => (r.pttl > 0 ? String(now + r.pttl) : null))],
            );
          }
        }
        return verdicts;
      });
    },
    async forget(tokens) {
      if (tokens.length === 0) return;
      await session.handle.query(`DELETE FROM queuectl.xmove_delivered d USING unnest($2::text[], $3::text[]) AS t(token, dest) WHERE d.run_id = $1 AND d.token = t.token AND d.dest = t.dest`, [runId(), tokens.map((t) => t.token), tokens.map((t) => t.dest)]);
    },
    count: (dests, states) => countPostgres(session.handle, dests, states),
    async tidy() {
      await session.handle.query(`DELETE FROM queuectl.xmove_delivered WHERE run_id = $1`, [runId()]);
    },
    reconnect() {
      lost = true;
      return reconnectStale(sessions);
    },
    async close() {
      await Promise.allSettled(sessions.slice(1).map((x) => x.handle.close()));
      await session.handle.close();
    },
  } as DestWriter;
}
