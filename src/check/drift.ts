import type { LiveQueue } from '../inspect/types.js';
import { lint } from '../topology/lint.js';
import { migrateCommand, statesToMove } from '../migrate/advice.js';
import type { Finding, Topology } from '../topology/types.js';
import { postgresFindings } from './postgres-drift.js';
import { bullLegacyJobs, layoutConflict, layoutUndecided } from './bull-drift.js';
import { scheduleFindings } from './schedule-drift.js';
import type { LiveFacts, MisroutedJobs, WorkerConnection } from './types.js';

export interface DriftOptions {
  /** True when Redis is a cluster: the prefix hash-tag rule applies, as an error. */
  cluster?: boolean;
  /** Where queues live, for messages: Redis keys under a prefix (the default), or PostgreSQL rows in a schema. */
  namespace?: Namespace;
}

export interface Namespace {
  store: 'Redis' | 'PostgreSQL';
  kind: 'prefix' | 'schema';
  name: string;
}

/** Rule ids in the order the report groups them (most urgent first). */
export const CHECK_RULES = [
  'eviction-policy',
  'prefix-no-hash-tag',
  'queue-layout-conflict',
  'queue-layout-undecided',
  'legacy-has-jobs',
  'table-stuck-rows',
  'table-family-unowned',
  'table-attempts-exceeded',
  'table-index-missing',
  'table-priority-range',
  'job-misrouted',
  'queue-undeclared',
  'worker-undeclared-queue',
  'meta-concurrency-drift',
  'meta-ratelimit-drift',
  'scheduler-undeclared',
  'scheduler-drift',
  'scheduler-missing',
  'paused-drift',
  'connections-headroom',
  'long-transaction',
  'job-table-bloat',
  'queue-absent',
] as const;

/**
 * `topology check`'s diff: the declared topology versus what Redis holds. Pure: the live facts are
 * read elsewhere (src/check/gather.ts). Errors first, then warnings; within each, by rule, then queue.
 *
 * Severity: everything that lets jobs run somewhere the file did not say (or be lost) is an error,
 * because this is the CI gate and only errors fail it. That includes `meta` concurrency and rate
 * limit drift: a global limit set by hand on the live queue silently overrides what reviewers
 * approved in the file, and a warning would scroll past in a green CI log. Only a declared queue
 * with no keys is a warning: that is the normal state before its first job.
 */
export function drift(topology: Topology, live: LiveFacts, options: DriftOptions = {}): Finding[] {
  const namespace = options.namespace ?? { store: 'Redis', kind: 'prefix', name: topology.prefix };
  const findings: Finding[] = [
    // maxmemory-policy is Redis's; PostgreSQL's own findings come from live.postgres.
    ...(live.health ? evictionPolicy(live.health.evictionPolicy) : []),
    ...(live.postgres ? postgresFindings(topology, live.postgres) : []),
    ...hashTag(topology, options),
    ...live.queues.flatMap((q) => queueFindings(topology, q, namespace)),
    ...live.queues.flatMap(layoutConflict),
    ...live.queues.flatMap(layoutUndecided),
    ...live.misrouted.map((m) => misrouted(topology, m, live.deep)),
    ...undeclaredWorkers(topology, live.workers ?? []),
    ...(live.schedulers ? scheduleFindings(topology, live.schedulers, live.queues) : []),
  ];
  return sortFindings(findings);
}

/** True when no finding is an error: exit 0 (warnings allowed). */
export function inSync(findings: Finding[]): boolean {
  return findings.every((f) => f.severity !== 'error');
}

export function sortFindings(findings: Finding[]): Finding[] {
  const sev = (f: Finding) => (f.severity === 'error' ? 0 : 1);
  const rule = (f: Finding) => {
    const i = (CHECK_RULES as readonly string[]).indexOf(f.rule);
    return i === -1 ? CHECK_RULES.length : i;
  };
  return [...findings].sort(
    (a, b) => sev(a) - sev(b) || rule(a) - rule(b) || (a.queue ?? '').localeCompare(b.queue ?? ''),
  );
}

function evictionPolicy(policy: string | undefined): Finding[] {
  if (policy === 'noeviction') return [];
  if (!policy || policy === 'unknown') {
    return [{
      rule: 'eviction-policy',
      severity: 'warning',
      message: 'could not read maxmemory-policy (CONFIG GET and INFO refused?) — make sure it is noeviction',
    }];
  }
  return [{
    rule: 'eviction-policy',
    severity: 'error',
    message: `maxmemory-policy is ${policy}: under memory pressure Redis deletes BullMQ keys and jobs vanish — set maxmemory-policy noeviction (CONFIG SET and redis.conf)`,
  }];
}

function hashTag(topology: Topology, options: DriftOptions): Finding[] {
  if (!options.cluster) return [];
  // Reuse the lint rule so validate and check say the same thing; live, it is an error.
  return lint(topology, { redisUrl: 'redis+cluster://', live: true })
    .filter((f) => f.rule === 'prefix-no-hash-tag')
    .map(({ rule, severity, message }) => ({ rule, severity, message }));
}

function queueFindings(topology: Topology, q: LiveQueue, ns: Namespace): Finding[] {
  if (q.kind === 'undeclared') {
    if (!q.exists) return [];
    return [{
      rule: 'queue-undeclared',
      severity: 'error',
      queue: q.name,
      message: `queue exists in ${ns.store} (${describeCounts(q)}) but is neither declared nor legacy — declare it under queues: (or legacy: to migrate it away)`,
    }];
  }
  if (q.kind === 'legacy') return q.bullCounts ? bullLegacyJobs(q) : legacyJobs(q);
  const spec = topology.queues[q.name];
  if (!q.exists) {
    return [{
      rule: 'queue-absent',
      severity: 'warning',
      queue: q.name,
      message: `declared but has no ${ns.kind === 'prefix' ? 'keys under prefix' : 'jobs or meta in schema'} "${ns.name}" — normal before its first job; otherwise check the queue name and --${ns.kind}`,
    }];
  }
  return spec ? metaDrift(spec.concurrency, spec.rateLimit, q) : [];
}

/**
 * Jobs that still need a home; completed ones are history and stay. The command named moves what
 * is there: with only failed jobs left, a plain `migrate --from` would move nothing (and send the
 * person back here), so it names `--states failed`.
 */
function legacyJobs(q: LiveQueue): Finding[] {
  const c = q.counts;
  const pending = c.waiting + c.prioritized + c.delayed + c.active + c.failed;
  if (!q.exists || pending === 0) return [];
  const movable = c.waiting + c.prioritized + c.delayed + c.failed;
  const activeNote = c.active > 0 ? ` (${c.active} active: let old workers finish those)` : '';
  const next = movable === 0
    ? 'let the old workers finish them; nothing else is needed until then'
    : `run: ${migrateCommand(q.name, { states: statesToMove({ wait: c.waiting, prioritized: c.prioritized, delayed: c.delayed, failed: c.failed }) })} (its --dry-run shows what would stay: names no queue owns need an owner, or the old workers to finish them before migrate --strategy drain removes the queue)`;
  return [{
    rule: 'legacy-has-jobs',
    severity: 'error',
    queue: q.name,
    message: `legacy queue still holds ${pending} job${pending === 1 ? '' : 's'} (${describeCounts(q, false)})${activeNote} — ${next}`,
  }];
}

function metaDrift(concurrency: number | undefined, rateLimit: { max: number; duration: number } | undefined, q: LiveQueue): Finding[] {
  const found: Finding[] = [];
  const fix = (call: string) => `make the file and the app's Queue.${call}() agree (or remove the live value with Queue.remove${call.slice(3)}())`;
  if (q.meta.concurrency !== undefined && q.meta.concurrency !== concurrency) {
    found.push({
      rule: 'meta-concurrency-drift',
      severity: 'error',
      queue: q.name,
      message: `live global concurrency is ${q.meta.concurrency}, the file says ${concurrency ?? 'none'} — ${fix('setGlobalConcurrency')}`,
    });
  }
  const { max, duration } = q.meta;
  if (max !== undefined || duration !== undefined) {
    const same = rateLimit !== undefined && (max === undefined || max === rateLimit.max) && (duration === undefined || duration === rateLimit.duration);
    if (!same) {
      const fileSays = rateLimit ? `${rateLimit.max} per ${rateLimit.duration} ms` : 'none';
      found.push({
        rule: 'meta-ratelimit-drift',
        severity: 'error',
        queue: q.name,
        message: `live rate limit is ${max ?? '?'} per ${duration ?? '?'} ms, the file says ${fileSays} — ${fix('setGlobalRateLimit')}`,
      });
    }
  }
  return found;
}

function misrouted(topology: Topology, m: MisroutedJobs, deep: boolean): Finding {
  const owner = Object.values(topology.queues).find((q) => q.jobs.includes(m.name));
  const count = `${deep ? '' : 'at least '}${m.count} job${m.count === 1 ? '' : 's'}`;
  const examples = m.examples.length > 0 ? ` (e.g. ${m.examples.join(', ')})` : '';
  const where = owner ? `, owned by ${owner.name}` : ', a name no queue owns (declare its owner first)';
  const active = m.active > 0 ? `; ${m.active} active, moved once finished` : '';
  const failed = m.failed ?? 0;
  const states = statesToMove({ wait: m.count - m.active - failed, failed });
  return {
    rule: 'job-misrouted',
    severity: 'error',
    queue: m.queue,
    message: `${count} named ${m.name}${examples}${where}${active} — run: ${migrateCommand(m.queue, { states: states.length > 0 ? states : undefined })}`,
  };
}

/** Workers consuming a queue that is neither declared nor legacy (old workers draining a legacy queue are expected). */
function undeclaredWorkers(topology: Topology, workers: WorkerConnection[]): Finding[] {
  const byQueue = new Map<string, WorkerConnection[]>();
  for (const w of workers) {
    if (topology.queues[w.queue] || topology.legacy[w.queue]) continue;
    byQueue.set(w.queue, [...(byQueue.get(w.queue) ?? []), w]);
  }
  return [...byQueue].map(([queue, conns]) => {
    const names = [...new Set(conns.map((w) => w.name))];
    const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? ', …' : '');
    return {
      rule: 'worker-undeclared-queue',
      severity: 'error' as const,
      queue,
      message: `${conns.length} worker connection${conns.length === 1 ? '' : 's'} (${shown}) consume this undeclared queue — declare it, or stop those workers`,
    };
  });
}

function describeCounts(q: LiveQueue, withCompleted = true): string {
  const c = q.counts;
  const parts: [number, string][] = [
    [c.waiting, 'waiting'], [c.prioritized, 'prioritized'], [c.delayed, 'delayed'],
    [c.active, 'active'], [c.failed, 'failed'],
  ];
  if (withCompleted) parts.push([c.completed, 'completed']);
  const shown = parts.filter(([n]) => n > 0).map(([n, s]) => `${n} ${s}`);
  return shown.length > 0 ? shown.join(', ') : 'no jobs';
}
