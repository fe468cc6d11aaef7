// Pure rendering for scripts/bench.mjs: bench results in, summary rows and text lines out.
// A row is { bench, metric, value, unit, shown, goal, met }: `value`/`unit` for comparing runs
// as data, `shown` and `goal` for people; `met` is true/false against a goal, null for a
// reference figure that has none.
import { int } from './lib.mjs';

const ms = (n) => (n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${int(n)} ms`);
const row = (bench, metric, value, unit, shown, goal, met) => ({ bench, metric, value, unit, shown, goal, met });

function migrateRows(r) {
  const rows = [
    row('migrate', `queuectl migrate, ${int(r.queuectl.jobs)} mixed jobs (plan + move + verify)`, r.queuectl.jobsPerSec, 'jobs/s', `${int(r.queuectl.jobsPerSec)} jobs/s`, `≥ ${int(r.goals.jobsPerSec)} jobs/s`, r.queuectl.jobsPerSec >= r.goals.jobsPerSec),
    ...(r.queuectl.phases?.moveJobsPerSec ? [row('migrate', `  of which the move phase alone (plan ${int(r.queuectl.phases.planMs)} ms, move ${int(r.queuectl.phases.moveMs)} ms, verify ${int(r.queuectl.phases.verifyMs)} ms)`, r.queuectl.phases.moveJobsPerSec, 'jobs/s', `${int(r.queuectl.phases.moveJobsPerSec)} jobs/s`, 'reference', null)] : []),
    row('migrate', `hand-written public API (getJobs → add → remove), ${int(r.handWritten.jobs)} jobs, same mix`, r.handWritten.jobsPerSec, 'jobs/s', `${int(r.handWritten.jobsPerSec)} jobs/s`, 'reference', null),
    row('migrate', 'ratio queuectl ÷ hand-written', r.ratio, '×', `${r.ratio}×`, `≥ ${r.goals.ratio}×`, r.ratio >= r.goals.ratio),
    // Like for like: the hand-written figure times its moving loop only (no start-up, no plan).
    ...(r.queuectl.phases?.moveJobsPerSec ? [row('migrate', '  move phase ÷ hand-written loop (both timed over moving alone)', moveRatio(r), '×', `${moveRatio(r)}×`, 'reference', null)] : []),
    row('migrate', `peak RSS, ${int(r.queuectl.jobs)} jobs`, r.queuectl.peakRssMb, 'MB', `${r.queuectl.peakRssMb} MB`, `< ${r.goals.rssMb} MB`, r.queuectl.peakRssMb < r.goals.rssMb),
  ];
  if (r.memory) {
    rows.push(row('migrate', `peak RSS, ${int(r.memory.jobs)} jobs (${int(r.memory.jobsPerSec)} jobs/s)`, r.memory.peakRssMb, 'MB', `${r.memory.peakRssMb} MB`, `< ${r.goals.rssMb} MB`, r.memory.peakRssMb < r.goals.rssMb));
  }
  const slow = r.queuectl.slowlog ?? [];
  rows.push(row('migrate', `SLOWLOG > 10 ms during the ${int(r.queuectl.jobs)}-job migrate`, slow.length, 'entries', slowText(slow), 'reference', null));
  return rows;
}

const moveRatio = (r) => Math.round((r.queuectl.phases.moveJobsPerSec / r.handWritten.jobsPerSec) * 10) / 10;

function slowText(entries) {
  if (entries.length === 0) return 'none';
  const worst = entries.reduce((a, e) => (e.ms > a.ms ? e : a));
  // SLOWLOG keeps 128 entries by default: more may have happened.
  return `${entries.length >= 128 ? '≥ ' : ''}${entries.length} (worst ${worst.ms} ms ${worst.command.split(' ')[0]})`;
}

function inspectRows(r) {
  return [
    row('inspect', `inspect --all, ${int(r.queues)} queues / ${int(r.jobs)} jobs (best of ${r.runsMs.length})`, r.bestMs, 'ms', ms(r.bestMs), `< ${ms(r.goals.bestMs)}`, r.bestMs < r.goals.bestMs),
    row('inspect', `SLOWLOG > ${r.slowlogThresholdMs} ms during inspect`, r.slowlog.length, 'entries', slowText(r.slowlog), 'empty', r.slowlog.length <= r.goals.slowlogEntries),
  ];
}

const dlqRows = (r) => [
  row('dlq', `dlq retry --all, ${int(r.jobs)} failed jobs (${int(r.jobsPerSec)} jobs/s)`, r.ms, 'ms', ms(r.ms), `< ${ms(r.goals.ms)}`, r.ms < r.goals.ms),
];

const clusterRows = (r) => [
  row('cluster', `cross-slot migrate on a 3-master cluster, ${int(r.jobs)} jobs`, r.jobsPerSec, 'jobs/s', `${int(r.jobsPerSec)} jobs/s`, `≥ ${int(r.goals.jobsPerSec)} jobs/s`, r.jobsPerSec >= r.goals.jobsPerSec),
];

// xmove: its result carries its own rows (scripts/bench/xmove.mjs xmoveRows).
const ROWS = { migrate: migrateRows, inspect: inspectRows, dlq: dlqRows, cluster: clusterRows, xmove: (r) => r.rows ?? [] };

/** Summary rows for `results` ({ name: result | { error } }), in the order the benches ran. */
export function summaryRows(results) {
  return Object.entries(results).flatMap(([name, r]) =>
    r.error ? [{ ...row(name, `${name} bench`, null, null, r.error, '—', false), broken: true }] : ROWS[name](r));
}

const status = (r) => (r.broken ? 'BROKE' : r.met === null ? '' : r.met ? 'met' : 'MISSED');

/** The summary as aligned text lines: a header about the run, then one line per row. */
export function summaryLines(doc) {
  const head = [
    doc.quick ? 'queuectl bench — QUICK smoke run: small sizes, NOT the official figures' : 'queuectl bench',
    `${doc.startedAt} · commit ${doc.git.commit?.slice(0, 10) ?? 'unknown'}${doc.git.dirty ? ' (uncommitted changes)' : ''} · node ${doc.node} · redis ${doc.redis} · ${doc.machine.cpus} CPUs, ${int(doc.machine.memoryMb)} MB · load avg ${doc.machine.loadavg.join(' ')}`,
    '',
  ];
  const table = [['metric', 'measured', 'goal', ''], ...doc.summary.map((r) => [r.metric, r.shown, r.goal, status(r)])];
  const widths = table[0].map((_, i) => Math.max(...table.map((cells) => cells[i].length)));
  const lines = table.map((cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const goals = doc.summary.filter((r) => r.met !== null && !r.broken);
  const missed = goals.filter((r) => !r.met).length;
  const tail = ['', `${goals.length - missed} of ${goals.length} goals met${doc.broken.length ? `; BROKEN: ${doc.broken.join(', ')}` : ''}`];
  if (doc.quick) tail.push('quick sizes: start-up costs dominate, so met/missed above says little; run `npm run bench` for the official figures');
  return [...head, ...lines, ...tail];
}
