import { renderTable } from '../ui/table.js';
import { dict } from '../util/dict.js';
import { MOVABLE_STATES } from './keys.js';
import type { Moves } from './apply.js';
import type { JournalRecord } from './journal.js';
import { movingTotal, STAY_REASONS, type Plan } from './plan.js';

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

/** The `migrate --json` document (contract: schema queuectl/migrate@1). */
export interface MigrateDocument {
  schema: 'queuectl/migrate@1';
  runId: string;
  from: string;
  dryRun: boolean;
  moved: Record<string, number>;
  skipped: { reason: string; count: number; examples: string[]; names: Record<string, number> }[];
  verified: boolean;
  problems: string[];
  plan: Plan;
  /** Present after a real run. */
  timings?: MigrateTimings;
}

export function migrateDocument(input: { runId: string; plan: Plan; remaining: Plan; moved: Moves; dryRun: boolean; verified: boolean; problems: string[]; timings?: MigrateTimings }): MigrateDocument {
  const moved = dict<number>();
  for (const dest of Object.keys(input.plan.moves)) moved[dest] = 0;
  for (const [dest, row] of Object.entries(input.moved)) moved[dest] = Object.values(row).reduce((a, n) => a + (n ?? 0), 0);
  const skipped = STAY_REASONS.flatMap((r) => {
    const g = input.remaining.stays[r];
    return g && g.count > 0 ? [{ reason: r, count: g.count, examples: g.examples, names: g.names }] : [];
  });
  return { schema: 'queuectl/migrate@1', runId: input.runId, from: input.plan.from, dryRun: input.dryRun, moved, skipped, verified: input.verified, problems: input.problems, plan: input.plan, ...(input.timings ? { timings: input.timings } : {}) };
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
  else lines.push('Nothing to move.');
  lines.push(...renderStays(plan, color));
  for (const bad of plan.blocked) lines.push(`Blocking: ${bad.key} is a ${bad.found}, where BullMQ keeps a ${bad.want}.`);
  const { owned, filtered } = plan.untouched;
  if (owned > 0) lines.push(`${owned} job(s) stay because ${plan.from} owns their names.`);
  if (filtered > 0) lines.push(`${filtered} job(s) are outside --names and stay.`);
  return lines.join('\n');
}

export function renderStays(plan: Plan, color = false): string[] {
  const rows = STAY_REASONS.flatMap((r) => {
    const g = plan.stays[r];
    if (!g || g.count === 0) return [];
    const names = Object.entries(g.names).sort((a, b) => b[1] - a[1]).slice(0, 4).map(([n, c]) => `${n} (${c})`).join(', ');
    return [[r, g.count, REASON_TEXT[r] ?? r, names, g.examples.join(', ')]];
  });
  if (rows.length === 0) return [];
  return [`Staying in ${plan.from}:`, renderTable(['reason', 'jobs', 'why', 'names', 'examples'], rows, { color, alignRight: [1], wrap: { 4: 40 } })];
}

export function renderStatus(runs: JournalRecord[], color = false): string {
  if (runs.length === 0) return 'No migration runs recorded.';
  const rows = runs.map((r) => [
    r.id,
    r.source,
    r.to ?? 'by name',
    r.state,
    `${r.moved}/${Math.max(r.planned, r.moved)}`,
    r.state === 'done' ? (r.left > 0 ? `${r.left} not moved` : 'finished') : 'rerun the same command to continue',
    new Date(r.updated).toISOString(),
  ]);
  return renderTable(['run', 'from', 'to', 'state', 'moved', 'left', 'updated'], rows, { color, alignRight: [4] });
}
