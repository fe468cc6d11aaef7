import { Job } from 'bullmq';
import type { PostgresHandle } from '../backend/postgres/types.js';
import { schedulerFromFields } from './parse.js';
import type { LiveScheduler, ScheduleReader } from './types.js';

type SchedulerRow = {
  queue: string;
  scheduler_id: string;
  name: string | null;
  next_run_ms: string | null;
  pattern: string | null;
  every_ms: string | null;
  tz: string | null;
  start_date_ms: string | null;
  end_date_ms: string | null;
  limit_count: number | null;
  iteration_count: number;
  template_data: unknown;
  template_opts: unknown;
};

/**
 * Schedulers on BullMQ's PostgreSQL backend (the Redis twin is redis-reader.ts): one SELECT on the
 * `scheduler` table by its primary key prefix, mapped to the field names BullMQ's own
 * mapSchedulerRow gives a row, so both backends share schedulerFromFields. Reads only.
 */
export function postgresScheduleReader(handle: PostgresHandle, quotedSchema: string): ScheduleReader {
  const optsFromJSON = (raw: string) => Job.optsFromJSON(raw) as Record<string, unknown>;
  return {
    async read(queues) {
      if (queues.length === 0) return [];
      const rows = await handle.query<SchedulerRow>(
        `SELECT queue, scheduler_id, name, next_run_ms::text, pattern, every_ms::text, tz, start_date_ms::text, end_date_ms::text,
                limit_count, iteration_count, template_data, template_opts
           FROM ${quotedSchema}.scheduler WHERE queue = ANY($1::text[]) ORDER BY queue, scheduler_id`,
        [[...new Set(queues)]],
      );
      return rows.map((r): LiveScheduler => {
        const fields: Record<string, string> = { ic: String(r.iteration_count) };
        const put = (key: string, value: unknown) => {
          if (value !== null && value !== undefined) fields[key] = typeof value === 'string' ? value : JSON.stringify(value);
        };
        put('name', r.name);
        put('pattern', r.pattern);
        put('every', r.every_ms);
        put('tz', r.tz);
        put('startDate', r.start_date_ms);
        put('endDate', r.end_date_ms);
        put('limit', r.limit_count === null ? null : String(r.limit_count));
        put('data', r.template_data);
        put('opts', r.template_opts);
        const next = r.next_run_ms === null ? undefined : Number(r.next_run_ms);
        return schedulerFromFields(r.queue, r.scheduler_id, fields, next, optsFromJSON);
      }).sort((a, b) => a.queue.localeCompare(b.queue) || a.id.localeCompare(b.id));
    },
  };
}
