// Rows, ratios and the summary (pure: no I/O), shared by every bench and scripts/bench.mjs.
//
// A figure on this shared, noisy machine only means something next to an anchor measured in the
// same run on the same server (issue 19): the hand-written BullMQ-API way, BullMQ's own addBulk of
// the same jobs, BullMQ's own getJobCounts per queue. So every row carries its anchor and the ratio
// between them; the absolute figures are information only. A row (schema queuectl/bench@2):
//   { bench, id, label, value, unit, anchor: { label, value, unit } | null,
//     ratio: number | null, better: 'higher' | 'lower', goal: Goal | null, met: boolean | null }
// `ratio` is value ÷ anchor for a rate (jobs/s) or a size (MB), anchor ÷ value for a duration (ms),
// so that for speed rows "3×" always reads "three times as fast as the anchor". `better` says which
// way the ratio should move (memory growth: lower). `goal` is { on: 'ratio' | 'value', min?, max? }.
import { int } from './lib.mjs';

/** Ratios are kept to 2 significant decimals below 10 and 1 above: finer is noise here. */
const roundRatio = (r) => (r >= 10 ? Math.round(r * 10) / 10 : Math.round(r * 100) / 100);

const DURATION_UNITS = new Set(['ms', 's']);

/**
 * One summary row. `anchor` is the same work done the anchor's way in the same run ({ label,
 * value, unit }); `better` (which way the ratio should move) defaults to 'lower' for sizes (MB),
 * 'higher' otherwise.
 * @param {{ bench: string, id: string, label: string, value: number, unit: string,
 *   anchor?: { label: string, value: number, unit: string } | null, better?: 'higher' | 'lower',
 *   goal?: { on: 'ratio' | 'value', min?: number, max?: number } | null }} spec
 */
export function row({ bench, id, label, value, unit, anchor = null, better, goal = null }) {
  let ratio = null;
  if (anchor && anchor.value > 0 && value > 0) {
    ratio = roundRatio(DURATION_UNITS.has(unit) ? anchor.value / value : value / anchor.value);
  }
  // A speed ratio should grow; a size ratio (memory growth) should not. Rows without an anchor have no ratio to compare.
  const direction = better ?? (unit === 'MB' ? 'lower' : 'higher');
  const measured = goal?.on === 'ratio' ? ratio : value;
  const met = goal && measured !== null ? (goal.min === undefined || measured >= goal.min) && (goal.max === undefined || measured <= goal.max) : null;
  return { bench, id, label, value, unit, anchor, ratio, better: direction, goal, met };
}

/** The row that stands for a bench that broke (its error instead of figures). */
export const brokenRow = (bench, error) => ({ bench, id: 'broken', label: `${bench} bench`, value: null, unit: null, anchor: null, ratio: null, better: 'higher', goal: null, met: false, broken: error });

/** Summary rows for `results` ({ name: result | { error } }), in the order the benches ran. */
export function summaryRows(results) {
  return Object.entries(results).flatMap(([name, r]) => (r.error ? [brokenRow(name, r.error)] : r.rows));
}

const REGRESSION = 0.15;

/**
 * Ratios against earlier results files of the same kind (official or quick; `previous` newest
 * first): each row is compared with the newest earlier run that has it (a run with --only has
 * only some rows), giving the previous ratio, its file and the relative change; a ratio that moved
 * the wrong way by more than 15% is a regression. Files of another schema (queuectl/bench@1 had no
 * ratios) are skipped.
 */
export function compareWithPrevious(rows, previous) {
  const docs = (Array.isArray(previous) ? previous : previous ? [previous] : []).filter((d) => d?.schema === 'queuectl/bench@2');
  const before = new Map();
  for (const d of docs) {
    for (const r of d.summary ?? []) {
      const key = `${r.bench}/${r.id}`;
      if (r.ratio != null && r.ratio > 0 && !before.has(key)) before.set(key, { ratio: r.ratio, startedAt: d.startedAt ?? null, file: d.file ?? null });
    }
  }
  const regressions = [];
  const compared = rows.map((r) => {
    const was = before.get(`${r.bench}/${r.id}`);
    if (r.ratio == null || !was) return r;
    const change = Math.round((r.ratio / was.ratio - 1) * 1000) / 1000;
    const regressed = r.better === 'lower' ? change > REGRESSION : change < -REGRESSION;
    if (regressed) regressions.push({ bench: r.bench, id: r.id, label: r.label, previous: was.ratio, now: r.ratio, change, file: was.file });
    return { ...r, previous: { ratio: was.ratio, change, regressed, startedAt: was.startedAt, file: was.file } };
  });
  return { rows: compared, regressions };
}

const plain = (n, unit) => (unit === 'ms' ? (n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${int(n)} ms`) : `${n >= 100 ? int(n) : n} ${unit}`);
const goalText = (g) => {
  if (!g) return '';
  const suffix = g.on === 'ratio' ? '×' : '';
  if (g.min !== undefined && g.max !== undefined) return `${g.min}–${g.max}${suffix}`;
  return g.min !== undefined ? `≥ ${g.min}${suffix}` : `≤ ${g.max}${suffix}`;
};
const status = (r) => (r.broken ? 'BROKE' : r.met === null ? '' : r.met ? 'met' : 'MISSED');
const changeText = (r) => {
  if (!r.previous) return '';
  const pct = `${r.previous.change >= 0 ? '+' : ''}${Math.round(r.previous.change * 100)}%`;
  return r.previous.regressed ? `${pct} REGRESSED` : pct;
};

/** The summary as aligned text lines: a header about the run, then one line per row. */
export function summaryLines(doc) {
  const head = [
    doc.quick ? 'queuectl bench — QUICK smoke run: small sizes, NOT the official figures' : 'queuectl bench',
    `${doc.startedAt} · commit ${doc.git.commit?.slice(0, 10) ?? 'unknown'}${doc.git.dirty ? ' (uncommitted changes)' : ''} · node ${doc.node} · redis ${doc.redis}${doc.postgres ? ` · postgres ${doc.postgres}` : ''} · ${doc.machine.cpus} CPUs, ${int(doc.machine.memoryMb)} MB · load avg ${doc.machine.loadavg.join(' ')}`,
    'ratio = queuectl ÷ its anchor, measured in the same run on the same server (speed: times as fast); queuectl is timed',
    'as the whole command (Node start-up included), anchors in-process; pg-* rows run on PostgreSQL, the others on Redis;',
    'the absolute figures on the right are information only',
    '',
  ];
  const table = [['metric', 'ratio', 'goal', '', 'vs previous', 'measured (info)']];
  for (const r of doc.summary) {
    const metric = `${r.bench}: ${r.label}${r.anchor ? ` — vs ${r.anchor.label}` : ''}`;
    const info = r.broken ? r.broken : `${plain(r.value, r.unit)}${r.anchor ? ` vs ${plain(r.anchor.value, r.anchor.unit)}` : ''}`;
    table.push([metric, r.ratio === null ? '' : `${r.ratio}×`, goalText(r.goal), status(r), changeText(r), info]);
  }
  const widths = table[0].map((_, i) => Math.max(...table.map((cells) => cells[i].length)));
  const lines = table.map((cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const goals = doc.summary.filter((r) => r.met !== null && !r.broken);
  const missed = goals.filter((r) => !r.met).length;
  const tail = ['', `${goals.length - missed} of ${goals.length} goals met${doc.broken.length ? `; BROKEN: ${doc.broken.join(', ')}` : ''}`];
  const compared = doc.summary.filter((r) => r.previous).length;
  if (compared === 0) {
    tail.push('no earlier results file of this kind with these rows: nothing compared');
  } else {
    const n = doc.regressions.length;
    const against = [...new Set(doc.summary.filter((r) => r.previous).map((r) => r.previous.file ?? r.previous.startedAt))].join(', ');
    tail.push(n === 0
      ? `${compared} ratio${compared === 1 ? '' : 's'} compared with earlier runs (${against}): none regressed by more than 15%`
      : `${compared} ratio${compared === 1 ? '' : 's'} compared with earlier runs (${against}): ${n} REGRESSED by more than 15%: ${doc.regressions.map((g) => `${g.bench}/${g.id} ${g.previous}× → ${g.now}×`).join(', ')}`);
  }
  if (doc.quick) tail.push('quick sizes: start-up costs dominate, so met/missed above says little; run `npm run bench` for the official figures');
  return [...head, ...lines, ...tail];
}
