import type { Command } from './vendor/commander.js';
import type { QueuectlCommand } from './cli-help.js';
import type { Context } from './context.js';

type Runner = (opts: Record<string, unknown>, ctx: Context, args: string[]) => Promise<number>;
type Action = (load: () => Promise<{ run: Runner }>, backends?: 'redis' | 'both' | 'offline') => (this: Command, ...params: unknown[]) => Promise<void>;

const EXIT_QUEUE = '\nExit: 0 done (or nothing to do), 1 refused: BullMQ would not do it in this state (nothing changed), 2 bad flags, a queue that is neither declared, legacy nor live (with a did-you-mean), or no confirmation off a terminal (--yes), 3 Redis/PostgreSQL error.';
const EXIT_JOB = '\nExit: 0 done, 1 refused: the job is in a state BullMQ will not do this from (nothing changed), 2 bad reference, a job that does not exist, or no confirmation off a terminal (--yes), 3 Redis/PostgreSQL error.';
const TARGET = '\nThe confirmation names the server, the db or schema and the queue; --dry-run prints exactly what would change and changes nothing.';

/**
 * `queue pause|resume|promote|clean|obliterate` and `job find|show|retry|remove|promote|logs`:
 * the queue operations of Bull Board and Taskforce, on Redis and PostgreSQL, through BullMQ's own API.
 */
export function registerQueueOps(program: QueuectlCommand, action: Action): void {
  const queue = program.command('queue').description('queue operations: pause, resume, promote delayed jobs, clean finished jobs, obliterate')
    .examples(['queuectl queue pause eccb-ocr', 'queuectl queue clean eccb-ocr --state completed --older-than 7d --dry-run', 'queuectl queue obliterate eccb-smart-upload']);
  queue.command('pause').argument('<queue...>', 'queues to pause').description('workers take no new job from these queues (active ones finish)')
    .option('--dry-run', 'print what would change and change nothing')
    .examples(['queuectl queue pause eccb-ocr eccb-smart-upload-process', 'queuectl queue pause eccb-ocr --dry-run --json'])
    .addHelpText('after', `\nJSON: { schema: "queuectl/queue-op@1", op, target, dryRun, queues: [{ queue, wasPaused, paused, changed }] }${EXIT_QUEUE}`)
    .action(action(() => import('./commands/queue-pause.js'), 'both'));
  queue.command('resume').argument('<queue...>', 'queues to resume').description('workers take jobs from these queues again')
    .option('--dry-run', 'print what would change and change nothing')
    .examples(['queuectl queue resume eccb-ocr', 'queuectl queue resume eccb-ocr --json'])
    .addHelpText('after', `\nJSON: { schema: "queuectl/queue-op@1", op, target, dryRun, queues: [{ queue, wasPaused, paused, changed }] }${EXIT_QUEUE}`)
    .action(action(() => import('./commands/queue-resume.js'), 'both'));
  queue.command('promote').argument('<queue>', 'the queue').argument('[id...]', 'delayed jobs to promote').description('delayed jobs become waiting now: the named ones, or --all')
    .option('--all', 'every delayed job of the queue')
    .option('--dry-run', 'print what would change and change nothing')
    .examples(['queuectl queue promote eccb-ocr ocr-42 ocr-43', 'queuectl queue promote eccb-ocr --all --dry-run'])
    .addHelpText('after', `\nEvery named id is checked before any moves: a missing one is exit 2, one that is not delayed exit 1.\nJSON: { schema: "queuectl/queue-op@1", op: "promote", target, dryRun, queue, planned, promoted, ids }${EXIT_QUEUE}`)
    .action(action(() => import('./commands/queue-promote.js'), 'both'));
  queue.command('clean').argument('<queue>', 'the queue').description('remove finished jobs older than a duration (BullMQ\'s Queue.clean, in batches of 1000)')
    .option('--state <state>', 'completed or failed')
    .option('--older-than <dur>', 'only jobs that finished longer ago than this (30m, 7d; 0 for all)')
    .option('--limit <n>', 'remove at most this many (the oldest first)')
    .option('--dry-run', 'print how many and which would go, and change nothing')
    .examples(['queuectl queue clean eccb-ocr --state completed --older-than 7d --dry-run', 'queuectl queue clean eccb-ocr --state failed --older-than 30d --limit 10000 --yes'])
    .addHelpText('after', `${TARGET}\nJSON: { schema: "queuectl/queue-op@1", op: "clean", target, dryRun, queue, state, olderThan, cutoff, limit, planned, firstIds, removed, interrupted }${EXIT_QUEUE} 130 interrupted (rerun to continue).`)
    .action(action(() => import('./commands/queue-clean.js'), 'both'));
  queue.command('obliterate').argument('<queue>', 'the queue').description('delete a queue and every job in it (refused while a job is active)')
    .option('--confirm <queue>', 'the queue\'s name, typed ahead (off a terminal --yes does too)')
    .option('--dry-run', 'print what would be deleted and change nothing')
    .examples(['queuectl queue obliterate eccb-smart-upload --dry-run', 'queuectl queue obliterate eccb-smart-upload            # asks you to type the name', 'queuectl queue obliterate eccb-smart-upload --yes      # off a terminal'])
    .addHelpText('after', `${TARGET}\nJSON: { schema: "queuectl/queue-op@1", op: "obliterate", target, dryRun, queue, existed, counts, deleted, obliterated }${EXIT_QUEUE}`)
    .action(action(() => import('./commands/queue-obliterate.js'), 'both'));

  const job = program.command('job').description('one job: find it in every queue, show, retry, remove, promote, logs')
    .examples(['queuectl job find ocr-42', 'queuectl job show eccb-ocr/ocr-42', 'queuectl job retry eccb-ocr/ocr-42']);
  const ref = '<queue>/<id> (ids may contain "/")';
  job.command('find').argument('<id>', 'the job id').description('every queue (declared, legacy, live) that holds a job with this id, and its state')
    .examples(['queuectl job find ocr-42', 'queuectl job find 1234 --json'])
    .addHelpText('after', '\nJSON: { schema: "queuectl/job-find@1", target, id, searched, matches: [{ ref, queue, id, name, state, createdAt }] }\nExit: 0 found, 1 no queue holds it, 3 Redis/PostgreSQL error.')
    .action(action(() => import('./commands/job-find.js'), 'both'));
  job.command('show').argument('<ref>', ref).description('everything about one job: state, attempts, times, data, options, stack traces')
    .examples(['queuectl job show eccb-ocr/ocr-42', 'queuectl job show eccb-ocr/ocr-42 --json'])
    .addHelpText('after', `\nJSON: { schema: "queuectl/job@1", target, job } (job as in \`inspect job\`)${EXIT_JOB}`)
    .action(action(() => import('./commands/job-show.js'), 'both'));
  const op = (name: string, what: string, lines: string[], load: () => Promise<{ run: Runner }>) => job.command(name).argument('<ref>', ref).description(what)
    .option('--dry-run', 'print what would change and change nothing')
    .examples(lines)
    .addHelpText('after', `\nJSON: { schema: "queuectl/job-op@1", op, target, dryRun, ref, queue, id, name, before, after, changed }${EXIT_JOB}`)
    .action(action(load, 'both'));
  op('retry', 'run a failed or completed job again under its id, attempts reset', ['queuectl job retry eccb-ocr/ocr-42', 'queuectl job retry eccb-ocr/ocr-42 --dry-run'], () => import('./commands/job-retry.js'));
  op('remove', 'delete one job and its logs (asks first; refused while a worker holds it)', ['queuectl job remove eccb-ocr/ocr-42', 'queuectl job remove eccb-ocr/ocr-42 --yes --json'], () => import('./commands/job-remove.js'));
  op('promote', 'a delayed job becomes waiting now', ['queuectl job promote eccb-ocr/ocr-42'], () => import('./commands/job-promote.js'));
  job.command('logs').argument('<ref>', ref).description('the lines the job\'s processor logged (job.log), oldest first')
    .option('--tail <n>', 'only the last n lines')
    .examples(['queuectl job logs eccb-ocr/ocr-42', 'queuectl job logs eccb-ocr/ocr-42 --tail 20'])
    .addHelpText('after', `\nJSON: { schema: "queuectl/job-logs@1", target, ref, queue, id, count, logs }${EXIT_JOB}`)
    .action(action(() => import('./commands/job-logs.js'), 'both'));
}
