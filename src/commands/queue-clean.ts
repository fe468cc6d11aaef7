import type { Context } from '../context.js';
import { ExitCode, InterruptedError, UsageError } from '../errors.js';
import { positiveInt } from '../dlq/filters.js';
import { didYouMean } from '../topology/problems.js';
import { DURATION_HINT, formatDuration, parseDuration } from '../topology/durations.js';
import { bullmq, checkQueueNames, confirmOn, withJobSite } from '../jobs/open.js';
import { jobsPhrase } from '../jobs/plan.js';
import { CLEAN_STATES, type CleanState } from '../jobs/site.js';

export interface QueueCleanOptions {
  state?: string;
  olderThan?: string;
  limit?: string;
  dryRun?: boolean;
}

/** Ids a dry run lists (the count is always exact). */
const SHOWN = 20;
/** Jobs per BullMQ clean call: each call is one Lua script or one SQL function, kept short. */
const BATCH = 1000;

/**
 * `queuectl queue clean <queue> --state completed|failed --older-than <dur> [--limit n]`: removes
 * finished jobs that finished longer ago than --older-than, with BullMQ's own Queue.clean, in
 * batches of 1000 against one cutoff fixed at the start (so the run removes what the plan counted,
 * not jobs that finish meanwhile). The plan (count and the first ids) is what --dry-run prints.
 */
export async function run(opts: QueueCleanOptions, ctx: Context, args: string[] = []): Promise<number> {
  const state = parseState(opts.state);
  if (opts.olderThan === undefined) throw new UsageError('queue clean needs --older-than <dur>', `for example --older-than 7d (--older-than 0 removes every ${state} job)`);
  const age = parseDuration(opts.olderThan);
  if (age === undefined) throw new UsageError(`--older-than "${opts.olderThan}" is not a duration`, DURATION_HINT);
  const limit = positiveInt('--limit', opts.limit);
  if (args.length !== 1) throw new UsageError('queue clean takes one queue', 'queuectl queue clean <queue> --state completed --older-than 7d');
  const dryRun = Boolean(opts.dryRun);
  return withJobSite(ctx, async (site) => {
    const [queue] = await checkQueueNames(ctx, site, args);
    const cutoff = Date.now() - age;
    const plan = await site.cleanCandidates(queue, state, cutoff, limit, SHOWN);
    const doc = {
      schema: 'queuectl/queue-op@1', op: 'clean', target: site.where, dryRun, queue, state,
      olderThan: formatDuration(age), cutoff: new Date(cutoff).toISOString(), limit: limit ?? null,
      planned: plan.count, firstIds: plan.ids, removed: 0, interrupted: false,
    };
    const what = `${plan.count} ${state} job${plan.count === 1 ? '' : 's'} of ${queue} that finished before ${doc.cutoff} (older than ${doc.olderThan})`;
    const shown = plan.ids.length ? `\n  ${plan.ids.join(' ')}${plan.count > plan.ids.length ? ` … (${plan.count - plan.ids.length} more)` : ''}` : '';
    ctx.out.print(plan.count === 0 ? `nothing to remove: no ${state} job of ${queue} finished before ${doc.cutoff} (older than ${doc.olderThan})`
      : `${dryRun ? 'would remove' : 'to remove:'} ${what}${shown}${dryRun ? '\ndry run: nothing changed' : ''}`);
    if (dryRun || plan.count === 0) {
      ctx.out.printJson(doc);
      return 0;
    }
    if (!(await confirmOn(ctx, site, `Remove ${what}`))) {
      ctx.out.printJson(doc);
      return ExitCode.checkFailed; // declined: as answering "n" to migrate (README "Exit codes")
    }
    const q = site.queue(queue);
    for (;;) {
      if (ctx.signal.aborted) {
        doc.interrupted = true;
        ctx.out.printJson(doc);
        throw new InterruptedError(`interrupted after removing ${jobsPhrase(doc.removed)} of ${queue}`, 'rerun the same command to remove the rest');
      }
      const want = Math.min(BATCH, (limit ?? Infinity) - doc.removed);
      if (want <= 0) break;
      // The grace is recomputed per call so that every batch uses the same cutoff.
      const ids = await bullmq(site, `clean ${queue}`, () => q.clean(Math.max(0, Date.now() - cutoff), want, state));
      doc.removed += ids.length;
      if (ids.length < want) break;
    }
    ctx.out.print(`removed ${jobsPhrase(doc.removed)} ${state} from ${queue}`);
    ctx.out.printJson(doc);
    return 0;
  });
}

function parseState(value: string | undefined): CleanState {
  if (value === undefined) throw new UsageError('queue clean needs --state', `one of ${CLEAN_STATES.join(', ')}`);
  if ((CLEAN_STATES as readonly string[]).includes(value)) return value as CleanState;
  const guess = didYouMean(value, [...CLEAN_STATES]);
  throw new UsageError(`--state "${value}" cannot be cleaned`, guess ? `did you mean "${guess}"?` : `queue clean removes finished jobs: --state ${CLEAN_STATES.join(' or ')} (remove one waiting or delayed job with \`queuectl job remove\`)`);
}
