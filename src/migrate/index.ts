/**
 * queuectl migrate — design.
 *
 * 1. PLAN (plan.ts pure counting, scan.ts reads). The source is read state by state in windows,
 *    oldest first, each classified in one round trip by move-batch.lua in its dry mode (writes
 *    nothing), so the plan and the move decide with the same code. Only counts are kept — per
 *    destination and state, per stay reason and name, plus five example ids — so memory is flat
 *    at any queue size. Names route to the declared queue owning them (routing.ts); `--to` or the
 *    legacy entry's `to` overrides; when the source is itself declared, only the names it does not
 *    own move.
 *
 * 2. APPLY (apply.ts + lua/move-batch.lua). One script call moves up to --batch jobs of one state,
 *    oldest first, and re-checks every rule under atomicity: it refuses locked, flow, scheduler,
 *    unrouted and colliding jobs (and a deduplication key the destination already uses), after
 *    checking every key it will touch before its first write (a wrong type refuses the whole call:
 *    Redis does not undo a script that fails midway). Ids: a numeric id the destination holds
 *    moves under its next id, a custom one held by the same job is a removed duplicate, and the
 *    destination's id counter stays 1,000,000 ahead of the source's (see move-batch.lua). RENAMEs
 *    the hash, its :logs and its de:/dn: keys (TTL kept), takes the job out of the source (a whole
 *    tail in one LTRIM; otherwise LSET tombstones + one LREM from the tail, never LREM per job),
 *    adds it to the same state of the destination exactly as BullMQ 6.7.0 would (wait: LPUSH
 *    oldest first; prioritized: priority·2^32 + INCR pc; delayed: same score, marker "1" at the
 *    next due time; failed: same score), writes marker "0" unless paused or at max concurrency,
 *    `added`/`waiting`/`delayed` events (trimmed to meta opts.maxLenEvents) and `removed` at the
 *    source, raises the destination `id` past numeric ids, and bumps the journal counters. Jobs
 *    that stay become the window's boundary, so the next window starts past them (LPOS/ZRANK).
 *
 * 3. JOURNAL (journal.ts). `<prefix>:queuectl:migrate:<runId>`. The intent = hash(prefix, from,
 *    to, names, states) names the first run; `<prefix>:queuectl:migrate-current:<intent>` points at
 *    the latest (`<intent>-2`, `-3`…). The same command continues the current run only while it is
 *    unfinished (interrupted, or still `running` after kill -9); after a finished one (done,
 *    unverified) it starts a new run, so separate migrations never share counters. Counters only,
 *    no id list: since each batch is atomic, the queues themselves record where each job is, so
 *    after kill -9 a rerun re-plans and moves what is left. Ctrl-C stops between batches
 *    (InterruptedError, 130), or ends a plan before it is printed. A real run first takes the run's
 *    lease (run-lease.ts): a second process on the same run is refused before it plans.
 *
 * 4. VERIFY (verify.ts). planned = moved + still movable, and each destination grew by what moved;
 *    with --follow (producers and workers running) only "nothing movable left" is required.
 *
 * 5. DRAIN (drain.ts). Move nothing: watch old workers empty the queue (the `id` counter reveals
 *    arrivals; CLIENT LIST shows whether any worker consumes it at all), then offer to delete its
 *    keys (SCAN + UNLINK) after a typed confirmation, checked before the wait. The delete lists
 *    the jobs it removes by state and refuses failed ones unless --include-failed.
 *
 * Advice (advice.ts): the plan lists every job it leaves (stay reasons by state, states outside
 * --states, completed) with what finishes each; `topology check` builds its migrate commands with
 * the same helper, so neither ever points at the other in a loop.
 *
 * 6. CROSS-SLOT (engine.ts picks it; cross-slot*.ts + lua/cross-slot-*.lua). On Redis Cluster with one
 *    hash tag per queue no script sees source and destination together, so each batch is a
 *    journaled copy-then-delete: take (source slot: jobs leave their state and are parked under
 *    <prefix>:queuectl:xslot:<run>:{<tag>}:j:<id>, out of every state and off the queue's prefix,
 *    with one in-flight record per batch), copy (each destination slot: atomic, idempotent by the
 *    batch's token, verdicts recorded there), settle (source slot: delete the parked copies, put
 *    refused ones back). A rerun first settles what is parked (copied → finish, else put back).
 *    Every step is safe to run twice; a lease keeps one process per run. Progress counters in the
 *    run's journal lag by at most one batch after a crash; the queues stay exact.
 *
 * 7. POSTGRESQL (src/commands/migrate.ts picks it with forBackend; postgres-run.ts, the engine
 *    postgres-engine.ts, the journal postgres-journal.ts). Within one BullMQ schema a move is the
 *    job row's `queue` column (with its job_log and dedup rows) changing in one transaction per
 *    batch, rows taken FOR UPDATE SKIP LOCKED, the journal counters (a `queuectl` schema) committed
 *    with them; two sessions move batches at once (postgres-lanes.ts). The plan, verify and render
 *    modules above are shared.
 */
export { applyMoves, type ApplyOptions, type ApplyResult, type Moves } from './apply.js';
export { scanPlan } from './scan.js';
export { buildRouting, type Routing } from './routing.js';
export { movingTotal, problemStays, type Plan, type StayReason } from './plan.js';
export { verify, countDestinations } from './verify.js';
export { runIdOf, journalKey } from './keys.js';
