import type { Job } from 'bullmq';
import type { Context } from '../context.js';
import { ExitCode, UsageError } from '../errors.js';
import type { JobState, JobView } from '../inspect/read-job.js';
import { bullmq, confirmOn, jobNotFound, readJobs, refused, resolveRef, withJobSite } from './open.js';

/** One change to one job, through BullMQ's Job API: which states allow it, what it does. */
export interface JobOp {
  op: 'retry' | 'remove' | 'promote';
  /** States BullMQ performs this operation from; any other is refused before BullMQ is asked. */
  from: JobState[];
  /** Why other states are refused, for the message. */
  onlyFrom: string;
  /** What the job becomes, for the plan (`waiting`; `removed`). */
  to: string;
  /** Destructive operations ask first (--yes off a terminal). */
  confirm: boolean;
  apply(job: Job, view: JobView): Promise<unknown>;
}

export interface JobOpOptions {
  dryRun?: boolean;
}

/**
 * `job retry|remove|promote <queue>/<id>`: resolve the reference (a queue that names nothing is
 * exit 2 with a did-you-mean), read the job (missing: exit 2), refuse a state BullMQ would refuse
 * (exit 1, nothing changed), print the plan, confirm when destructive, apply, read it back.
 */
export async function runJobOp(spec: JobOp, opts: JobOpOptions, ctx: Context, args: string[]): Promise<number> {
  if (args.length !== 1) throw new UsageError(`job ${spec.op} takes one job reference`, `queuectl job ${spec.op} <queue>/<id>`);
  const dryRun = Boolean(opts.dryRun);
  return withJobSite(ctx, async (site) => {
    const { queue, id } = await resolveRef(ctx, site, args[0]);
    const [view] = await readJobs(site, queue, [id]);
    const ref = `${queue}/${id}`;
    if (!spec.from.includes(view.state)) {
      throw refused(`job ${ref} is ${view.state}: only ${spec.onlyFrom} jobs can be ${pastTense(spec.op)}`, view.state === 'active' ? 'a worker holds it now; wait until it finishes' : 'nothing was changed');
    }
    const doc = { schema: 'queuectl/job-op@1', op: spec.op, target: site.where, dryRun, ref, queue, id, name: view.name, before: view.state as string, after: view.state as string | null, changed: false };
    const plan = `${ref} (${view.name}): ${view.state} → ${spec.to}`;
    if (dryRun) {
      ctx.out.print(`would ${spec.op} ${plan}\ndry run: nothing changed`);
      ctx.out.printJson(doc);
      return 0;
    }
    if (spec.confirm && !(await confirmOn(ctx, site, `${capitalize(spec.op)} job ${plan}`))) {
      ctx.out.printJson(doc);
      return ExitCode.checkFailed; // declined: as answering "n" to migrate (README "Exit codes")
    }
    const q = site.queue(queue);
    const job = await site.guard(() => q.getJob(id));
    if (!job) throw jobNotFound(queue, id);
    await bullmq(site, `${spec.op} ${ref}`, () => spec.apply(job, view));
    const after = await site.guard(() => site.inspect.readJob(queue, id));
    doc.after = after?.state ?? null;
    doc.changed = true;
    ctx.out.print(`${pastTense(spec.op)} ${ref}: ${view.state} → ${after?.state ?? 'removed'}`);
    ctx.out.printJson(doc);
    return 0;
  });
}

const pastTense = (op: JobOp['op']) => (op === 'remove' ? 'removed' : `${op}d`.replace('yd', 'ied'));
const capitalize = (s: string) => s[0].toUpperCase() + s.slice(1);
