import { renderTable } from '../ui/table.js';
import { dict } from '../util/dict.js';
import { MOVABLE_STATES } from './keys.js';
import type { ApplyResult, Moves, RenamedJob } from './apply.js';
import { runFinished, type JournalRecord } from './journal.js';
import { duplicateTotal, movingTotal, STAY_REASONS, type LeftState, type Plan } from './plan.js';
import { migrateCommand, statesToMove } from './advice.js';

const REASON_TEXT: Record<string, string> = {
  unowned: 'no declared queue owns the name',
  active: 'being processed by a worker now',
  flow: 'part of a flow (parent or child)',
  scheduler: 'created by a job scheduler',
  collision: 'destination already holds this id',
  'dedup-conflict': "destination's deduplication key points at another job",
  locked: 'locked by a worker',
  'missing-hash': 'listed but its job hash is gone',
};

/** What finishes the jobs that stay for each reason: a command, or what has to happen first. */
function nextStep(reason: string, plan: Plan): string {
  const from = plan.from;
  switch (reason) {
    case 'unowned': return "add the name to a queue's jobs: in the topology (or pass --to <queue>), then rerun";
    case 'active': return 'old workers are running them: rerun once they finish (those that fail move with --states failed)';
    case 'flow': return 'flow jobs never move: let the old workers finish them';
    case 'scheduler': return `move the job scheduler to the queue owning its name (remove it from ${from}); old workers finish the jobs it made`;
    case 'collision': return `compare both jobs (queuectl inspect job <destination> <id>, queuectl inspect job ${from} <id>), remove the one you do not want (BullMQ Job.remove), then rerun`;
    case 'dedup-conflict': return "rerun once the destination's deduplication key expires or its job finishes";
    case 'locked': return 'a worker holds them: rerun once it lets go';
    case 'missing-hash': return `leftovers of removed jobs: they go when ${from} is deleted (--strategy drain)`;
    default: return '';
  }
}

/**
 * Jobs the plan left unread, by state, each with what moves it: failed (or any state outside
 * --states) with the --states that moves it; completed jobs are history and go with the queue.
 */
export function leftOut(plan: Plan): { state: LeftState; count: number; next: string }[] {
  return (Object.entries(plan.outside) as [LeftState, number][]).filter(([, n]) => n > 0).map(([state, count]) => ({
    state,
    count,
    next: state === 'completed'
      ? `finished jobs never move; they go when ${plan.from} is deleted (${migrateCommand(plan.from)} --strategy drain, once nothing else is left)`
      : `not in --states; to take them up: ${migrateCommand(plan.from, { to: plan.to, names: plan.names, states: statesToMove({ [state]: count }) })}`,
  }));
}

export function renderLeftOut(plan: Plan): string[] {
  const left = leftOut(plan);
  if (left.length === 0) return [];
  return [`Left in ${plan.from}, not read by this run:`, ...left.map((l) => `  ${l.count} ${l.state} job(s): ${l.next}`)];
}

/** The `migrate --json` document (contract: schema queuectl/migrate@1). */
export interface MigrateDocument {
  schema: 'queuectl/migrate@1';
  runId: string;
  from: string;
  dryRun: boolean;
  moved: Record<string, number>;
  skipped: { reason: string; count: number; examples: string[]; names: Record<string, number>; states: Record<string, number>; next: string }[];
  /** Jobs in states the run did not read (failed outside --states, completed), with what moves them. */
  left: { state: LeftState; count: number; next: string }[];
  verified: boolean;
  problems: string[];
  plan: Plan;
  /** After a real run: true when it continued an unfinished run (said on stderr without --json). */
  continued?: boolean;
  /** Present after a real run. */
  timings?: MigrateTimings;
  /** After a real run: jobs moved under a fresh id (their numeric id was taken), old → new. */
  renamed?: RenamedJob[];
  /** After a real run: legacy copies removed because the destination holds the same job. */
  duplicates?: { queue: string; id: string; name: string }[];
}

export function migrateDocument(input: { runId: string; plan: Plan; remaining: Plan; moved: Moves; dryRun: boolean; verified: boolean; problems: string[]; timings?: MigrateTimings; ids?: Pick<ApplyResult, 'renamed' | 'duplicates'>; continued?: boolean }): MigrateDocument {
  const moved = dict<number>();
  for (const dest of Object.keys(input.plan.moves)) moved[dest] = 0;
  for (const [dest, row] of Object.entries(input.moved)) moved[dest] = Object.values(row).reduce((a, n) => a + (n ?? 0), 0);
  const skipped = STAY_REASONS.flatMap((r) => {
    const g = input.remaining.stays[r];
    return g && g.count > 0 ? [{ reason: r, count: g.count, examples: g.examples, names: g.names, states: g.states ?? {}, next: nextStep(r, input.remaining) }] : [];
  });
  return { schema: 'queuectl/migrate@1', runId: input.runId, from: input.plan.from, dryRun: input.dryRun, moved, skipped, left: leftOut(input.remaining), verified: input.verified, problems: input.problems, plan: input.plan, ...(input.continued !== undefined ? { continued: input.continued } : {}), ...(input.timings ? { timings: input.timings } : {}), ...(input.ids ? { renamed: input.ids.renamed, duplicates: input.ids.duplicates } : {}) };
}

/** Where a run's time went, ms: the plan scan, the moves, the closing rescan and count. */
export interface MigrateTimings {
  planMs: number;
  moveMs: number;
  verifyMs: number;
}

/** The plan as tables: what moves where, per state; what stays and why. */
export function renderPlan(plan: Plan, color = false): string {
  const states = MOVABLE_STATES.filter((s) => plan.states.includes(s));
  const lines: string[] = [];
  const target = plan.to ? `everything to ${plan.to}` : 'each job to the queue that owns its name';
  lines.push(`Plan: ${plan.from} → ${target} (states: ${plan.states.join(', ')}${plan.names ? `; names: ${plan.names.join(', ')}` : ''})`);
  const rows = Object.entries(plan.moves).map(([dest, row]) => [dest, ...states.map((s) => row[s] ?? 0), movingTotal(plan, dest)]);
  if (rows.length > 0) lines.push(renderTable(['destination', ...states, 'total'], rows, { color, alignRight: states.map((_, i) => i + 1).concat(states.length + 1) }));
  else lines.push(`Nothing to move in ${plan.states.join(', ')}.`);
  lines.push(...renderStays(plan, color));
  lines.push(...renderLeftOut(plan));
  lines.push(idPolicyLine(plan));
  for (const bad of plan.blocked) lines.push(`Blocking: ${bad.key} is a ${bad.found}, where BullMQ keeps a ${bad.want}.`);
  const { owned, filtered } = plan.untouched;
  if (owned > 0) lines.push(`${owned} job(s) stay because ${plan.from} owns their names.`);
  if (filtered > 0) lines.push(`${filtered} job(s) are outside --names and stay.`);
  lines.push(...renderBullNotes(plan));
  return lines.join('\n');
}

export function renderStays(plan: Plan, color = false): string[] {
  const rows = STAY_REASONS.flatMap((r) => {
    const g = plan.stays[r];
    if (!g || g.count === 0) return [];
    const names = Object.entries(g.names).sort((a, b) => b[1] - a[1]).slice(0, 4).map(([n, c]) => `${n} (${c})`).join(', ');
    const states = Object.entries(g.states ?? {}).map(([st, c]) => `${st} ${c}`).join(', ');
    return [[r, g.count, states, REASON_TEXT[r] ?? r, names, g.examples.join(', ')]];
  });
  if (rows.length === 0) return [];
  const next = STAY_REASONS.filter((r) => (plan.stays[r]?.count ?? 0) > 0).map((r) => `  ${r}: ${nextStep(r, plan)}`);
  return [`Staying in ${plan.from}:`, renderTable(['reason', 'jobs', 'in', 'why', 'names', 'examples'], rows, { color, alignRight: [1], wrap: { 5: 40 } }), 'To finish:', ...next];
}

export function renderStatus(runs: JournalRecord[], color = false): string {
  if (runs.length === 0) return 'No migration runs recorded.';
  const rows = runs.map((r) => [
    r.id,
    r.source,
    r.to ?? 'by name',
    r.states.join(','),
    r.state,
    `${r.moved}/${Math.max(r.planned, r.moved)}`,
    runFinished(r.state) ? (r.left > 0 ? `${r.left} not moved` : 'finished') : 'rerun the same command to continue',
    new Date(r.started || r.updated).toISOString(),
    new Date(r.updated).toISOString(),
  ]);
  return renderTable(['run', 'from', 'to', 'states', 'state', 'moved', 'left', 'started', 'updated'], rows, { color, alignRight: [5], dropFirst: [7, 3, 2] });
}

/**
 * The id policy, as the plan applies it (src/migrate/lua/move-batch.lua): automatic ids never
 * collide, a true duplicate is kept once, another job under the same custom id stays.
 */
export function idPolicyLine(plan: Plan): string {
  const renamed = plan.renamed.count > 0 ? ` (${plan.renamed.count} now, e.g. ${plan.renamed.examples.slice(0, 3).join(', ')})` : '';
  const dups = duplicateTotal(plan);
  const removed = dups > 0 ? ` (${dups} now, e.g. ${plan.duplicateExamples.slice(0, 3).join(', ')})` : '';
  return `Ids: kept. A numeric id the destination already holds gets its next id${renamed}, old → new in the run's journal and --json; destination counters stay 1,000,000 ahead of ${plan.from}'s. A custom id held there by the same job (name and data) is a duplicate: kept once, the ${plan.from} copy removed${removed}. Held by another job: it stays (collision).`;
}

/** After a run: what the id policy did, one line each (nothing when it did nothing). */
export function renderIdOutcomes(result: Pick<ApplyResult, 'renamed' | 'duplicates'>): string[] {
  const lines: string[] = [];
  if (result.renamed.length > 0) lines.push(`Renamed ${result.renamed.length} job(s) whose numeric id the destination held: ${result.renamed.slice(0, 3).map((r) => `${r.from} → ${r.queue}/${r.to}`).join(', ')}${result.renamed.length > 3 ? ', …' : ''} (all in --json and the run's journal).`);
  if (result.duplicates.length > 0) lines.push(`Removed ${result.duplicates.length} duplicate(s) the destination already held (same id, name and data): ${result.duplicates.slice(0, 3).map((d) => `${d.queue}/${d.id}`).join(', ')}${result.duplicates.length > 3 ? ', …' : ''}.`);
  return lines;
}

const BULL_OPTION_TEXT: Record<string, string> = {
  timeout: 'opts.timeout dropped (BullMQ has no per-job timeout: enforce it in the processor)',
  preventParsingData: 'opts.preventParsingData dropped (BullMQ always parses data)',
  debounce: 'opts.debounce dropped (declare deduplication on the BullMQ side if still wanted)',
  'backoff.exponential': 'exponential backoff kept, but BullMQ waits 1, 2, 4… × delay where Bull waited 1, 3, 7… ×',
  'backoff.custom': 'a custom backoff type kept: the BullMQ worker needs a settings.backoffStrategy for it',
  priority: 'priority above BullMQ\'s 2,097,151 clamped to it',
};

/** A Bull source's option translations and its repeatable jobs, each with the scheduler to declare. */
export function renderBullNotes(plan: Plan): string[] {
  const bull = plan.bull;
  if (!bull) return [];
  const lines = Object.entries(bull.options).map(([option, n]) => `Bull options: ${n} job(s): ${BULL_OPTION_TEXT[option] ?? option}.`);
  if (bull.repeatable.length > 0) {
    lines.push(`${bull.repeatable.length} Bull repeatable job(s) stay in ${plan.from} (their next runs are \`scheduler\` stays); declare each as a BullMQ job scheduler, then remove it from Bull (Queue.removeRepeatableByKey):`);
    for (const r of bull.repeatable) lines.push(`  queues.${r.queue ?? '<queue owning ' + r.name + '>'}.schedulers: ${r.scheduler}   # Bull key ${r.key}`);
  }
  return lines;
}
