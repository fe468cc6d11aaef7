import type { Context } from '../context.js';
import { ExitCode, UsageError } from '../errors.js';
import { formatAge } from '../ui/format.js';
import { parseDuration, formatDuration } from '../topology/durations.js';
import { renderTable } from '../ui/table.js';
import { positiveInt } from '../dlq/filters.js';
import { assertKnownQueues } from '../util/queue-names.js';
import type { StuckRow } from '../table/stuck.js';

export interface StuckOptions {
  source?: string[];
  olderThan?: string;
  release?: boolean;
  dryRun?: boolean;
  limit?: string;
}

interface SourceReport {
  source: string;
  table: string;
  where: string;
  olderThanMs: number;
  total: number;
  rows: StuckRow[];
  released: number;
}

/**
 * `queuectl stuck [--source s] [--older-than dur] [--release]`: rows of legacy table sources that
 * are active (claimed) and locked past the lock timeout — their worker died. `--release` shows the
 * same list as a plan, asks (naming database and table; --yes off a terminal), then makes the listed
 * rows ready again with the attempt counted, re-checking each one (releasestuck in table/stuck.ts).
 */
export async function run(opts: StuckOptions, ctx: Context): Promise<number> {
  const { topology } = await ctx.topology();
  const { tableSourceNames, resolveTableSource } = await import('../table/resolve.js');
  const { listStuck, releaseStuck } = await import('../table/stuck.js');
  const { readOnly } = await import('../table/session.js');
  const all = tableSourceNames(topology);
  if (all.length === 0) throw new UsageError('the topology declares no table source', 'declare one under legacy: <name>: { table: { name, urlEnv } }');
  const names = opts.source?.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean) ?? all;
  assertKnownQueues(names, all, { flag: '--source', isNot: 'is not a table source (a legacy entry with table:)' });
  const olderThan = opts.olderThan === undefined ? undefined : parseDuration(opts.olderThan);
  if (opts.olderThan !== undefined && olderThan === undefined) throw new UsageError(`--older-than "${opts.olderThan}" is not a duration`, 'for example --older-than 15m');
  const limit = positiveInt('--limit', opts.limit) ?? 1000;

  const reports: SourceReport[] = [];
  const sources = [];
  for (const name of names) {
    const source = await resolveTableSource(ctx, name);
    const olderThanMs = olderThan ?? source.lockTimeoutMs;
    const { total, rows } = await readOnly(source.db, () => listStuck(source, olderThanMs, limit));
    reports.push({ source: name, table: source.table.sql, where: source.where, olderThanMs, total, rows, released: 0 });
    sources.push(source);
  }
  ctx.out.print(reports.map(render).join('\n\n'));
  const finish = (code: number) => {
    ctx.out.printJson({ schema: 'queuectl/stuck@1', release: Boolean(opts.release), dryRun: Boolean(opts.dryRun), sources: reports });
    return code;
  };
  if (!opts.release || opts.dryRun) return finish(0);
  let declined = false;
  for (const [i, report] of reports.entries()) {
    if (report.rows.length === 0) continue;
    const n = report.rows.length;
    const more = report.total > n ? ` (the oldest ${n} of ${report.total}; rerun for the rest)` : '';
    if (!(await ctx.prompt.confirm(`Release ${n} stuck row${n === 1 ? '' : 's'} of ${report.where}${more}: ready again, attempts + 1?`))) {
      ctx.out.note(`${report.source}: nothing released`);
      declined = true;
      continue;
    }
    const released = await releaseStuck(sources[i], report.rows.map((r) => r.id), report.olderThanMs);
    report.released = released.length;
    const gone = n - released.length;
    ctx.out.note(`${report.source}: released ${released.length}${gone ? `; ${gone} no longer stuck (finished, recovered or held by a worker) left as they were` : ''}`);
  }
  return finish(declined ? ExitCode.checkFailed : ExitCode.ok); // declined: as answering "n" to migrate
}

function render(r: SourceReport): string {
  const head = `${r.source}: ${r.total} stuck row${r.total === 1 ? '' : 's'} (active, locked longer than ${formatDuration(r.olderThanMs)}) in ${r.where}`;
  if (r.rows.length === 0) return head;
  const rows = r.rows.map((row) => [row.id, row.family, row.lockedBy ?? '-', formatAge(row.lockedForMs), row.attempts === null ? '-' : `${row.attempts}${row.maxAttempts === null ? '' : `/${row.maxAttempts}`}`]);
  const shown = r.total > r.rows.length ? `\n(the oldest ${r.rows.length}; --limit shows more)` : '';
  return `${head}\n${renderTable(['id', 'family', 'lockedBy', 'locked for', 'attempts'], rows, { alignRight: [3] })}${shown}`;
}
