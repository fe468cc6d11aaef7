import { Chalk } from 'chalk';
import { renderTable } from '../ui/table.js';
import { formatAge, formatBytes } from '../ui/format.js';
import type { AlertLevel, AlertResult } from './alerts.js';
import type { JobView } from './read-job.js';
import type { LiveQueue, RedisHealth } from './types.js';
import { describeLayout, type LayoutVerdict } from './layout.js';
import type { BackendHealth } from './source.js';
import { postgresHealthDocument, renderPostgresHealth } from './postgres-health.js';

/** One row of inspect: the live queue, its alert, and (under --watch) rates since the last tick. */
export interface InspectRow {
  queue: LiveQueue;
  alert: AlertResult;
  rates?: { waitingPerSec: number; completedPerSec: number };
}

/** The `--json` document (contract: `queuectl/inspect@1`); fields may be added, never removed. */
export function inspectDocument(rows: InspectRow[], health: RedisHealth) {
  return {
    schema: 'queuectl/inspect@1' as const,
    redis: {
      version: health.version,
      mode: health.mode,
      usedMemory: health.usedMemory,
      maxMemory: health.maxMemory,
      evictionPolicy: health.evictionPolicy,
      nodes: health.nodes,
    },
    queues: queueDocuments(rows),
  };
}

/** The same document for either backend: `redis` or `postgres` holds the backend's health, `queues` is alike. */
export function backendInspectDocument(rows: InspectRow[], health: BackendHealth) {
  if (health.backend === 'redis') return { ...inspectDocument(rows, health.redis), backend: 'redis' as const };
  return { schema: 'queuectl/inspect@1' as const, backend: 'postgres' as const, postgres: postgresHealthDocument(health.postgres), queues: queueDocuments(rows) };
}

export function renderBackendHealth(health: BackendHealth, options: { color: boolean }): string {
  return health.backend === 'redis' ? renderHealth(health.redis, options) : renderPostgresHealth(health.postgres, options);
}

function queueDocuments(rows: InspectRow[]) {
  return rows.map(({ queue, alert, rates }) => ({
    name: queue.name,
    kind: queue.kind,
    exists: queue.exists,
    counts: { ...queue.counts },
    paused: queue.paused,
    oldestWaitingMs: queue.oldestWaitingMs,
    workers: queue.workers === undefined ? null : queue.workers.length,
    alert: alert.level,
    alertReasons: alert.reasons,
    stalled: queue.stalled,
    bullmqVersion: queue.bullmqVersion ?? null,
    meta: queue.meta,
    ...(queue.layout ? { layout: layoutDocument(queue.layout) } : {}),
    ...(queue.bullCounts ? { bullCounts: { ...queue.bullCounts } } : {}),
    ...(rates ? { rates } : {}),
  }));
}

/** `layout` in a queue's JSON: only on queues read as Bull or with signs of both libraries. */
function layoutDocument(verdict: LayoutVerdict) {
  return { read: verdict.read, from: verdict.from, signs: verdict.signs, ...(verdict.conflict ? { conflict: verdict.conflict } : {}), ...(verdict.undecided ? { undecided: true } : {}) };
}

export interface RenderOptions {
  color: boolean;
  /** Add the waiting Δ/s and completed Δ/s columns (watch mode). */
  rates?: boolean;
}

function paint(color: boolean) {
  return new Chalk({ level: color ? 1 : 0 });
}

export function paintLevel(level: AlertLevel, text: string, color: boolean): string {
  const c = paint(color);
  if (level === 'critical') return c.red.bold(text);
  if (level === 'warning') return c.yellow(text);
  return c.green(text);
}

function rate(perSec: number): string {
  if (perSec === 0) return '0';
  const text = Math.abs(perSec) >= 10 ? perSec.toFixed(0) : perSec.toFixed(1);
  return perSec > 0 ? `+${text}` : text;
}

/** The queue table as a string (no trailing newline). */
export function renderQueueTable(rows: InspectRow[], options: RenderOptions): string {
  const c = paint(options.color);
  const head = ['queue', 'kind', 'waiting', 'prioritized', 'delayed', 'active', 'failed', 'completed', 'paused', 'oldest wait', 'workers', 'alert'];
  if (options.rates) head.splice(3, 0, 'waiting Δ/s'), head.splice(9, 0, 'completed Δ/s');
  const body = rows.map(({ queue, alert, rates }) => {
    const kind = queue.kind === 'declared' ? (queue.exists ? 'declared' : c.dim('declared (absent)'))
      : queue.kind === 'legacy' ? (queue.exists ? c.yellow('legacy') : c.dim('legacy (gone)')) : c.magenta('undeclared');
    const n = queue.counts;
    const library = queue.layout?.conflict ? c.red(' (bull+bullmq)') : queue.layout?.read === 'bull' ? ' (bull)' : '';
    const cells: string[] = [
      queue.name, kind + library, String(n.waiting), String(n.prioritized), String(n.delayed), String(n.active),
      n.failed > 0 ? c.red(String(n.failed)) : '0', String(n.completed),
      queue.paused ? c.yellow('yes') : 'no',
      queue.oldestWaitingMs === null ? '-' : formatAge(queue.oldestWaitingMs),
      queue.workers === undefined ? '?' : String(queue.workers.length),
      paintLevel(alert.level, alert.level, options.color),
    ];
    if (options.rates) {
      cells.splice(3, 0, rates ? rate(rates.waitingPerSec) : '-');
      cells.splice(9, 0, rates ? rate(rates.completedPerSec) : '-');
    }
    return cells;
  });
  const numeric = head.map((_, i) => i).filter((i) => i >= 2 && head[i] !== 'paused' && head[i] !== 'alert');
  // On a narrow terminal the least telling columns go first (-o wide shows them all).
  const dropFirst = ['completed Δ/s', 'waiting Δ/s', 'prioritized', 'paused', 'kind', 'completed', 'workers', 'delayed', 'active'].map((name) => head.indexOf(name)).filter((i) => i >= 0);
  const table = rows.length === 0 ? '(no queues)' : renderTable(head, body, { color: options.color, alignRight: numeric, borders: false, dropFirst });
  const reasons = rows.filter((r) => r.alert.reasons.length > 0)
    .map((r) => `  ${paintLevel(r.alert.level, r.alert.level, options.color)} ${r.queue.name}: ${r.alert.reasons.join(', ')}`);
  // Said plainly under the table: how each queue's library was told, and what contradicts it.
  const layouts = rows.filter((r) => r.queue.layout)
    .map(({ queue }) => `  ${queue.name}: ${queue.layout!.conflict ? c.red(`conflict — ${queue.layout!.conflict}`) : describeLayout(queue.layout!)}`);
  return [table, ...reasons, ...layouts].join('\n');
}

/** The Redis health lines under the table; a red warning when the eviction policy may drop jobs. */
export function renderHealth(health: RedisHealth, options: { color: boolean }): string {
  const c = paint(options.color);
  const lines = [
    `Redis ${health.version} · ${health.mode} · ${health.nodes} ${health.nodes === 1 ? 'node' : 'masters'} · ` +
      `memory ${formatBytes(health.usedMemory)} used / ${health.maxMemory === 0 ? 'no limit' : formatBytes(health.maxMemory)} · ` +
      `eviction ${health.evictionPolicy}`,
  ];
  if (health.evictionPolicy !== 'noeviction') {
    lines.push(c.red(`warning: maxmemory-policy is ${health.evictionPolicy}, so Redis may evict BullMQ keys and lose jobs — set it to noeviction`));
  }
  return lines.join('\n');
}

/** `inspect job` as text: one `field: value` line each, then data, opts, stack trace as blocks. */
export function renderJob(job: JobView, options: { color: boolean }): string {
  const c = paint(options.color);
  const stateColor = job.state === 'failed' ? c.red : job.state === 'completed' ? c.green : c.cyan;
  const line = (label: string, value: unknown) => `${c.bold(`${label}:`.padEnd(17))} ${value}`;
  const block = (value: unknown) => JSON.stringify(value, null, 2).split('\n').map((l) => `  ${l}`).join('\n');
  const lines = [
    line('job', `${job.queue}/${job.id}`),
    line('name', job.name),
    line('state', stateColor(job.state)),
    line('attempts made', job.attemptsMade),
    line('attempts started', job.attemptsStarted),
    line('created', job.createdAt ?? '-'),
    line('processed', job.processedAt ?? '-'),
    line('finished', job.finishedAt ?? '-'),
  ];
  if (job.delay > 0 || job.dueAt) lines.push(line('delay', `${job.delay} ms${job.dueAt ? `, due ${job.dueAt}` : ''}`));
  if (job.priority > 0) lines.push(line('priority', job.priority));
  if (job.processedBy) lines.push(line('worker', job.processedBy));
  if (job.parentKey) lines.push(line('parent', job.parentKey));
  lines.push(line('logs', job.logs));
  if (job.failedReason !== null) lines.push(line('failed reason', c.red(job.failedReason)));
  if (job.returnvalue !== null) lines.push(line('return value', JSON.stringify(job.returnvalue)));
  lines.push(`${c.bold('data:')}`, block(job.data), `${c.bold('opts:')}`, block(job.opts));
  if (job.stacktrace.length > 0) {
    lines.push(c.bold('stack trace:'));
    // Each entry is one attempt's stack; print its lines as they were, indented.
    for (const entry of job.stacktrace) lines.push(...entry.split('\n').map((l) => `  ${l}`));
  }
  return lines.join('\n');
}
