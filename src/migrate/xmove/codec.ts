import type { MovableState } from '../keys.js';

/**
 * One job as it travels between backends: the Redis form (BullMQ's job hash, flat field/value
 * pairs, opts with BullMQ's short keys), with where it sat in its state (score), its logs and its
 * deduplication key. The Redis take script emits it, cross-slot-copy.lua consumes it, and the
 * PostgreSQL ends convert with toRow / fromRow below. Pure: no I/O.
 *   [id, score, dedupId, dedupPttl (-2 none, -1 no expiry), hash (flat), logs, dn (flat)]
 */
export type WireJob = [id: string, score: string, dedupId: string, dedupPttl: number, hash: string[], logs: string[], dn: string[]];

/** cjson writes an empty Lua table as {}; every list of a wire job is read through this. */
export const list = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);

export function parseWire(blob: string | Buffer): WireJob[] {
  const jobs = JSON.parse(String(blob)) as unknown[];
  if (!Array.isArray(jobs)) return [];
  return jobs.map((j) => {
    const a = j as unknown[];
    return [String(a[0]), String(a[1]), String(a[2] ?? ''), Number(a[3] ?? -2), list(a[4]), list(a[5]), list(a[6])];
  });
}

/** BullMQ's optsDecodeMap (redis-queue-backend.js optsFromJSON): Redis keeps opts with short keys, PostgreSQL the public names. */
const DECODE: Record<string, string> = { de: 'deduplication', fpof: 'failParentOnFailure', cpof: 'continueParentOnFailure', idof: 'ignoreDependencyOnFailure', kl: 'keepLogs', rdof: 'removeDependencyOnFailure' };
const ENCODE: Record<string, string> = Object.fromEntries(Object.entries(DECODE).map(([k, v]) => [v, k]));

/** Redis opts text → the opts object BullMQ's PostgreSQL backend stores (its optsFromJSON). */
export function decodeOpts(raw: string | undefined): Record<string, unknown> {
  const opts = JSON.parse(raw || '{}') as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(opts)) {
    if (DECODE[k]) out[DECODE[k]] = v;
    else if (k === 'tm') out.telemetry = { ...(out.telemetry as object), metadata: v };
    else if (k === 'omc') out.telemetry = { ...(out.telemetry as object), omitContext: v };
    else out[k] = v;
  }
  return out;
}

/** PostgreSQL's opts object → the Redis opts text (BullMQ's optsAsJSON). */
export function encodeOpts(opts: Record<string, unknown> | null): string {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(opts ?? {})) {
    if (v === undefined) continue;
    if (ENCODE[k]) out[ENCODE[k]] = v;
    else if (k === 'telemetry' && v && typeof v === 'object') {
      const t = v as { metadata?: unknown; omitContext?: unknown };
      if (t.metadata !== undefined) out.tm = t.metadata;
      if (t.omitContext !== undefined) out.omc = t.omitContext;
    } else out[k] = v;
  }
  return JSON.stringify(out);
}

/** Columns of BullMQ's PostgreSQL `job` table the ends read and write (bigints as text); `J`, `N`: how its jsonb columns travel (`N` nullable). */
interface JobColumns<J, N> {
  id: string;
  name: string;
  data: J;
  priority: number;
  delay_ms: string;
  max_attempts: number;
  attempts_made: number;
  attempts_started: number;
  stalled_count: number;
  progress: N;
  return_value: N;
  failed_reason: string | null;
  stacktrace: N;
  deferred_failure: string | null;
  processed_by: string | null;
  added_at_ms: string;
  process_at_ms: string | null;
  processed_at_ms: string | null;
  finished_at_ms: string | null;
  dedup_id: string | null;
}

/** A job row as the PostgreSQL source reads it (jsonb columns parsed). */
export interface JobRow extends JobColumns<unknown, unknown> {
  opts: Record<string, unknown> | null;
  seq: string;
}

/**
 * A JSON field of the job hash as text for a jsonb column: the text itself when it is JSON (parsed
 * once, by the server: numbers keep every digit), else the text as a JSON string (e.g. a
 * returnvalue written by hand). A JSON null is `fallback` too for a nullable column (SQL NULL).
 */
const jsonText = (text: string | undefined, fallback: string | null): string | null => {
  if (text === undefined || text === '') return fallback;
  try {
    return JSON.parse(text) === null && fallback === null ? null : text;
  } catch {
    return JSON.stringify(text);
  }
};

/** A row as the PostgreSQL destination inserts it: jsonb columns as JSON text. */
export interface RowToInsert extends JobColumns<string, string | null> {
  state: 'waiting' | 'delayed' | 'failed';
  opts: string;
}

/** The row a wire job becomes on PostgreSQL in `state` (seq is assigned by the writer). */
export function toRow(job: WireJob, state: MovableState): RowToInsert {
  const [id, score, dedupId, , flat] = job;
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]] = flat[i + 1];
  const opts = decodeOpts(f.opts);
  const int = (v: string | undefined) => (v === undefined || v === '' ? 0 : Math.trunc(Number(v)) || 0);
  const big = (v: string | undefined) => (v === undefined || v === '' ? null : String(BigInt(Math.trunc(Number(v)))));
  return {
    id,
    name: f.name ?? '',
    state: state === 'delayed' ? 'delayed' : state === 'failed' ? 'failed' : 'waiting',
    data: jsonText(f.data, '{}')!,
    opts: JSON.stringify(opts),
    priority: int(f.priority),
    delay_ms: String(int(f.delay)),
    max_attempts: typeof opts.attempts === 'number' ? opts.attempts : 1,
    attempts_made: int(f.atm ?? f.attemptsMade),
    attempts_started: int(f.ats),
    stalled_count: int(f.stc),
    progress: jsonText(f.progress, null),
    return_value: jsonText(f.returnvalue, null),
    failed_reason: f.failedReason ?? null,
    stacktrace: jsonText(f.stacktrace, null),
    deferred_failure: f.defa ?? null,
    processed_by: f.pb ?? null,
    added_at_ms: big(f.timestamp) ?? '0',
    // The delayed zset's score is due-ms·4096 + n: the due time is kept, never recomputed from `delay`.
    process_at_ms: state === 'delayed' ? String(BigInt(score.split('.')[0]) / 4096n) : null,
    processed_at_ms: big(f.processedOn),
    finished_at_ms: big(f.finishedOn),
    dedup_id: f.deid ?? (dedupId || null),
  };
}

/** A row read from PostgreSQL as a wire job for a Redis destination; `n` orders jobs due in the same ms. */
export function fromRow(row: JobRow, state: MovableState, logs: string[], dedup: { id: string; pttl: number } | undefined, n: number): WireJob {
  const f: string[] = ['name', row.name, 'data', JSON.stringify(row.data ?? {}), 'opts', encodeOpts(row.opts), 'timestamp', String(row.added_at_ms), 'delay', String(row.delay_ms ?? 0), 'priority', String(row.priority ?? 0)];
  const put = (k: string, v: unknown) => v !== null && v !== undefined && f.push(k, String(v));
  if (row.attempts_made > 0) put('atm', row.attempts_made);
  if (row.attempts_started > 0) put('ats', row.attempts_started);
  if (row.stalled_count > 0) put('stc', row.stalled_count);
  if (row.progress !== null && row.progress !== undefined) put('progress', JSON.stringify(row.progress));
  if (row.return_value !== null && row.return_value !== undefined) put('returnvalue', JSON.stringify(row.return_value));
  put('failedReason', row.failed_reason);
  if (row.stacktrace !== null && row.stacktrace !== undefined) put('stacktrace', JSON.stringify(row.stacktrace));
  put('processedOn', row.processed_at_ms);
  put('finishedOn', row.finished_at_ms);
  put('defa', row.deferred_failure);
  put('pb', row.processed_by);
  put('deid', row.dedup_id);
  let score = '0';
  if (state === 'prioritized') score = String(BigInt(row.priority) * 0x100000000n);
  else if (state === 'delayed') score = String(BigInt(row.process_at_ms ?? '0') * 4096n + BigInt(n % 4096));
  else if (state === 'failed') score = String(row.finished_at_ms ?? '0');
  return [row.id, score, dedup?.id ?? '', dedup ? dedup.pttl : -2, f, logs, []];
}
