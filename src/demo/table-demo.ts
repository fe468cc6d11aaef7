import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectPostgres } from '../backend/postgres/connection.js';
import { quoteIdent } from '../backend/postgres/schema.js';
import type { PostgresHandle } from '../backend/postgres/types.js';
import { postgresSpecFromGlobals } from '../backend/postgres/url.js';
import type { GlobalOptions } from '../context.js';
import { redactUrl } from '../redis/url.js';
import type { DemoStep } from './steps.js';

/**
 * `queuectl demo --from-table`: a hand-rolled WorkerJob table (the design of
 * test/fixtures/table-queues/workerjob.sql: six job families in one table, claimed with
 * FOR UPDATE SKIP LOCKED) split into per-family BullMQ queues on PostgreSQL, while the old
 * application's worker keeps claiming rows. The table lives next to BullMQ's tables in the demo's
 * own schema, so `migrate` writes each batch into BullMQ in the same transaction that takes the
 * rows out of the table.
 */

const FAMILIES: Record<string, string> = {
  INTERPRET_EVENT: 'interpret-event', DETECT_PATTERNS: 'detect-patterns', GENERATE_INSIGHTS: 'insights',
  GENERATE_REVIEW: 'reviews', GENERATE_TOMORROW_PLAN: 'reviews', SUGGEST_UOM_UPDATE: 'uom-updates',
};

const TABLE_DDL = `
CREATE TYPE "JobStatus" AS ENUM ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'DEAD_LETTER');
CREATE TYPE "JobType" AS ENUM ('INTERPRET_EVENT', 'DETECT_PATTERNS', 'GENERATE_INSIGHTS', 'GENERATE_REVIEW', 'GENERATE_TOMORROW_PLAN', 'SUGGEST_UOM_UPDATE');
CREATE TABLE "WorkerJob" (
  "id" TEXT PRIMARY KEY, "type" "JobType" NOT NULL, "payload" JSONB NOT NULL, "status" "JobStatus" NOT NULL DEFAULT 'PENDING',
  "priority" INTEGER NOT NULL DEFAULT 0, "availableAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, "attempts" INTEGER NOT NULL DEFAULT 0,
  "maxAttempts" INTEGER NOT NULL DEFAULT 3, "lastError" TEXT, "lockedAt" TIMESTAMP(3), "lockedBy" TEXT, "idempotencyKey" TEXT UNIQUE, "userId" TEXT,
  "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, "startedAt" TIMESTAMP(3), "completedAt" TIMESTAMP(3));
CREATE INDEX "WorkerJob_status_availableAt_priority_idx" ON "WorkerJob"("status", "availableAt", "priority");`;

export interface TableDemo {
  /** The topology file the steps run with (in a temp folder, removed by stop). */
  config: string;
  /** Environment for the children: the table's database (DATABASE_URL, the source's default). */
  childEnv: NodeJS.ProcessEnv;
  describe: string;
  steps: DemoStep[];
  stop(): Promise<void>;
}

/** Creates and fills the table in `schema` of `url`, writes the topology, starts the old worker. */
export async function openTableDemo(url: string, schema: string, globals: GlobalOptions, rows: number): Promise<TableDemo> {
  const db: PostgresHandle = await connectPostgres(postgresSpecFromGlobals(url, redactUrl(url), schema, globals));
  const s = quoteIdent(schema);
  await db.query(`SET search_path TO ${s}`);
  await db.query(TABLE_DDL);
  await db.query(
    `INSERT INTO "WorkerJob" (id, type, payload, priority, "availableAt", attempts, "lastError", status, "idempotencyKey", "userId")
     SELECT 'cdemo' || g, (enum_range(NULL::"JobType"))[1 + g % 6], jsonb_build_object('eventId', 'evt-' || g, 'userId', 'u' || (g % 40)),
            g % 4, now() + CASE WHEN g % 10 = 0 THEN interval '1 hour' ELSE - interval '1 minute' END,
            CASE WHEN g % 25 = 0 THEN 1 ELSE 0 END, CASE WHEN g % 25 = 0 THEN 'timeout calling the model' END,
            CASE WHEN g % 97 = 0 THEN 'DEAD_LETTER' ELSE 'PENDING' END::"JobStatus", 'interpret-evt-' || g || '-v1', 'u' || (g % 40)
       FROM generate_series(1, $1::int) g`, [rows]);
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-demo-table-'));
  const config = join(dir, 'queuectl.yaml');
  const queues = [...new Set(Object.values(FAMILIES))].map((q) => {
    const jobs = Object.entries(FAMILIES).filter(([, to]) => to === q).map(([f]) => f);
    return `  ${q}: { jobs: [${jobs.join(', ')}]${q === 'interpret-event' ? ', jobId: "{idempotencyKey}"' : ', dedup: none'} }`;
  });
  writeFileSync(config, `version: 1\nschema: ${schema}\nqueues:\n${queues.join('\n')}\nworkers:\n  app: { queues: [${[...new Set(Object.values(FAMILIES))].join(', ')}] }\nlegacy:\n  worker-jobs:\n    table: { name: '${schema}."WorkerJob"' }\n`);

  // The old application's worker: its own claim query, one row at a time, while the move runs.
  let stopped = false;
  const worker = (async () => {
    while (!stopped) {
      const claimed = await db.query(`UPDATE "WorkerJob" SET status = 'PROCESSING', "lockedAt" = now(), "lockedBy" = 'old-app', "startedAt" = now(), attempts = attempts + 1
        WHERE id = (SELECT id FROM "WorkerJob" WHERE status = 'PENDING' AND "availableAt" <= now() ORDER BY priority DESC, "availableAt" ASC LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING id`).catch(() => []);
      await new Promise((r) => setTimeout(r, 100));
      if (claimed[0]) await db.query(`UPDATE "WorkerJob" SET status = 'COMPLETED', "completedAt" = now(), "lockedAt" = NULL WHERE id = $1`, [claimed[0].id]).catch(() => undefined);
    }
  })();
  const from = ['migrate', '--from', 'worker-jobs'];
  return {
    config,
    childEnv: { DATABASE_URL: url },
    describe: `Created ${schema}."WorkerJob", the hand-rolled job table of an app (six job families in one table, claimed with FOR UPDATE SKIP LOCKED), with ${rows.toLocaleString('en-US')} rows: some due in an hour, some with a last error, a few dead letters. The app's old worker keeps claiming rows, one every 100 ms.`,
    steps: [
      {
        title: 'migrate --dry-run: the table, family by family',
        explain: 'The plan reads the table (columns and statuses guessed from its shape) and shows where each family goes: one BullMQ queue per family, ready and scheduled rows counted apart; active rows stay with the old worker.',
        run: { argv: [...from, '--dry-run'] },
        expectExit: 0,
      },
      {
        title: 'migrate: rows into per-family BullMQ queues, exactly once',
        explain: 'Each batch of rows is locked FOR UPDATE SKIP LOCKED (the old worker skips them, and the move skips the row it holds), written into BullMQ and deleted from the table in one transaction: job ids from the jobId template (the idempotency key), priorities by rank, due times, attempts left and last errors kept.',
        run: { argv: [...from, '--yes'] },
        expectExit: 0,
      },
      {
        title: 'inspect: the families now live in their own queues',
        explain: 'Each family waits in its own queue, delayed rows still delayed until their time, ready for per-family workers, concurrency and rate limits.',
        run: { argv: ['inspect'] },
        expectExit: 0,
      },
      {
        title: 'migrate status: the run, from the journal in the table\'s database',
        explain: 'The run (its outbox and counters) is recorded in a queuectl schema of the source database, never in the app\'s tables; a rerun after a crash finishes it.',
        run: { argv: ['migrate', 'status'] },
        expectExit: 0,
      },
    ],
    async stop() {
      stopped = true;
      await worker;
      await db.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
