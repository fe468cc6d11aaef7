import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sql } from './postgres.js';

/**
 * The two legacy job-table designs of the issue (test/fixtures/table-queues, copied from
 * shared/fixtures), rows in every state, and the applications' own claim, failure and recovery
 * queries as the fixtures' comments describe them.
 */

const fixture = (file: string) => readFileSync(fileURLToPath(new URL(`../fixtures/table-queues/${file}`, import.meta.url)), 'utf8');

/** Creates "WorkerJob" (and "User") and "JobQueue" with their enum types and indexes. */
export async function createTableQueues(url: string): Promise<void> {
  await sql(url, fixture('workerjob.sql'));
  await sql(url, fixture('jobqueue.sql'));
}

export type Table = 'WorkerJob' | 'JobQueue';

export interface RowGroup {
  type: string;
  status: string;
  count: number;
  /** Seconds from now of availableAt / scheduledFor (negative: in the past). Default -60. */
  dueIn?: number;
  /** Seconds from now of lockedAt (PROCESSING rows), negative. */
  lockedFor?: number;
  lockedBy?: string;
  attempts?: number;
  maxAttempts?: number;
  lastError?: string;
  priority?: number;
  /** WorkerJob: the userId column; JobQueue: payload.companyId. */
  tenant?: string;
  /** Seconds ago the row was created (and, for done rows, completed). Default 300. */
  age?: number;
  /** Id prefix; rows are <prefix>-<n>. Default <type>-<status>. */
  prefix?: string;
}

/** Inserts rows in bulk (one statement per group); returns how many. */
export async function seed(url: string, table: Table, groups: RowGroup[]): Promise<number> {
  let total = 0;
  for (const g of groups) {
    const due = table === 'WorkerJob' ? '"availableAt"' : '"scheduledFor"';
    const statusType = table === 'WorkerJob' ? '"JobStatus"' : '"JobQueueStatus"';
    const typeType = table === 'WorkerJob' ? '"JobType"' : 'text';
    const prefix = g.prefix ?? `${g.type}-${g.status}`.toLowerCase();
    const tenantCol = table === 'WorkerJob' ? ', "userId"' : '';
    const tenantVal = table === 'WorkerJob' ? ', $10' : '';
    if (table === 'WorkerJob' && g.tenant) await sql(url, 'INSERT INTO "User"(id) VALUES ($1) ON CONFLICT DO NOTHING', [g.tenant]);
    const payload = table === 'WorkerJob'
      ? `jsonb_build_object('eventId', $1::text || '-' || n, 'userId', $10::text)`
      : `jsonb_build_object('conversationId', $1::text || '-' || n, 'companyId', $10::text)`;
    await sql(
      url,
      `INSERT INTO "${table}" (id, type, payload, status, priority, ${due}, attempts, "maxAttempts", "lastError", "lockedAt", "lockedBy", "idempotencyKey", "createdAt", "startedAt", "completedAt"${tenantCol})
       SELECT $1::text || '-' || n, $2::text::${typeType}, ${payload}, $3::text::${statusType}, $4,
              (now() + make_interval(secs => $5))::timestamp(3), $6, $7, $8,
              CASE WHEN $9::float8 IS NULL THEN NULL ELSE (now() + make_interval(secs => $9))::timestamp(3) END,
              CASE WHEN $9::float8 IS NULL THEN NULL ELSE $11 END,
              $1::text || ':' || n, (now() - make_interval(secs => $12))::timestamp(3),
              CASE WHEN $9::float8 IS NULL THEN NULL ELSE (now() + make_interval(secs => $9))::timestamp(3) END,
              CASE WHEN $3::text = 'COMPLETED' THEN (now() - make_interval(secs => $12 / 2))::timestamp(3) END${tenantVal}
         FROM generate_series(1, $13::int) AS n`,
      [prefix, g.type, g.status, g.priority ?? 0, g.dueIn ?? -60, g.attempts ?? 0, g.maxAttempts ?? 3, g.lastError ?? null,
        g.lockedFor ?? null, g.tenant ?? null, g.lockedBy ?? 'worker-1', g.age ?? 300, g.count],
    );
    total += g.count;
  }
  return total;
}

/** A realistic WorkerJob table: three families in every state (counts per family and state below). */
export const WORKER_JOB_MIX: RowGroup[] = [
  { type: 'INTERPRET_EVENT', status: 'PENDING', count: 12, tenant: 'user-a', age: 900 },
  { type: 'INTERPRET_EVENT', status: 'PENDING', count: 3, dueIn: 3600, attempts: 1, lastError: 'timeout', prefix: 'interpret-retry', tenant: 'user-b' },
  { type: 'INTERPRET_EVENT', status: 'PROCESSING', count: 2, lockedFor: -30, attempts: 1, lockedBy: 'worker-a' },
  { type: 'INTERPRET_EVENT', status: 'PROCESSING', count: 1, lockedFor: -1800, attempts: 1, lockedBy: 'worker-dead', prefix: 'interpret-stuck' },
  { type: 'INTERPRET_EVENT', status: 'DEAD_LETTER', count: 4, attempts: 3, lastError: 'LLM quota exceeded', tenant: 'user-a', age: 7200 },
  { type: 'INTERPRET_EVENT', status: 'COMPLETED', count: 20, attempts: 1 },
  { type: 'DETECT_PATTERNS', status: 'PENDING', count: 5, priority: 5, tenant: 'user-b' },
  { type: 'DETECT_PATTERNS', status: 'FAILED', count: 2, attempts: 2, lastError: 'pattern store down', tenant: 'user-b' },
  { type: 'DETECT_PATTERNS', status: 'DEAD_LETTER', count: 1, attempts: 3, lastError: 'invalid event payload', tenant: 'user-c' },
  { type: 'GENERATE_INSIGHTS', status: 'PENDING', count: 2, dueIn: 600 },
  { type: 'GENERATE_INSIGHTS', status: 'PROCESSING', count: 1, lockedFor: -900, attempts: 2, lockedBy: 'worker-b', prefix: 'insights-stuck' },
  { type: 'GENERATE_INSIGHTS', status: 'COMPLETED', count: 6, attempts: 1 },
];

/** A realistic JobQueue table: four families, priority 0..10, tenants in payload.companyId. */
export const JOB_QUEUE_MIX: RowGroup[] = [
  { type: 'ai_generation', status: 'PENDING', count: 8, priority: 10, tenant: 'co-1' },
  { type: 'ai_generation', status: 'PROCESSING', count: 1, lockedFor: -20, attempts: 1, lockedBy: 'poller-1' },
  { type: 'ai_generation', status: 'DEAD_LETTER', count: 3, attempts: 3, lastError: 'OpenAI 429', tenant: 'co-1' },
  { type: 'campaign_send', status: 'PENDING', count: 4, dueIn: 7200, tenant: 'co-2' },
  { type: 'campaign_send', status: 'COMPLETED', count: 10, attempts: 1, tenant: 'co-2' },
  { type: 'crm_sync', status: 'PENDING', count: 6, priority: 3, tenant: 'co-2' },
  { type: 'crm_sync', status: 'DEAD_LETTER', count: 2, attempts: 3, lastError: 'HubSpot token revoked', tenant: 'co-2' },
  { type: 'lead_import', status: 'PROCESSING', count: 1, lockedFor: -1200, attempts: 1, lockedBy: 'poller-2', prefix: 'lead-stuck' },
];

/** The WorkerJob application's claim query, verbatim from the fixture; the claimed row or undefined. */
export async function claimWorkerJob(url: string, worker: string): Promise<{ id: string; type: string; attempts: number } | undefined> {
  const rows = await sql(url, `UPDATE "WorkerJob" SET status = 'PROCESSING', "lockedAt" = now(), "lockedBy" = $1,
         "startedAt" = now(), attempts = attempts + 1
  WHERE id = (SELECT id FROM "WorkerJob" WHERE status = 'PENDING' AND "availableAt" <= now()
              ORDER BY priority DESC, "availableAt" ASC LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING id, type, payload, attempts, "maxAttempts", "userId"`, [worker]);
  return rows[0];
}

/** The JobQueue poller's claim (same shape, its column names). */
export async function claimJobQueue(url: string, worker: string): Promise<{ id: string; type: string } | undefined> {
  const rows = await sql(url, `UPDATE "JobQueue" SET status = 'PROCESSING', "lockedAt" = now(), "lockedBy" = $1,
         "startedAt" = now(), attempts = attempts + 1
  WHERE id = (SELECT id FROM "JobQueue" WHERE status = 'PENDING' AND "scheduledFor" <= now()
              ORDER BY priority DESC, "scheduledFor" ASC LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING id, type, payload, attempts, "maxAttempts"`, [worker]);
  return rows[0];
}

/** The WorkerJob application's failure path: back to PENDING with backoff, or DEAD_LETTER at maxAttempts. */
export async function failWorkerJob(url: string, id: string, error: string): Promise<void> {
  await sql(url, `UPDATE "WorkerJob" SET
      status = CASE WHEN attempts < "maxAttempts" THEN 'PENDING'::"JobStatus" ELSE 'DEAD_LETTER'::"JobStatus" END,
      "availableAt" = CASE WHEN attempts < "maxAttempts" THEN now() + make_interval(secs => 5 * 2 ^ attempts) ELSE "availableAt" END,
      "lastError" = $2, "lockedAt" = NULL, "lockedBy" = NULL
    WHERE id = $1`, [id, error]);
}

/** The WorkerJob application's stuck recovery (every 5 min in the app). */
export async function recoverWorkerJobs(url: string): Promise<number> {
  const rows = await sql(url, `UPDATE "WorkerJob" SET status = 'PENDING', "lockedAt" = NULL, "lockedBy" = NULL,
      "lastError" = 'Recovered from stuck state at ' || now()
    WHERE status = 'PROCESSING' AND "lockedAt" < now() - interval '10 minutes' RETURNING id`);
  return rows.length;
}

/** A topology with both fixture tables as legacy table sources (URL from APP_DB) and queues owning some families. */
export const TABLES_YAML = `version: 1
defaults: { attempts: 3, backoff: 5s, removeOnComplete: 1000, removeOnFail: 5000, deadLetter: failed }
queues:
  interpret: { jobs: [INTERPRET_EVENT], jobId: "interpret-{eventId}" }
  patterns: { jobs: [DETECT_PATTERNS], jobId: "patterns-{eventId}" }
  ai: { jobs: [ai_generation], jobId: "ai-{conversationId}" }
workers:
  w1: { queues: [interpret, patterns, ai] }
legacy:
  worker-jobs:
    table: { name: '"WorkerJob"', urlEnv: APP_DB }
  job-queue:
    table: { name: '"JobQueue"', urlEnv: APP_DB, lockTimeout: 5m }
`;
