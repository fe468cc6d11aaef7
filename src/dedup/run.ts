import { QueuectlError } from '../errors.js';
import type { RedisHandle } from '../redis/types.js';
import type { QueueSpec } from '../topology/types.js';
import { redisDedupSite } from './redis-site.js';
import type { DedupSite } from './site.js';
import { observeLive } from './live.js';
import { randomSession } from './payload.js';
import { planQueue, type QueuePlan } from './plan.js';
import { observeOnScratch } from './scratch.js';
import type { DedupReport, DedupResult } from './types.js';
import { liveVerdict, scratchVerdict } from './verdict.js';
import { throwIfAborted } from './wait.js';

export interface DedupCheckSettings {
  copies: number;
  live: boolean;
  /** The real namespace, key prefix or schema (used only with live). */
  prefix: string;
  /** Bound for the canary to settle, ms (default 10 s). */
  settleMs?: number;
  signal: AbortSignal;
  /** Progress: called before each queue is checked. */
  onQueue?: (queue: string) => void;
}

/** Pure: every queue's plan, with one synthetic session shared by all copies of the run. */
export function planAll(specs: QueueSpec[], copies: number, live: boolean): QueuePlan[] {
  const session = randomSession(live ? 'canary' : 'dedup');
  return specs.map((spec) => planQueue(spec, copies, session));
}

/** A BullMQ refusal fails that one queue; a dead connection fails the whole command (exit 3). */
function asResult(site: DedupSite, plan: QueuePlan, error: unknown): DedupResult {
  if (error instanceof QueuectlError) throw error;
  const message = error instanceof Error ? error.message : String(error);
  const trouble = site.connectionTrouble(plan.queue, message);
  if (trouble) throw trouble;
  return { queue: plan.queue, jobs: 0, attempts: 0, completions: 0, executions: 0, ok: false, detail: `BullMQ refused the check: ${message.split('\n')[0]}`, warnings: [] };
}

/**
 * Runs the check over the plans. Scratch keys are removed in a finally, also when interrupted
 * (the waits stop on ctx.signal, then InterruptedError is thrown after cleanup).
 */
export function runPlans(handle: RedisHandle, plans: QueuePlan[], settings: DedupCheckSettings): Promise<DedupReport> {
  return runPlansOn(redisDedupSite(handle), plans, settings);
}

/** runPlans on any backend's site (redis-site.ts, postgres-site.ts). */
export async function runPlansOn(site: DedupSite, plans: QueuePlan[], settings: DedupCheckSettings): Promise<DedupReport> {
  const results: DedupResult[] = [];
  const needsScratch = !settings.live && plans.some((p) => p.kind === 'check');
  const scratch = needsScratch ? await site.makeScratch() : '';
  const settleMs = settings.settleMs ?? 10_000;
  try {
    for (const plan of plans) {
      throwIfAborted(settings.signal);
      if (plan.kind !== 'check') {
        results.push({ queue: plan.queue, jobs: 0, attempts: 0, completions: 0, executions: 0, ok: plan.kind === 'skip', detail: plan.detail, warnings: [] });
        continue;
      }
      settings.onQueue?.(plan.queue);
      try {
        if (settings.live) {
          results.push(liveVerdict(plan, await observeLive(site, plan, settings.prefix, settings.signal)));
        } else {
          results.push(scratchVerdict(plan, await observeOnScratch(site, plan, { prefix: scratch, settleMs, signal: settings.signal })));
          // Per queue too, so a long run does not pile scratch keys up.
          await site.clearScratch(scratch);
        }
      } catch (error) {
        throwIfAborted(settings.signal);
        results.push(asResult(site, plan, error));
      }
      throwIfAborted(settings.signal);
    }
  } finally {
    if (needsScratch) await site.dropScratch(scratch);
  }
  return { schema: 'queuectl/dedup-check@1', live: settings.live, copies: settings.copies, results };
}
