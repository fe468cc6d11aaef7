import { Argument, Command, Option } from './vendor/commander.js';
import { helpCommandFor, helpLayout, QueuectlCommand, withDefault } from './cli-help.js';
import type { Context, GlobalOptions } from './context.js';
import { UsageError } from './errors.js';
import { registerQueueOps } from './cli-queue-ops.js';
import type { OutputFormat } from './ui/layout.js';

/**
 * Every command and option is declared here, once. Actions import their command module only when
 * they run, so `queuectl --help` and `--version` never load BullMQ or ioredis.
 */
/** Async so that runtime.ts (and what it loads) is only imported when a command runs, never for --help. */
export type ContextFactory = (globals: GlobalOptions) => Promise<Context>;

type Runner = (opts: Record<string, unknown>, ctx: Context, args: string[]) => Promise<number>;

export function buildProgram(version: string, makeContext: ContextFactory, onExitCode: (code: number) => void): Command {
  const program = new QueuectlCommand('queuectl')
    .description('Run BullMQ job queues on Redis (and, for a first set of commands, PostgreSQL) safely: topology as code, inspection, drift checks, migrations, dead letters.')
    .version(version, '-V, --version')
    .option('-c, --config <file>', 'topology file, - for stdin (default: $QUEUECTL_CONFIG, else queuectl.yaml|yml|json|config.{ts,mjs,js} here or in a parent up to the repository root)')
    .option('--url <url>', 'where the queues live: redis://[user[:pass]@]host:port[/db], rediss://…, redis+cluster://host:port[,host:port…], or postgres://[user[:pass]@]host[:port]/db[?sslmode=…] (default: $QUEUECTL_URL, else $REDIS_URL, else redis://127.0.0.1:6379); a password here is in your shell history and briefly in ps: prefer --password-file or REDIS_URL/QUEUECTL_URL')
    .option('--redis <url>', 'alias of --url')
    .option('--schema <name>', "BullMQ's schema on PostgreSQL (default: the topology's schema, else bullmq)")
    .option('--source-url <url>', 'the PostgreSQL database of a legacy table source (default: the env var its urlEnv names, else $DATABASE_URL)')
    .option('--password-file <file>', 'read the Redis or PostgreSQL password from a file')
    .option('--tls-ca <file>', 'CA bundle for rediss:// or PostgreSQL TLS')
    .option('--tls-cert <file>', 'client certificate (PEM) for a server that asks for one (tls-auth-clients)')
    .option('--tls-key <file>', 'private key (PEM) of --tls-cert')
    .option('--prefix <p>', "BullMQ key prefix on Redis (default: the topology's prefix, else bull)")
    .option('--json', 'one JSON document on stdout, nothing else there (same as -o json)')
    .addOption(new Option('-o, --output <format>', 'human: fits the terminal (default); wide: every column, full width; plain: tab-separated, no colour; json: as --json').choices(['human', 'wide', 'plain', 'json']))
    .option('-q, --quiet', 'no notes or progress on stderr; warnings and errors still')
    .option('-v, --verbose', 'also say what is used (topology file, server, database) and more detail')
    .option('--no-color', 'plain output (also when NO_COLOR is set or stdout is not a terminal)')
    .option('-y, --yes', 'answer yes to confirmations (required off a terminal for destructive commands)')
    .addOption(withDefault(new Option('--timeout <ms>', 'connect and per-command timeout in ms'), '5000'))
    .showSuggestionAfterError(true)
    // Set before any subcommand exists: subcommands copy these settings when created.
    .exitOverride()
    .configureOutput({ outputError: () => undefined }) // main.ts rewords errors as one line
    .configureHelp(helpLayout())
    .examples([
      'queuectl topology validate -c queuectl.yaml',
      'queuectl inspect --redis redis://127.0.0.1:6379',
      'queuectl topology check --json            # the CI drift gate: exit 0 in sync, 1 drift',
      'queuectl migrate --from eccb-smart-upload --dry-run',
    ])
    .addHelpText('after', `
Exit codes: 0 ok, 1 check found problems, 2 usage or input error, 3 Redis or PostgreSQL error, 130 interrupted.

Trust: like a Makefile, a queuectl.config.{ts,mjs,js} found (here, or up to the repository root) is executed by most
commands. queuectl refuses one not owned by you or writable by group/others; YAML/JSON is only read.`);

  /**
   * `backends` says where the command runs: 'redis' (the default, until its PostgreSQL version
   * exists), 'both', or 'offline' (never connects). A Redis-only command given a PostgreSQL URL
   * stops here with one line (exit 2), before loading anything or dialling Redis.
   */
  const action = (load: () => Promise<{ run: Runner }>, backends: 'redis' | 'both' | 'offline' = 'redis') =>
    async function (this: Command, ...params: unknown[]) {
      const command = params[params.length - 1] as Command;
      const opts = command.opts();
      const args = command.args;
      const globals = readGlobals(command.optsWithGlobals());
      const ctx = await makeContext(globals);
      try {
        if (backends === 'redis' && ctx.target().kind === 'postgres') {
          throw new UsageError(
            `\`${commandPath(command)}\` does not support PostgreSQL yet (${ctx.target().redacted})`,
            'see README "PostgreSQL" for what runs there today; use a redis:// URL for this command',
          );
        }
        const { run } = await load();
        onExitCode(await run(opts, ctx, args));
      } catch (error) {
        throw await asRedisError(error, globals, ctx);
      } finally {
        await ctx.close();
      }
    };

  const topology = program.command('topology').description('validate, check, plan, apply and draw the declared queue topology')
    .examples([
      'queuectl topology validate                # schema and lint rules, offline',
      'queuectl topology check --json            # declared versus live: the CI drift gate',
      'queuectl topology plan                    # what apply would change',
      'queuectl topology graph > topology.mmd',
    ]);
  topology
    .command('validate')
    .description('static check of the topology file: schema and lint rules')
    .option('--live', 'also read each legacy table source\'s catalog and print the column and status mapping chosen (guessed where the file is silent)')
    .examples([
      'queuectl topology validate -c examples/eccb-smart-upload.yaml',
      'queuectl topology validate --json',
      'queuectl topology validate --live     # table sources: the mapping chosen from the live table',
    ])
    .addHelpText('after', '\nExit: 0 clean (warnings allowed), 1 lint errors, 2 unreadable or invalid file, or a table column or status --live cannot settle (ambiguous or missing), 3 database error.')
    .action(action(() => import('./commands/topology-validate.js'), 'offline'));
  topology
    .command('check')
    .description('the CI drift gate: declared topology versus live Redis or PostgreSQL')
    .option('--deep', 'read every job (in batches) to find misrouted job names, not only a sample')
    .addOption(withDefault(new Option('--sample <n>', 'jobs read from each end of each state when not --deep'), '50'))
    .examples([
      'queuectl topology check -c queuectl.yaml --redis "$REDIS_URL"',
      'queuectl topology check --json > drift.json || exit 1',
    ])
    .addHelpText('after', '\nExit: 0 in sync, 1 drift, 2 bad topology file or a --prefix under which no queue exists while others do, 3 Redis/PostgreSQL error (on PostgreSQL also a missing or other-version BullMQ schema).\nWhen the prefix in use holds no queue at all, a warning names the prefixes that do.')
    .action(action(() => import('./commands/topology-check.js'), 'both'));
  topology
    .command('plan')
    .description('what topology apply would change: schedulers, global concurrency and rate limit, pause state (terraform style)')
    .option('--prune', 'also remove the schedulers of live queues the file does not declare')
    .option('--target <queue>', 'only this queue')
    .examples([
      'queuectl topology plan -c queuectl.yaml --url "$REDIS_URL"',
      'queuectl topology plan --json > plan.json',
    ])
    .addHelpText('after', '\nExit: 0 no changes, 1 changes to make, 2 bad topology file or --target, 3 Redis/PostgreSQL error.')
    .action(action(() => import('./commands/topology-plan.js'), 'both'));
  topology
    .command('apply')
    .description("make the live queues match the file with BullMQ's own calls: upsert/remove job schedulers (old-style repeatable jobs too), set concurrency, rate limit, pause state")
    .option('--dry-run', 'print the plan and change nothing (the same as topology plan)')
    .option('--prune', 'also remove the schedulers of live queues the file does not declare')
    .option('--target <queue>', 'only this queue')
    .examples([
      'queuectl topology apply --dry-run',
      'queuectl topology apply --yes --json',
      'queuectl topology apply --target reports',
    ])
    .addHelpText('after', '\nAsks once, naming the server and prefix or schema (--yes off a terminal). A second apply plans nothing.\nExit: 0 applied or nothing to do (--dry-run: 1 when there are changes), 2 bad topology file, --target or no --yes off a terminal, 3 Redis/PostgreSQL error, 130 interrupted (rerun to finish).')
    .action(action(() => import('./commands/topology-apply.js'), 'both'));
  topology
    .command('graph')
    .description('draw job names → queues → workers → dead-letter path')
    .addOption(withDefault(new Option('--format <format>', 'output format').choices(['mermaid', 'dot']), 'mermaid'))
    .examples([
      'queuectl topology graph > topology.mmd',
      'queuectl topology graph --format dot | dot -Tsvg > topology.svg',
    ])
    .action(action(() => import('./commands/topology-graph.js'), 'offline'));

  program
    .command('inspect')
    .description('queues, counts per state, oldest waiting job, workers and Redis health; `inspect job <queue> <id>` shows one job')
    .argument('[queue...]', 'queues to show (default: declared and legacy queues, plus discovered ones with --all)')
    .option('--all', 'include undeclared queues found by SCAN')
    .option('--by-status', 'legacy table sources: rows per status value too')
    .option('--watch [seconds]', 'redraw in place every few seconds with rates of change (default: 2)')
    .examples([
      'queuectl inspect',
      'queuectl inspect --all --json',
      'queuectl inspect eccb-smart-upload-process --watch 5',
      'queuectl inspect job eccb-smart-upload-process process-42',
      'queuectl inspect worker-jobs --by-status      # a legacy table source: per family, then per status',
    ])
    .addHelpText('after', '\nExit: 0 shown, 2 a queue that is neither declared, legacy nor live, or a --prefix under which no queue exists while others do (each with a did-you-mean), 3 Redis error.')
    .action(action(() => import('./commands/inspect.js'), 'both'));

  program
    .command('doctor')
    .description('connectivity, latency, Redis version, eviction policy, persistence, memory, cluster slots, BullMQ versions; on PostgreSQL: server version, BullMQ schema version, connection headroom, oldest transaction')
    .option('--migrate', "PostgreSQL: first run BullMQ's own migrations (runMigrations of the BullMQ queuectl ships), after confirmation (--yes off a terminal)")
    .examples([
      'queuectl doctor --redis redis://127.0.0.1:6379',
      'queuectl doctor --json',
      'queuectl doctor --url postgres://app@db:5432/app --schema bullmq --password-file pw',
      'queuectl doctor --migrate --url postgres://app@db:5432/app --password-file pw',
    ])
    .addHelpText('after', '\nExit: 0 healthy (warnings allowed), 1 a check failed (a missing or other-version BullMQ schema too), 2 --migrate declined off a terminal, 3 unreachable or a migration failed (rolled back).')
    .action(action(() => import('./commands/doctor.js'), 'both'));

  program
    .command('dedup-check')
    .description('prove that duplicate enqueues of one session make one job and one successful execution (on a scratch prefix)')
    .option('--queue <name...>', 'queues to check, repeatable or comma-separated (default: every declared queue)')
    .addOption(withDefault(new Option('--copies <n>', 'concurrent copies of one synthetic session to enqueue'), '5'))
    .option('--live', 'check the real queues instead: add a canary job delayed 10 years, count it, remove it (asks first; --yes off a terminal)')
    .examples([
      'queuectl dedup-check',
      'queuectl dedup-check --queue eccb-ocr,eccb-smart-upload-process --copies 10 --json',
      'queuectl dedup-check --live --yes --redis "$STAGING_REDIS_URL"',
    ])
    .addHelpText('after', `
How it works: for each queue with a jobId template, n producers on separate connections enqueue one
synthetic session (queuectl-dedup-<random>) at once, with the queue's job options, on a scratch
prefix that is deleted afterwards (on PostgreSQL: a scratch schema made by BullMQ's migrations and
dropped afterwards). Fields that vary per request (requestId, traceId, timestamp,
createdAt…, or described "per request" in the payload schema) differ between the copies, as they
would between real producers. A canary worker fails the first attempt and lets the retry succeed.
Passes when: 1 job, exactly 1 completion (attempts shows the failed first run too: 2 is normal),
n-1 copies reported duplicated. JSON: attempts, completions per queue (executions = attempts, deprecated).

Exit: 0 every queue passes, 1 a queue fails, 2 bad topology or flags, 3 Redis/PostgreSQL error, 130 interrupted.`)
    .action(action(() => import('./commands/dedup-check.js'), 'both'));

  const migrate = program
    .command('migrate')
    .description('move jobs out of a legacy queue into the queue that owns each job name: planned, atomic per batch, resumable, verified')
    .option('--from <queue>', 'the queue to empty: a legacy queue, a declared one (then only jobs it does not own move), or a legacy table source (legacy.<name>.table)')
    .option('--to <queue>', "send every job to this declared queue (default: the legacy entry's `to`, else each name's owner)")
    .option('--to-url <url>', 'move to another server or backend (redis://…, redis+cluster://…, postgres://…): each job kept whole, exactly once, resumable')
    .option('--states <list>', 'states to move, comma-separated: wait,prioritized,delayed,failed (default: wait,prioritized,delayed); from a table source: ready,scheduled,failed,dead (default: ready,scheduled)')
    .option('--mark <status>', 'table source only: keep moved rows in the table with this status (no claim query reads it) instead of deleting them')
    .option('--names <list>', 'only jobs with these names, comma-separated')
    .option('--dry-run', 'print the plan (what moves where, what stays and why) and change nothing')
    .option('--batch <n>', 'jobs per atomic step (default: 250 on Redis and to another server, each step under ~10 ms of Redis time; 1000 within PostgreSQL; 500 rows from a table source)')
    .option('--rate <jobs/s>', 'move at most this many jobs per second')
    .option('--follow', 'keep moving new arrivals until the source has had nothing to move for --quiet-for')
    .option('--quiet-for <dur>', 'with --follow or --strategy drain: how long the source must stay quiet (default: 10s)')
    .addOption(withDefault(new Option('--strategy <strategy>', 'move the jobs, or let old workers drain the queue and then delete it').choices(['move', 'drain']), 'move'))
    .option('--confirm <name>', 'with --strategy drain: the queue name, confirming key deletion off a terminal')
    .option('--include-failed', 'with --strategy drain: also delete the failed jobs left behind (by default the delete refuses while any remain)')
    .examples([
      'queuectl migrate --from eccb-smart-upload --dry-run',
      'queuectl migrate --from eccb-smart-upload --yes --json',
      'queuectl migrate --from eccb-smart-upload --follow --quiet-for 30s --rate 5000',
      'queuectl migrate --from eccb-smart-upload --strategy drain --confirm eccb-smart-upload',
      'queuectl migrate --from worker-jobs --dry-run            # a table source: rows into per-family queues',
      'queuectl migrate --from worker-jobs --follow --quiet-for 30s --yes',
      'queuectl migrate --from eccb-smart-upload --to-url postgres://app@db:5432/app --dry-run',
      'queuectl migrate status',
    ])
    .addHelpText('after', `
Each batch is one Lua script: a job is either still in the source or fully in its destination
(same id, data, options, attempts, timestamps, priority, due time, logs, deduplication key), so a
crash, a lost connection or Ctrl-C never loses or duplicates a job; rerun the same command to finish.
Active jobs, flows, scheduler jobs and ids the destination already holds stay and are reported.
From a table source, each batch of rows is locked FOR UPDATE SKIP LOCKED (the application's own
workers keep running), written to an outbox in the source's "queuectl" schema and deleted in one
transaction, then written to BullMQ with a per-run mark: exactly once after any crash; rerun to finish.

Exit: 0 moved and verified, 1 jobs left unmoved or counts that do not balance, 2 bad flags or
topology, 3 Redis or PostgreSQL error, 130 interrupted (rerun to continue).`)
    .action(action(() => import('./commands/migrate.js'), 'both'));
  migrate
    .command('status')
    .description('migration runs recorded in Redis or PostgreSQL: progress, and whether anything is left to finish')
    .examples([
      'queuectl migrate status',
      'queuectl migrate status --json            # runs, states covered, moved and left',
      'queuectl migrate status --url postgres://app@db:5432/app --password-file pw',
    ])
    .action(action(() => import('./commands/migrate.js').then((m) => ({ run: m.runStatus })), 'both'));

  const dlq = program
    .command('dlq')
    .description("dead letters (each queue's failed set, or its dead-letter queue): list, show, retry, discard, stats; alone on a terminal: a picker")
    .examples([
      'queuectl dlq list --queue eccb-ocr --since 1h --match-reason "timeout"',
      'queuectl dlq show eccb-ocr/ocr-42',
      'queuectl dlq retry --all --name ocr.process --dry-run',
      'queuectl dlq retry --all --canary 5 --rate 200 --yes',
      'queuectl dlq discard eccb-ocr/ocr-42 --reason "corrupt upload, customer told"',
      'queuectl dlq stats --json',
    ])
    .addHelpText('after', `
A reference is <queue>/<id> (a dead-letter queue item: <dead-letter queue>/<id>, or the
<queue>/<id> of the job it carries), or a bare id when only one dead letter has it.`)
    .action(action(() => import('./commands/dlq.js'), 'both'));
  // Repeatable, not variadic: a variadic option would swallow the references that follow it.
  const collect = (value: string, previous: string[] = []) => [...previous, value];
  // One meaning per flag name: --reason is the text discard records; the regex filter is --match-reason everywhere.
  const dlqFilters = <T extends Command>(command: T): T => command
    .option('--queue <name>', 'only these queues (declared or dead-letter queues), repeatable or comma-separated', collect)
    .option('--name <name>', 'only jobs with these names, repeatable or comma-separated', collect)
    .option('--match-reason <regex>', 'only failure reasons matching this regular expression')
    .option('--since <dur>', 'only dead letters that failed within this long (5m, 1h, 7d)')
    .option('--older-than <dur>', 'only dead letters that failed longer ago than this')
    .option('--org <value>', 'only jobs whose payload orgId (or organizationId) is this')
    .option('--tenant <field=value>', 'legacy table sources: only rows whose data field (or column) is this, e.g. companyId=c_1, userId=u_42')
    .option('--limit <n>', 'at most this many (the newest)');
  /** `--reason` on list/retry once was the regex filter: now a usage error that names --match-reason, never a silent other meaning. */
  const reasonIsNotAFilter = () => new Option('--reason <text>').hideHelp().argParser((): string => {
    throw new UsageError('--reason is the text `dlq discard` records; the failure-reason filter is --match-reason', 'rerun with --match-reason "<regex>"');
  });
  dlqFilters(dlq.command('list').description('dead letters across declared queues, newest first (read-only)'))
    .examples([
      'queuectl dlq list',
      'queuectl dlq list --queue eccb-ocr --since 1h --match-reason "timeout"',
      'queuectl dlq list --all --json | jq -r \'.items[].ref\'',
    ])
    .addOption(reasonIsNotAFilter())
    .option('--all', 'no --limit: list every match (--limit is 50 by default)')
    .addHelpText('after', '\nJSON: { schema: "queuectl/dlq-list@1", items: [{ ref, queue, id, name, failedReason, attemptsMade, failedAt }] }')
    .action(action(() => import('./commands/dlq-list.js'), 'both'));
  dlq.command('show').argument('<ref>', '<queue>/<id> or a bare id').description('everything about one dead letter: reason, stack trace, payload, options')
    .examples([
      'queuectl dlq show eccb-ocr/ocr-42',
      'queuectl dlq show ocr-42 --json           # a bare id when only one dead letter has it',
    ])
    .action(action(() => import('./commands/dlq-show.js'), 'both'));
  dlqFilters(dlq.command('retry').argument('[ref...]', 'dead letters to retry').description('put dead letters back in their own queue under their original id, attempts reset: planned, confirmed, atomic per batch, never twice'))
    .examples([
      'queuectl dlq retry eccb-ocr/ocr-42',
      'queuectl dlq retry --all --name ocr.process --dry-run',
      'queuectl dlq retry --all --match-reason "ECONNRESET" --canary 5 --rate 200 --yes',
    ])
    .addOption(reasonIsNotAFilter())
    .option('--all', 'retry every dead letter the filters match')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--rate <jobs/s>', 'retry at most this many per second')
    .option('--batch <n>', 'items per atomic step (default: 250)')
    .option('--canary <n>', 'retry the n oldest first, wait for the workers to finish them, stop if any fails again')
    .option('--canary-timeout <dur>', 'how long to wait for the canaries (default: 2m)')
    .addHelpText('after', '\nExit: 0 done, 1 items refused or left (undeclared queue, id taken, canary failed), 2 bad reference or flags, 3 Redis error, 130 interrupted (rerun to continue).')
    .action(action(() => import('./commands/dlq-retry.js'), 'both'));
  dlqFilters(dlq.command('discard').argument('[ref...]', 'dead letters to discard').description('remove failed jobs, or mark dead-letter queue items discarded; the reason is recorded'))
    .requiredOption('--reason <text>', 'why (recorded with each item: Redis <prefix>:queuectl:dlq:discarded, PostgreSQL the queue\'s events); filter by failure reason with --match-reason')
    .addOption(new Option('--match <regex>', 'deprecated: --match-reason').hideHelp())
    .examples([
      'queuectl dlq discard eccb-ocr/ocr-42 --reason "corrupt upload, customer told"',
      'queuectl dlq discard --all --queue eccb-ocr --match-reason "^invalid PDF" --reason "bad input" --dry-run',
    ])
    .option('--all', 'discard every dead letter the filters match')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--rate <jobs/s>', 'discard at most this many per second')
    .option('--batch <n>', 'items per atomic step (default: 250)')
    .action(action(() => import('./commands/dlq-discard.js'), 'both'));
  dlq.command('stats').description('per queue: dead letters, the oldest, top 5 failure reasons (sampled from the newest 10k)')
    .option('--queue <name>', 'only these queues, repeatable or comma-separated', collect)
    .examples([
      'queuectl dlq stats',
      'queuectl dlq stats --queue eccb-ocr --json',
    ])
    .action(action(() => import('./commands/dlq-stats.js'), 'both'));

  registerQueueOps(program, action);

  program
    .command('stuck')
    .description('legacy table sources: rows claimed (active) and locked longer than the lock timeout; --release makes them ready again')
    .option('--source <name>', 'only these table sources, repeatable or comma-separated (default: every one)', collect)
    .option('--older-than <dur>', "locked longer than this (default: each source's lockTimeout, else 10m)")
    .option('--release', 'make the listed rows ready again, lock cleared, attempts + 1 (asks first; --yes off a terminal)')
    .option('--dry-run', 'with --release: print what would be released and change nothing')
    .addOption(withDefault(new Option('--limit <n>', 'at most this many rows per source, oldest lock first'), '1000'))
    .examples([
      'queuectl stuck',
      'queuectl stuck --source worker-jobs --older-than 30m --json',
      'queuectl stuck --source worker-jobs --release --dry-run',
      'queuectl stuck --source worker-jobs --release --yes',
    ])
    .addHelpText('after', `
A release re-checks each row in the same statement and skips rows a worker holds locked: a row that
finished or was recovered meanwhile is left as it is. Rerunning is safe.
Exit: 0 listed or released, 1 a release declined at the prompt, 2 bad flags, unknown source or no --yes off a terminal, 3 database error.`)
    .action(action(() => import('./commands/stuck.js'), 'offline'));

  program
    .command('demo')
    .description('a guided tour on a throwaway redis-server or PostgreSQL: the ECCB legacy queue split with inspect, check, migrate, dlq and dedup-check')
    .addOption(withDefault(new Option('--jobs <n>', 'jobs in the legacy queue at the start'), '5000'))
    .addOption(new Option('--backend <kind>', 'where the demo runs when no --url is given: a throwaway redis-server or PostgreSQL').choices(['redis', 'postgres']))
    .option('--from-table', 'instead: a hand-rolled WorkerJob job table (six families, SKIP LOCKED workers) split into per-family BullMQ queues on PostgreSQL')
    .examples([
      'npm run demo',
      'queuectl demo --yes',
      'queuectl demo --redis redis://127.0.0.1:6380',
      'queuectl demo --backend postgres --yes',
      'queuectl demo --url postgres://me@127.0.0.1/scratch',
      'queuectl demo --from-table --yes',
    ])
    .addHelpText('after', `
Starts redis-server from the PATH on a free loopback port (no persistence, deleted at the end), or
uses --redis under a scratch prefix queuectl-demo-<random> whose keys it deletes afterwards. With
--backend postgres: a throwaway PostgreSQL (initdb + pg_ctl on a free loopback port, in a temp
folder removed at the end; as root, run as the postgres user), or with --url postgres://… a scratch
schema queuectl_demo_<random> dropped afterwards; BullMQ's own migrations make the schema. Each
step runs the real queuectl and checks its exit code; on a terminal it waits for Enter between
steps (--yes runs straight through).

Exit: 0 every step did what it should, 1 a step did not (named), 2 no redis-server/PostgreSQL and no --url, 3 server error, 130 interrupted.`)
    .action(action(() => import('./commands/demo.js'), 'both'));

  program
    .command('completion')
    .description('print a bash, zsh or fish completion script for queuectl (queue names come from the topology)')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']))
    .examples([
      'source <(queuectl completion bash)                       # bash, this shell; add it to ~/.bashrc to keep it',
      'queuectl completion zsh > "${fpath[1]}/_queuectl"        # zsh, then start a new shell',
      'queuectl completion fish > ~/.config/fish/completions/queuectl.fish',
    ])
    .action(action(() => import('./commands/completion.js'), 'offline'));
  // Called by the completion scripts for queue names (migrate --from, inspect, --queue).
  program.command('__complete-queues', { hidden: true })
    .action(action(() => import('./commands/completion.js').then((m) => ({ run: m.runQueues })), 'offline'));

  pointErrorsAtOwnHelp(program);
  return program;
}

/**
 * A usage error commander finds (unknown option, missing argument) names the help of the command it
 * came from, `queuectl migrate --help`, not the root's: main.ts reads `helpCommand`.
 */
function pointErrorsAtOwnHelp(command: Command): void {
  command.exitOverride((error) => {
    throw Object.assign(error, { helpCommand: helpCommandFor(command) });
  });
  for (const sub of command.commands) pointErrorsAtOwnHelp(sub);
}

/** setTimeout's ceiling: a larger delay fires at once (with a Node warning), so every command would "time out". */
export const MAX_TIMEOUT_MS = 2_147_483_647;

function readGlobals(raw: Record<string, unknown>): GlobalOptions {
  const timeout = Number(raw.timeout);
  if (!Number.isInteger(timeout) || timeout <= 0) {
    throw new UsageError(`--timeout must be a positive number of milliseconds, got "${String(raw.timeout)}"`, 'for example --timeout 5000');
  }
  if (timeout > MAX_TIMEOUT_MS) {
    throw new UsageError(`--timeout ${timeout} is above the largest timer Node can set (${MAX_TIMEOUT_MS} ms, about 24 days)`, 'use a smaller --timeout, for example 60000');
  }
  return {
    config: notBlank(raw.config, '-c/--config', 'name the topology file, or leave -c out to use QUEUECTL_CONFIG or ./queuectl.yaml'),
    redis: chosenUrl(raw),
    schema: notBlank(raw.schema, '--schema', 'name the schema, or leave --schema out to use the topology\'s (else bullmq)'),
    sourceUrl: notBlank(raw.sourceUrl, '--source-url', 'give the table source\'s postgres:// URL, or leave --source-url out to use its urlEnv (else DATABASE_URL)'),
    passwordFile: notBlank(raw.passwordFile, '--password-file', 'name the file that holds the Redis password'),
    tlsCa: notBlank(raw.tlsCa, '--tls-ca', 'name the CA bundle file'),
    tlsCert: notBlank(raw.tlsCert, '--tls-cert', 'name the client certificate file'),
    tlsKey: notBlank(raw.tlsKey, '--tls-key', 'name the private key file'),
    prefix: notBlank(raw.prefix, '--prefix', "give the BullMQ key prefix, or leave --prefix out to use the topology's (else bull)"),
    ...outputFormat(raw),
    quiet: Boolean(raw.quiet),
    verbose: Boolean(raw.verbose),
    color: raw.color !== false,
    yes: Boolean(raw.yes),
    timeout,
  };
}

/** --json and -o/--output are one setting; both given must agree. --quiet and --verbose exclude each other. */
function outputFormat(raw: Record<string, unknown>): { json: boolean; output: OutputFormat } {
  const output = raw.output as OutputFormat | undefined;
  if (raw.json && output !== undefined && output !== 'json') {
    throw new UsageError(`--json and -o ${output} ask for different output`, 'give one of them (--json is -o json)');
  }
  if (raw.quiet && raw.verbose) throw new UsageError('--quiet and --verbose contradict each other', 'give one of them');
  const format = raw.json ? 'json' : output ?? 'human';
  return { json: format === 'json', output: format };
}

/**
 * A flag given with an empty value is a mistake, not a request for the default: `--redis "$URL"`
 * with an unset CI variable would otherwise talk to another server.
 */
function notBlank(value: unknown, flag: string, hint: string): string | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  if (text.trim() === '') throw new UsageError(`${flag} was given an empty value`, hint);
  return text;
}

/** --url and its alias --redis; both given with different values is a mistake worth naming. */
function chosenUrl(raw: Record<string, unknown>): string | undefined {
  const url = notBlank(raw.url, '--url', 'give a URL such as redis://host:6379 or postgres://host/db, or leave --url out to use QUEUECTL_URL or REDIS_URL');
  const redis = notBlank(raw.redis, '--redis', 'give a URL such as redis://host:6379, or leave --redis out to use REDIS_URL');
  if (url !== undefined && redis !== undefined && url !== redis) {
    throw new UsageError('--url and --redis name different servers', '--redis is an alias of --url: give one of them');
  }
  return url ?? redis;
}

/** `dlq retry`, `topology check`: the command as the user typed it, for messages. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c && c.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** An ioredis/Redis error that escaped a command exits 3 as one line naming the redacted URL, not as "unexpected error". */
async function asRedisError(error: unknown, globals: GlobalOptions, ctx: Context): Promise<unknown> {
  const { isRedisFailure, toRedisError } = await import('./redis/errors.js');
  if (!isRedisFailure(error)) return error;
  const { redactUrl, parseRedisUrl, DEFAULT_REDIS_URL } = await import('./redis/url.js');
  let url = globals.redis || process.env.QUEUECTL_URL || process.env.REDIS_URL || DEFAULT_REDIS_URL;
  try {
    url = ctx.target().url;
  } catch {
    // the URL's own problem was reported already
  }
  let password: string | undefined;
  try {
    password = parseRedisUrl(url).password; // scrubbed from the message too
  } catch {
    // a malformed URL never got this far
  }
  return toRedisError(error, { redacted: redactUrl(url), password, timeoutMs: globals.timeout });
}
