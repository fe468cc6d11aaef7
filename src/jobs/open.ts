import type { Context } from '../context.js';
import { ExitCode, QueuectlError, UsageError } from '../errors.js';
import { forBackend, type PerBackend } from '../backend/select.js';
import { splitRef } from '../dlq/refs.js';
import { unknownQueueError } from '../util/queue-names.js';
import { didYouMean } from '../topology/problems.js';
import type { JobView } from '../inspect/read-job.js';
import type { JobSite } from './site.js';

const sites: PerBackend<(ctx: Context) => Promise<JobSite>> = {
  redis: async (ctx) => (await import('./redis-site.js')).redisJobSite(ctx),
  postgres: async (ctx) => (await import('./postgres-site.js')).postgresJobSite(ctx),
};

/** The site for the URL in force; `run` gets it and the site is closed after. */
export async function withJobSite<T>(ctx: Context, run: (site: JobSite) => Promise<T>): Promise<T> {
  const site = await forBackend(ctx, sites)(ctx);
  try {
    return await run(site);
  } finally {
    await site.close();
  }
}

/** The topology's declared and legacy queue names (none without a topology). */
async function declaredQueues(ctx: Context): Promise<string[]> {
  const topology = (await ctx.topologyIfAny())?.topology;
  return [...Object.keys(topology?.queues ?? {}), ...Object.keys(topology?.legacy ?? {})];
}

/** Declared, legacy and live queue names: what a queue argument may name (discovery walks the backend). */
export async function knownQueues(ctx: Context, site: JobSite): Promise<{ known: string[]; live: string[] }> {
  const live = await site.guard(() => site.inspect.discover());
  return { known: [...new Set([...(await declaredQueues(ctx)), ...live])], live };
}

/**
 * A queue name that names nothing: a did-you-mean when a known name is close; else, when nothing
 * is live here at all, the likelier mistake is the namespace (`--prefix bul`) and inspect's verdict says so.
 */
async function unknownQueue(site: JobSite, name: string, { known, live }: { known: string[]; live: string[] }): Promise<Error> {
  if (live.length === 0 && didYouMean(name, known) === undefined) {
    const verdict = await site.guard(() => site.inspect.emptyVerdict());
    if (verdict.error) return verdict.error;
  }
  return unknownQueueError({ name, known });
}

/**
 * Queue arguments checked against the known names: exit 2 with a did-you-mean for the first that
 * names nothing. Names the topology declares need no discovery (a SCAN of the keyspace on Redis).
 */
export async function checkQueueNames(ctx: Context, site: JobSite, names: string[]): Promise<string[]> {
  if (names.length === 0) throw new UsageError('name at least one queue', '`queuectl inspect --all` lists the queues');
  const declared = await declaredQueues(ctx);
  if (names.every((name) => declared.includes(name))) return [...new Set(names)];
  const known = await knownQueues(ctx, site);
  const unknown = names.find((name) => !known.known.includes(name));
  if (unknown !== undefined) throw await unknownQueue(site, unknown, known);
  return [...new Set(names)];
}

/**
 * `<queue>/<id>`, split at the longest known queue name (ids and queue names may hold "/"); a
 * declared queue is matched first, without discovery. A queue that names nothing is exit 2 with a
 * did-you-mean; a bare id points at `job find`.
 */
export async function resolveRef(ctx: Context, site: JobSite, ref: string): Promise<{ queue: string; id: string }> {
  if (!ref.includes('/')) throw notARef(ref);
  const declared = splitRef(ref, await declaredQueues(ctx));
  if (declared.queue !== undefined && declared.id !== '') return { queue: declared.queue, id: declared.id };
  const known = await knownQueues(ctx, site);
  const { queue, id } = splitRef(ref, known.known);
  if (queue !== undefined && id !== '') return { queue, id };
  const slash = ref.indexOf('/');
  if (slash === 0 || slash === ref.length - 1) throw notARef(ref);
  throw await unknownQueue(site, ref.slice(0, slash), known);
}

const notARef = (ref: string) => new UsageError(`"${ref}" is not a job reference <queue>/<id>`, `\`queuectl job find ${ref}\` says which queue holds a job id`);

/** A job reference that names no job: exit 2, like any bad reference. */
export function jobNotFound(queue: string, id: string): UsageError {
  return new UsageError(`job ${queue}/${id} not found`, `\`queuectl job find ${id}\` looks in every queue`);
}

/** BullMQ would refuse (or must not be asked): the job or queue is in a state that forbids it. Exit 1, nothing changed. */
export function refused(message: string, hint?: string): QueuectlError {
  return new QueuectlError(message, ExitCode.checkFailed, hint);
}

/**
 * Errors BullMQ raises when a job is not in the state an operation needs (its finishedErrors and
 * obliterate's refusals): a race with a worker after our own check. Anything else is the backend's.
 */
const BULLMQ_REFUSAL = /^(Missing key for job|Missing lock for job|Job .* (is not in the|is locked|belongs to|has pending|could not be removed)|Cannot obliterate)/;

/** Runs one BullMQ operation; its refusal becomes one line (exit 1) naming the target. */
export async function bullmq<T>(site: JobSite, what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (!(error instanceof QueuectlError) && BULLMQ_REFUSAL.test(message)) {
      throw refused(`BullMQ refused to ${what}: ${message.replace(/\.\s*\w+$/, '')}`, 'nothing was changed; check the state with `queuectl job show`');
    }
    return site.guard(() => Promise.reject(error));
  }
}

/**
 * The confirmation every destructive operation asks, naming what and where. Off a terminal it is
 * exit 2 without --yes (the prompt module's rule, shared with dlq and migrate).
 */
export async function confirmOn(ctx: Context, site: JobSite, action: string): Promise<boolean> {
  const yes = await ctx.prompt.confirm(`${action} on ${site.where}?`);
  if (!yes) ctx.out.note('nothing changed');
  return yes;
}

/** Each named job, read before anything changes (inspect's reader); a missing one is exit 2. */
export async function readJobs(site: JobSite, queue: string, ids: string[]): Promise<JobView[]> {
  const jobs: JobView[] = [];
  for (const id of ids) {
    const job = await site.guard(() => site.inspect.readJob(queue, id));
    if (!job) throw jobNotFound(queue, id);
    jobs.push(job);
  }
  return jobs;
}
