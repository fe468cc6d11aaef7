import type { PostgresHandle } from '../../backend/postgres/types.js';
import { ensureJournal } from '../postgres-journal.js';
import { inTransaction } from '../../backend/postgres/transaction.js';

/**
 * A cross-server move's own tables, in the `queuectl` schema of each database it touches (never in
 * BullMQ's): on the source, the jobs held out of reach (each whole job row as jsonb, with its logs),
 * one in-flight record per batch and the result of each settle (so a repeat replays it); on the destination, one delivery record per batch and queue,
 * written in the transaction that adds the jobs.
 */
const DDL = `
  CREATE TABLE IF NOT EXISTS queuectl.xmove_flight (
    run_id text NOT NULL, token text NOT NULL, record jsonb NOT NULL, PRIMARY KEY (run_id, token));
  CREATE TABLE IF NOT EXISTS queuectl.xmove_settled (
    run_id text NOT NULL, token text NOT NULL, result jsonb NOT NULL, PRIMARY KEY (run_id, token));
  CREATE TABLE IF NOT EXISTS queuectl.xmove_delivered (
    run_id text NOT NULL, dest text NOT NULL, token text NOT NULL, verdicts jsonb NOT NULL, PRIMARY KEY (run_id, dest, token));
  CREATE TABLE IF NOT EXISTS queuectl.xmove_held (
    run_id text NOT NULL, job_id text NOT NULL, job json NOT NULL, log_idx bigint[] NOT NULL, logs text[] NOT NULL, PRIMARY KEY (run_id, job_id));`;

export async function ensureXmoveTables(handle: PostgresHandle): Promise<void> {
  await ensureJournal(handle); // the schema, and the run journal a source keeps
  const [row] = await handle.query<{ ok: boolean; jsonb: boolean }>(
    `SELECT to_regclass('queuectl.xmove_held') IS NOT NULL AS ok,
            EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('queuectl.xmove_held') AND attname = 'job' AND atttypid = 'jsonb'::regtype) AS jsonb`,
  );
  if (row?.ok && !row.jsonb) return; // the newest of them: the others exist too
  await inTransaction(handle, async () => {
    await handle.query(`SELECT pg_advisory_xact_lock(hashtext('queuectl:journal-ddl'))`);
    await handle.query(DDL);
    // Earlier versions held rows as jsonb: json is written at half the cost. Rows held now stay
    // held (converted); if another move holds the table, it keeps jsonb (json is cast on insert).
    if (row?.jsonb) {
      await handle.query(`SET LOCAL lock_timeout = '2s'`);
      await handle.query(`SAVEPOINT held_json`);
      await handle.query(`ALTER TABLE queuectl.xmove_held ALTER COLUMN job TYPE json USING job::json`).catch(() => handle.query(`ROLLBACK TO SAVEPOINT held_json`));
    }
  });
}

/** Whether the tables exist (a dry run only reads, and creates nothing). */
export async function xmoveTablesExist(handle: PostgresHandle): Promise<boolean> {
  const [row] = await handle.query<{ ok: boolean }>(`SELECT to_regclass('queuectl.xmove_delivered') IS NOT NULL AS ok`);
  return Boolean(row?.ok);
}
