import type { DedupResult } from './types.js';
import type { QueuePlan } from './plan.js';
import { formatMillis } from './format.js';

type CheckPlan = Extract<QueuePlan, { kind: 'check' }>;

/** What the scratch run saw (src/dedup/scratch.ts). */
export interface ScratchObservation {
  /** Jobs on the scratch queue, all states, after every copy was added. */
  jobs: number;
  /** Runs of the canary worker, failed or not. */
  attempts: number;
  /** Runs that succeeded. */
  completions: number;
  /** `duplicated` + `deduplicated` events BullMQ emitted. */
  duplicateEvents: number;
  /** False when the canary did not finish within the bound. */
  settled: boolean;
  settleMs: number;
  /** The deduplication key right after the adds, when the queue declares one. */
  dedupKey?: { exists: boolean; pttl: number };
}

/** What the live run saw (src/dedup/live.ts). */
export interface LiveObservation {
  jobs: number;
  jobIds: string[];
  duplicateEvents: number;
  removed: boolean;
}

function result(plan: CheckPlan, jobs: number, runs: { attempts: number; completions: number }, problems: string[], fine: string): DedupResult {
  return { queue: plan.queue, jobs, attempts: runs.attempts, completions: runs.completions, executions: runs.attempts, ok: problems.length === 0, detail: problems.length ? problems.join('; ') : fine, warnings: plan.warnings };
}

function jobsProblem(plan: CheckPlan, jobs: number): string | undefined {
  const n = plan.copies.length;
  if (jobs === 1) return undefined;
  const why = plan.perRequestFields.length
    ? ` — jobId "${plan.template}" reads ${plan.perRequestFields.join(', ')}, which ${plan.perRequestFields.length > 1 ? 'vary' : 'varies'} per request: build it from the session fields`
    : '';
  return `${jobs} jobs from ${n} copies of one session${why}`;
}

/** Pure: one job, exactly one completion (its first attempt fails on purpose), n-1 duplicates reported. */
export function scratchVerdict(plan: CheckPlan, seen: ScratchObservation): DedupResult {
  const n = plan.copies.length;
  const attempts = plan.spec.attempts ?? 1;
  const problems: string[] = [];
  const jobs = jobsProblem(plan, seen.jobs);
  if (jobs) problems.push(jobs);
  if (!seen.settled) {
    problems.push(`the canary did not settle within ${formatMillis(seen.settleMs)} (${seen.attempts} attempts, ${seen.completions} completions so far)`);
  } else if (seen.jobs === 1) {
    if (attempts < 2) problems.push(`attempts ${attempts}: the failed first attempt is never retried, so the work never completes`);
    else if (seen.completions !== 1) problems.push(`${seen.completions} completions of one job, expected exactly 1`);
  }
  // Every copy that made no job must have been reported: n - jobs duplicated events.
  if (seen.duplicateEvents !== Math.max(n - seen.jobs, 0)) {
    problems.push(`BullMQ reported ${seen.duplicateEvents} of ${n - 1} copies as duplicated`);
  }
  const dedup = plan.spec.deduplication;
  if (dedup && seen.dedupKey) {
    if (!seen.dedupKey.exists) problems.push(`deduplication id "${plan.copies[0].deduplicationId}": BullMQ set no de: key`);
    else if (dedup.ttl !== undefined && (seen.dedupKey.pttl <= 0 || seen.dedupKey.pttl > dedup.ttl)) {
      problems.push(`deduplication key TTL is ${seen.dedupKey.pttl}ms, expected up to ${dedup.ttl}ms`);
    }
  }
  let fine = `1 job from ${n} copies (${n - 1} reported duplicated); failed once, succeeded on retry`;
  if (dedup) fine += `; deduplication key set${dedup.ttl !== undefined ? ` with TTL ≤ ${formatMillis(dedup.ttl)}` : ''}`;
  return result(plan, seen.jobs, seen, problems, fine);
}

/** Pure: the live canary made one job and it was removed again. */
export function liveVerdict(plan: CheckPlan, seen: LiveObservation): DedupResult {
  const n = plan.copies.length;
  const problems: string[] = [];
  const jobs = jobsProblem(plan, seen.jobs);
  if (jobs) problems.push(`live: ${jobs}`);
  if (seen.jobs === 1 && seen.duplicateEvents !== n - 1) problems.push(`live: BullMQ reported ${seen.duplicateEvents} of ${n - 1} copies as duplicated`);
  if (!seen.removed) problems.push(`live: canary job ${seen.jobIds.join(', ')} could not be removed — remove it by hand`);
  const fine = `live: 1 canary job (${seen.jobIds[0]}) from ${n} copies (${n - 1} reported duplicated), removed`;
  return result(plan, seen.jobs, { attempts: 0, completions: 0 }, problems, fine);
}
