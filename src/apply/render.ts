import { Chalk } from 'chalk';
import { describeNext, describeSchedule, showValue } from '../schedules/compare.js';
import type { ChangeAction, Plan, PlannedChange, Resource } from './types.js';

/** The `--json` document of `topology plan` and `apply --dry-run` (stable: queuectl/topology-plan@1). */
export interface PlanDocument {
  schema: 'queuectl/topology-plan@1';
  /** Redacted URL with the prefix or schema in force. */
  target: string;
  changes: {
    action: ChangeAction;
    queue: string;
    resource: Resource;
    id?: string;
    fields?: { field: string; from?: unknown; to?: unknown }[];
    /** A scheduler created, or the one removed: its schedule and job name. */
    schedule?: { pattern?: string; tz?: string; every?: number; limit?: number; job: string; next?: number; legacy?: boolean };
  }[];
  summary: { create: number; update: number; delete: number };
  /** Undeclared queues holding schedulers that only --prune removes. */
  leftAlone: { queue: string; schedulers: number }[];
}

export function planDocument(plan: Plan, target: string): PlanDocument {
  return {
    schema: 'queuectl/topology-plan@1',
    target,
    changes: plan.changes.map((c) => {
      const s = c.action === 'create' ? c.declared : c.action === 'delete' ? c.live : undefined;
      const schedule = s && {
        ...(s.pattern === undefined ? {} : { pattern: s.pattern }),
        ...(s.tz === undefined ? {} : { tz: s.tz }),
        ...(s.every === undefined ? {} : { every: s.every }),
        ...(s.limit === undefined ? {} : { limit: s.limit }),
        job: s.job.name,
        ...(c.live?.next === undefined || c.action !== 'delete' ? {} : { next: c.live.next }),
        ...(c.live?.legacy ? { legacy: true } : {}),
      };
      return {
        action: c.action,
        queue: c.queue,
        resource: c.resource,
        ...(c.id === undefined ? {} : { id: c.id }),
        ...(c.fields.length > 0 ? { fields: c.fields } : {}),
        ...(schedule ? { schedule } : {}),
      };
    }),
    summary: {
      create: plan.changes.filter((c) => c.action === 'create').length,
      update: plan.changes.filter((c) => c.action === 'update').length,
      delete: plan.changes.filter((c) => c.action === 'delete').length,
    },
    leftAlone: plan.leftAlone,
  };
}

const SIGN: Record<ChangeAction, string> = { create: '+', update: '~', delete: '-' };

/**
 * Terraform style: per queue, `+` create, `~` change (with each differing field, live → file),
 * `-` remove (with the stale schedule and when it would fire next), then one summary line.
 */
export function renderPlan(plan: Plan, target: string, color: boolean): string {
  const c = new Chalk({ level: color ? 1 : 0 });
  const paint: Record<ChangeAction, (s: string) => string> = { create: c.green, update: c.yellow, delete: c.red };
  const lines: string[] = [];
  if (plan.changes.length === 0) {
    lines.push(`No changes: the live queues on ${target} match the file.`);
  } else {
    lines.push(`Plan for ${target}:`);
    let queue: string | undefined;
    for (const change of plan.changes) {
      if (change.queue !== queue) {
        queue = change.queue;
        lines.push('', `  queue ${queue}`);
      }
      lines.push(...changeLines(change).map((l, i) => (i === 0 ? paint[change.action](`  ${SIGN[change.action]} ${l}`) : `      ${l}`)));
    }
    const doc = planDocument(plan, target).summary;
    lines.push('', `Plan: ${doc.create} to create, ${doc.update} to change, ${doc.delete} to remove.`);
  }
  for (const left of plan.leftAlone) {
    lines.push(`Left alone: queue ${left.queue} is not declared and holds ${left.schedulers} scheduler${left.schedulers === 1 ? '' : 's'} (--prune removes them).`);
  }
  return lines.join('\n');
}

function changeLines(change: PlannedChange): string[] {
  const fields = change.fields.map((f) => `${f.field}: ${showValue(f.field, f.from)} → ${showValue(f.field, f.to)}`);
  switch (change.resource) {
    case 'scheduler':
    case 'repeatable': {
      const name = change.resource === 'scheduler' ? `scheduler ${change.id}` : `old-style repeatable job "${change.id}"`;
      if (change.action === 'create') return [`${name}: ${describeSchedule(change.declared!)}`];
      if (change.action === 'delete') return [`${name}: ${describeSchedule(change.live!)} (fires next at ${describeNext(change.live!.next)})`];
      return [name, ...fields];
    }
    case 'rateLimit':
      return [`rate limit: ${rate(change.fields[0]?.from)} → ${rate(change.fields[0]?.to)}`];
    default:
      return fields;
  }
}

function rate(value: unknown): string {
  if (value === undefined) return 'none';
  const r = value as { max?: number; duration?: number };
  return `${r.max ?? '?'} per ${r.duration ?? '?'} ms`;
}
