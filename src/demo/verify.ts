import { LEGACY_QUEUE } from './mix.js';

/**
 * What each demo step must show beyond its exit code, judged from the commands' own `--json`
 * documents. Pure: each takes the parsed document and returns the problems found (none = as expected).
 */

interface Finding {
  rule: string;
  severity: string;
  queue?: string;
  message: string;
}
interface CheckDoc {
  inSync: boolean;
  findings: Finding[];
}
interface InspectDoc {
  queues: { name: string; exists?: boolean; counts: Record<string, number> }[];
}
interface MigrateDoc {
  plan: { moves: Record<string, Record<string, number>> };
  skipped: { reason: string; count: number; names?: Record<string, number> }[];
}
interface DlqListDoc {
  items: { ref: string; queue: string; name: string }[];
}

const errorsOf = (doc: CheckDoc) => doc.findings.filter((f) => f.severity === 'error');

/**
 * Before the migration: the gate fails on the legacy queue. (`topology check` reports jobs in a
 * legacy queue as legacy-has-jobs, not name by name: every one of them still needs a home.)
 */
export function expectDriftBefore(doc: CheckDoc): string[] {
  const problems: string[] = [];
  if (doc.inSync) problems.push('topology check reported in sync, but the legacy queue is full');
  if (!errorsOf(doc).some((f) => f.rule === 'legacy-has-jobs' && f.queue === LEGACY_QUEUE)) problems.push(`no legacy-has-jobs finding for ${LEGACY_QUEUE}`);
  return problems;
}

/**
 * After the migration, the old deployment's last jobs and the drain: "clean" means the gate passes
 * (inSync, no error at all; warnings such as a declared queue with no keys yet are allowed).
 */
export function expectClean(check: CheckDoc): string[] {
  const problems = errorsOf(check).map((f) => `unexpected ${f.rule}${f.queue ? ` on ${f.queue}` : ''}: ${f.message}`);
  if (!check.inSync && problems.length === 0) problems.push('topology check reported drift without an error finding');
  return problems;
}

/** After the drain: the legacy queue has no keys left (inspect lists it by name, `exists: false`). */
export function expectLegacyGone(inspect: InspectDoc): string[] {
  const legacy = inspect.queues.find((q) => q.name === LEGACY_QUEUE);
  if (legacy && legacy.exists !== false) return [`${LEGACY_QUEUE} still has keys: ${JSON.stringify(legacy.counts)}`];
  return [];
}

/** A migrate plan (dry run, or a dry run after the real run): only the unowned jobs stay, and `moving` jobs move. */
export function expectPlan(doc: MigrateDoc, unowned: number, moving: 'some' | 'none'): string[] {
  const problems: string[] = [];
  const total = Object.values(doc.plan.moves).flatMap((row) => Object.values(row)).reduce((a, n) => a + n, 0);
  for (const s of doc.skipped) {
    if (s.reason === 'active') continue; // the old workers' jobs in hand: moved by a rerun, not a problem
    if (s.reason !== 'unowned') problems.push(`${s.count} job(s) would stay: ${s.reason}`);
    else if (s.count !== unowned) problems.push(`${s.count} unowned job(s) stay, expected ${unowned}`);
  }
  if (unowned > 0 && !doc.skipped.some((s) => s.reason === 'unowned')) problems.push('the unowned jobs are not reported');
  if (moving === 'some' && total === 0) problems.push('the plan moves nothing');
  if (moving === 'none' && total > 0) problems.push(`${total} job(s) with an owner are still left to move`);
  return problems;
}

/** `dlq list` shows exactly the corrupt uploads, each in the queue that owns its name. */
export function expectDeadLetters(doc: DlqListDoc, expected: number, owners: Record<string, string>): string[] {
  const problems: string[] = [];
  if (doc.items.length !== expected) problems.push(`dlq list shows ${doc.items.length} dead letter(s), expected ${expected}`);
  const stray = doc.items.filter((i) => owners[i.name] !== i.queue);
  if (stray.length > 0) problems.push(`${stray.length} dead letter(s) outside their owning queue, e.g. ${stray[0].ref}`);
  return problems;
}
