import type { Context } from '../context.js';
import { ExitCode, InterruptedError, QueuectlError, UsageError } from '../errors.js';
import { quoteIdent, requireCompatibleSchema } from '../backend/postgres/schema.js';
import { toRedisError } from '../redis/errors.js';
import { resolveTableSource, sourceUrlOf, tableSourceNames } from '../table/resolve.js';
import type { TableSource } from '../table/types.js';
import type { Topology } from '../topology/types.js';
import { parseDuration, DURATION_HINT } from '../topology/durations.js';
import { renderTable } from '../ui/table.js';
import { runIdOf } from './keys.js';
import { lockRun } from './postgres-journal.js';
import { createProgress } from '../ui/progress.js';
import { buildRouting, routeName, type Routing } from './routing.js';
import { postgresDestination, redisDestination, type TableDestination } from './table-dest.js';
import { DEFAULT_TABLE_STATES, groupsFor, runTableMove, TABLE_STATES, tableSql, type TableState } from './table-engine.js';
import { priorityRanks, type PriorityRanks } from './table-jobs.js';
import { closeTableRun, ensureTableJournal, legacyOutboxEntries, listTableRuns, openTableRun, outboxCount, resolveTableRun, type TableRunRecord } from './table-journal.js';

/**
 * `migrate --from <table source>`: plan (rows per family and state, where each goes), confirm
 * naming the table and the destination, move (table-engine.ts), check the outbox is empty.
 */

export interface TableMigrateOptions {
  from: string;
  to?: string;
  names?: string[];
  states: TableState[];
  mark?: string;
  dryRun: boolean;
  batch: number;
  follow: boolean;
  quietMs: number;
}

export function parseTableMigrateOptions(raw: Record<string, unknown>): TableMigrateOptions {
  const list = (v: unknown) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined);
  const states = (list(raw.states) ?? DEFAULT_TABLE_STATES) as TableState[];
  const bad = states.filter((s) => !TABLE_STATES.includes(s));
  if (bad.length > 0 || states.length === 0) {
    throw new UsageError(`--states: ${bad.length ? `"${bad.join(',')}" is not a row state of a table source` : 'empty list'}`, `choose from ${TABLE_STATES.join(',')} (active rows never move)`);
  }
  if (raw.strategy !== undefined && raw.strategy !== 'move') throw new UsageError('--strategy drain is for BullMQ queues; a table source is moved row by row', 'drop --strategy');
  if (raw.rate !== undefined) throw new UsageError('--rate is not supported with a table source yet', 'use --batch to size each transaction');
  const batch = Number(raw.batch ?? 500);
  if (!Number.isInteger(batch) || batch < 1 || batch > 10_000) throw new UsageError(`--batch must be an integer from 1 to 10000, got "${String(raw.batch)}"`, 'the default, 500 rows, keeps each source transaction short');
  const quietRaw = raw.quietFor ?? '10s';
  const quietMs = parseDuration(quietRaw);
  if (quietMs === undefined || quietMs < 0) throw new UsageError(`--quiet-for: "${String(quietRaw)}" is not a duration`, DURATION_HINT);
  if (raw.quietFor !== undefined && !raw.follow) throw new UsageError('--quiet-for only makes sense with --follow', 'add --follow');
  const names = list(raw.names);
  if (names !== undefined && names.length === 0) throw new UsageError('--names is empty', 'e.g. --names INTERPRET_EVENT,DETECT_PATTERNS');
  const mark = typeof raw.mark === 'string' ? raw.mark : undefined;
  if (mark !== undefined && mark.trim() === '') throw new UsageError('--mark is empty', 'name the status moved rows keep, e.g. --mark MOVED');
  return { from: String(raw.from), to: raw.to as string | undefined, names, states: [...new Set(states)], mark, dryRun: Boolean(raw.dryRun), batch, follow: Boolean(raw.follow), quietMs };
}

/** Rows per family and state: the plan, and the check after the move. */
interface FamilyCount {
  family: string;
  dest?: string;
  counts: Partial<Record<TableState | 'active', number>>;
}

async function countRows(source: TableSource, states: TableState[]): Promise<FamilyCount[]> {
  const sql = tableSql(source);
  const st = source.status;
  const due = sql.runAt ? `WHEN ${sql.status}::text = $1 AND ${sql.runAt} > now() THEN 'scheduled'` : '';
  const rows = await source.db.query<{ family: string; state: string; n: string }>(
    `SELECT ${sql.name}::text AS family, CASE ${due} WHEN ${sql.status}::text = $1 THEN 'ready' WHEN ${sql.status}::text = $2 THEN 'active'
            WHEN ${sql.status}::text = $3 THEN 'failed' WHEN ${sql.status}::text = $4 THEN 'dead' END AS state, count(*)::text AS n
       FROM ${sql.table} t WHERE ${sql.status}::text = ANY($5::text[]) GROUP BY 1, 2 ORDER BY 1`,
    [st.ready, st.active, st.failed ?? null, st.dead ?? null, [st.ready, st.active, ...(states.includes('failed') && st.failed ? [st.failed] : []), ...(states.includes('dead') && st.dead ? [st.dead] : [])]]);
  const byFamily = new Map<string, FamilyCount>();
  for (const r of rows) {
    const f = byFamily.get(r.family) ?? byFamily.set(r.family, { family: r.family, counts: {} }).get(r.family)!;
    f.counts[r.state as TableState] = Number(r.n);
  }
  return [...byFamily.values()];
}

function movable(counts: FamilyCount[], states: TableState[]): number {
  return counts.filter((c) => c.dest).reduce((a, c) => a + states.reduce((b, s) => b + (c.counts[s] ?? 0), 0), 0);
}

function renderTablePlan(counts: FamilyCount[], states: TableState[], color: boolean): string {
  if (counts.length === 0) return 'The table has no rows in the moved states.';
  const rows = counts.map((c) => [c.family, c.dest ?? 'stays: no queue owns it', ...states.map((s) => c.counts[s] ?? 0), c.counts.active ?? 0]);
  return renderTable(['family', 'to', ...states, 'active (stays)'], rows, { color, alignRight: states.map((_, i) => i + 2).concat(states.length + 2) });
}

async function destinationFor(ctx: Context, source: TableSource): Promise<TableDestination> {
  const target = ctx.target();
  if (target.kind === 'postgres') {
    const bull = await ctx.postgres();
    await requireCompatibleSchema(bull);
    return postgresDestination(bull, `${bull.spec.redacted} (schema ${bull.spec.schema})`, bull === source.db);
  }
  const handle = await ctx.redis();
  if (handle.mode === 'cluster') throw new UsageError('migrate --from <table source> into a Redis Cluster is not supported yet', 'move into a single Redis node or into BullMQ on PostgreSQL');
  const prefix = await ctx.prefix();
  return redisDestination(handle.client as never, prefix, `${handle.spec.redacted} (prefix ${prefix})`);
}

/** A --mark status the table can hold, that no claim query reads and this move does not read either. */
async function checkMark(source: TableSource, mark: string | undefined, states: TableState[]): Promise<void> {
  if (mark === undefined) return;
  const read = groupsFor(source, states).map((g) => g.status);
  if (mark === source.status.ready || mark === source.status.active || read.includes(mark)) {
    throw new UsageError(`--mark ${mark}: rows with that status would still be claimed (by the application or by this move)`, `pick a status no claim query reads, e.g. ${source.status.completed ?? 'COMPLETED'}`);
  }
  try {
    await source.db.query(`SELECT $1::${source.statusType}`, [mark]);
  } catch {
    throw new UsageError(`--mark ${mark}: not a value of the status column's type ${source.statusType}`, 'use one of its values (ALTER TYPE … ADD VALUE to add one)');
  }
}

async function ranksFor(source: TableSource): Promise<number[]> {
  const c = source.columns.priority;
  if (!c) return [];
  const col = `t.${quoteIdent(c)}`;
  const rows = await source.db.query<{ p: number }>(`SELECT DISTINCT ${col}::float8 AS p FROM ${source.table.sql} t WHERE ${col} IS NOT NULL`);
  return rows.map((r) => Number(r.p));
}

export async function runTableMigrate(raw: Record<string, unknown>, ctx: Context): Promise<number> {
  const opts = parseTableMigrateOptions(raw);
  const { topology } = await ctx.topology();
  const routing = buildRouting(topology, { from: opts.from, to: opts.to, names: opts.names });
  const source = await resolveTableSource(ctx, opts.from);
  await checkMark(source, opts.mark, opts.states);
  const dest = await destinationFor(ctx, source);
  try {
    return await moveTable(opts, ctx, topology, routing, source, dest);
  } catch (error) {
    if (error instanceof QueuectlError || ctx.target().kind === 'postgres') throw error;
    throw toRedisError(error, (await ctx.redis()).spec);
  } finally {
    await dest.close();
  }
}

async function moveTable(opts: TableMigrateOptions, ctx: Context, topology: Topology, routing: Routing, source: TableSource, dest: TableDestination): Promise<number> {
  const db = source.db;
  const plan = await countRows(source, opts.states);
  for (const f of plan) {
    const r = routeName(routing, topology, f.family);
    if ('dest' in r) f.dest = r.dest;
  }
  const total = movable(plan, opts.states);
  const intent = runIdOf({ prefix: `table|${dest.where}`, from: `${source.name}|${source.table.sql}|${db.spec.redacted}`, to: opts.to, names: opts.names, states: [...opts.states, ...(opts.mark ? [`mark=${opts.mark}`] : [])] });
  const run = await resolveTableRun(db, intent);
  const doc = (extra: Record<string, unknown>) => ({
    schema: 'queuectl/migrate-table@1', runId: run.runId, source: source.name, table: source.where, destination: dest.where, states: opts.states, mark: opts.mark ?? null,
    plan: plan.map((f) => ({ family: f.family, to: f.dest ?? null, ...f.counts })), ...extra,
  });
  if (opts.dryRun) {
    ctx.out.printJson(doc({ dryRun: true, planned: total }));
    ctx.out.print(`Plan: ${source.where} → ${dest.where}`);
    ctx.out.print(renderTablePlan(plan, opts.states, ctx.out.color));
    ctx.out.print(`Dry run (run ${run.runId}): ${total} row(s) would move; nothing was changed.`);
    return ExitCode.ok;
  }
  if (!ctx.out.json) {
    ctx.out.note(`Plan: ${source.where} → ${dest.where}`);
    ctx.out.note(renderTablePlan(plan, opts.states, ctx.out.color));
  }
  if (run.continues && !ctx.out.json) ctx.out.note(`Continuing run ${run.runId}, which did not finish.`);
  const then = opts.mark ? `marking them ${opts.mark}` : 'deleting them from the table';
  const what = opts.follow ? `Move ${total} row(s) now, and keep moving new ones,` : `Move ${total} row(s)`;
  if (!(await ctx.prompt.confirm(`${what} from ${source.where} into ${dest.where}, ${then}?`))) {
    ctx.out.note('Nothing moved.');
    return ExitCode.checkFailed;
  }

  await ensureTableJournal(db);
  await lockRun(db, run.runId);
  const legacy = await legacyOutboxEntries(db, run.runId);
  if (legacy > 0) {
    throw new UsageError(`run ${run.runId} has ${legacy} claimed row(s) in queuectl.table_outbox, the outbox of an older queuectl, which this version does not read`, 'finish the run with the queuectl version that started it (rerun the same command), then upgrade');
  }
  const ranks: PriorityRanks = run.ranks ?? priorityRanks(await ranksFor(source), source.priority);
  await openTableRun(db, { id: run.runId, intent, source: source.name, table: source.where, dest: dest.where, states: opts.states, mark: opts.mark, planned: total, ranks });
  const progress = createProgress(ctx.out, total);
  const started = Date.now();
  const result = await runTableMove({
    source, dest, topology, routing, ranks, runId: run.runId, states: opts.states, mark: opts.mark, batch: opts.batch,
    follow: opts.follow ? { quietMs: opts.quietMs } : undefined, signal: ctx.signal,
    onProgress: (p) => progress.update({ moved: p.delivered, state: 'wait', elapsedMs: Date.now() - started }),
  });
  progress.done();
  if (result.interrupted) {
    await closeTableRun(db, run.runId, 'interrupted', Math.max(0, total - result.delivered)).catch(() => undefined);
    throw new InterruptedError(`interrupted after moving ${result.delivered} row(s) from ${source.where} (run ${run.runId}); every row is in the table, in the run's outbox or in BullMQ`, 'rerun the same command to continue; `queuectl migrate status` shows progress');
  }
  const pending = { n: await outboxCount(db, run.runId) };
  const after = await countRows(source, opts.states);
  for (const f of after) {
    const r = routeName(routing, topology, f.family);
    if ('dest' in r) f.dest = r.dest;
  }
  const left = movable(after, opts.states);
  const verified = pending.n === 0;
  await closeTableRun(db, run.runId, verified ? 'done' : 'unverified', left, verified ? '' : `${pending.n} outbox entries not written`);
  ctx.out.printJson(doc({ dryRun: false, planned: total, moved: result.moved, claimed: result.claimed, delivered: result.delivered, left, stayed: result.stayed, stayedCount: result.stayedCount, verified, continued: run.continues }));
  const line = Object.entries(result.moved).map(([q, n]) => `${q} ${n}`).join(', ');
  ctx.out.print(`Moved ${result.delivered} row(s) from ${source.where}${line ? ` → ${line}` : ''} (run ${run.runId}).`);
  if (result.stayedCount > 0) ctx.out.warn(`${result.stayedCount} row(s) stay in the table: ${result.stayed.map((s) => `${s.id} (${s.problem ?? s.reason})`).join(', ')}`);
  if (left > 0) ctx.out.print(`${left} row(s) in the moved states are in the table now (arrived or came back during the move): rerun, or use --follow until producers stop.`);
  if (verified) ctx.out.print('Verified: the outbox is empty; every claimed row was written to BullMQ exactly once.');
  else ctx.out.warn(`verification: ${pending.n} outbox entries are not written yet; rerun the same command`);
  return verified && result.stayedCount === 0 ? ExitCode.ok : ExitCode.checkFailed;
}

/** Table runs for `migrate status`: every table source's database the topology names and can reach. */
export async function tableRunsForStatus(ctx: Context): Promise<TableRunRecord[]> {
  const loaded = await ctx.topologyIfAny();
  if (!loaded) return [];
  const runs: TableRunRecord[] = [];
  const seen = new Set<string>();
  for (const name of tableSourceNames(loaded.topology)) {
    const entry = loaded.topology.legacy[name];
    let url: string;
    try {
      url = sourceUrlOf(ctx, { ...entry, table: entry.table! }).url;
    } catch {
      continue; // no URL for this source here: nothing to show from it
    }
    if (seen.has(url)) continue;
    seen.add(url);
    runs.push(...(await listTableRuns(await ctx.sourcePostgres(url))));
  }
  return runs;
}

export function renderTableRuns(runs: TableRunRecord[], color = false): string {
  const rows = runs.map((r) => [r.id, r.source, r.dest, r.states.join(','), r.state, `${r.delivered}/${Math.max(r.planned, r.delivered)}`, r.claimed - r.delivered, r.state === 'done' ? (r.left > 0 ? `${r.left} in table` : 'finished') : 'rerun the same command to continue', new Date(r.updated).toISOString()]);
  return renderTable(['table run', 'from', 'to', 'states', 'state', 'moved', 'in outbox', 'left', 'updated'], rows, { color, alignRight: [5, 6] });
}
