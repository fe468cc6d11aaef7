import { createHash } from 'node:crypto';
import { quoteIdent } from '../backend/postgres/schema.js';
import type { PostgresHandle } from '../backend/postgres/types.js';
import type { Row } from './postgres-engine.js';

/** BullMQ's per-queue id sequence (job_id_seq_name in its 0002_functions.sql), schema-qualified. */
function idSequence(schema: string, queue: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(`bullmq_jid_${createHash('md5').update(queue).digest('hex')}`)}`;
}

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * The Redis id policy on PostgreSQL, inside the batch's transaction: each destination that
 * receives numeric ids gets its id sequence raised past every id that arrives and 1,000,000 ahead
 * of the source's, so BullMQ never hands a new job an id a moved job holds (add_job would silently
 * keep the old one); a numeric id the destination already holds takes the destination's next free id.
 * Returns the new id of each renamed row.
 */
export async function assignIds(handle: PostgresHandle, from: string, moves: { row: Row; dest: string; rename: boolean }[]): Promise<Map<Row, string>> {
  const schema = handle.spec.schema;
  const newIds = new Map<Row, string>();
  const highest = new Map<string, bigint>();
  for (const m of moves) {
    if (!/^\d+$/.test(m.row.id)) continue;
    const id = BigInt(m.row.id);
    if (id > (highest.get(m.dest) ?? 0n)) highest.set(m.dest, id);
  }
  if (highest.size === 0) return newIds;
  // One statement for every destination: BullMQ creates the sequence on first use (next_job_id,
  // in a materialized step so it exists before the cast to regclass), then the raise.
  const dests = [...highest.keys()];
  await handle.query(
    `WITH made AS MATERIALIZED (SELECT t.seq, t.top, ${quoteIdent(schema)}.next_job_id(t.dest) AS drawn FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(dest, seq, top)),
          src AS (SELECT CASE WHEN to_regclass($4) IS NULL THEN 0 ELSE COALESCE(pg_sequence_last_value(to_regclass($4)), 1) + 1000000 END AS ahead)
     SELECT setval(made.seq::regclass, GREATEST(pg_sequence_last_value(made.seq::regclass), src.ahead, made.top)) FROM made, src`,
    [dests, dests.map((d) => idSequence(schema, d)), dests.map((d) => highest.get(d)!.toString()), idSequence(schema, from)],
  );
  for (const dest of dests) {
    const renames = moves.filter((m) => m.dest === dest && m.rename);
    if (renames.length === 0) continue;
    const ids = await freeIds(handle, schema, idSequence(schema, dest), dest, renames.length);
    renames.forEach((m, i) => newIds.set(m.row, ids[i]));
  }
  return newIds;
}

/**
 * Creates each destination's id sequence that does not exist yet, the way BullMQ's first add does
 * (next_job_id, which draws id 1; assignIds keeps the sequence ahead anyway), before the lanes
 * start: created inside a batch, it stays invisible to the other lanes until that batch commits,
 * and next_job_id makes each of them wait for it on its creation lock (3 lanes: two batches lost).
 * Only a head start: a role that may not create them (no CREATE on BullMQ's schema; it needs it
 * only when numeric ids arrive) leaves them to the batches, as before, and any other failure
 * shows again at the move's first statement.
 */
export async function createIdSequences(handle: PostgresHandle, dests: string[]): Promise<void> {
  const schema = handle.spec.schema;
  await handle.query(
    `SELECT count(${quoteIdent(schema)}.next_job_id(t.dest)) FROM unnest($1::text[], $2::text[]) AS t(dest, seq) WHERE to_regclass(t.seq) IS NULL`,
    [dests, dests.map((d) => idSequence(schema, d))],
  ).catch(() => undefined);
}

/**
 * `count` ids from the destination's sequence that no job there holds: a job added with a
 * numeric-looking custom id (older clients allowed it) may sit on the sequence's next values. Drawn
 * inside the batch's transaction, checked with one primary-key probe per round; a held id is skipped.
 */
async function freeIds(handle: PostgresHandle, schema: string, seq: string, dest: string, count: number): Promise<string[]> {
  const free: string[] = [];
  while (free.length < count) {
    const drawn = await handle.query<{ id: string; held: boolean }>(
      `SELECT n.id, EXISTS (SELECT 1 FROM ${quoteIdent(schema)}.job j WHERE j.queue = $2 AND j.id = n.id) AS held
         FROM (SELECT nextval(${literal(seq)})::text AS id FROM generate_series(1, $1)) n`,
      [count - free.length, dest],
    );
    for (const d of drawn) if (!d.held) free.push(d.id);
  }
  return free;
}
