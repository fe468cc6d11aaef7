import type { Job, Queue, Worker } from 'bullmq';
import type { DemoBullmq } from './environment.js';
import { demoStopped } from './interrupt.js';
import { finishLegacyWork, type FinishReport } from './finish.js';
import { LEGACY_QUEUE, type DemoJob, type DemoMix } from './mix.js';

/** The stand-in old Smart Upload deployment: workers on the legacy shared queue. */
export interface OldWorkers {
  readonly count: number;
  /** Runs now the delayed jobs of `name` (only the old code can run them) and waits until they are done; see finish.ts. */
  finish(name: string, timeoutMs: number, signal: AbortSignal): Promise<FinishReport>;
  /** Lets active jobs finish, then closes; bounded so a dead Redis cannot hang the demo. */
  close(): Promise<void>;
}

export interface SeedOptions {
  /** Makes BullMQ's Queue and Worker where the demo runs (a Redis prefix or a PostgreSQL schema). */
  bullmq: DemoBullmq;
  workers: number;
  /** Milliseconds an ordinary job takes in the old worker: slow on purpose. */
  jobMs: number;
  signal: AbortSignal;
}

const CHUNK = 1000;

/** Calls `fn` but gives up after `ms`: used on shutdown paths, which must always end. */
async function bounded(fn: () => Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([fn().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

async function addAll(queue: Queue, jobs: DemoJob[]): Promise<void> {
  for (let i = 0; i < jobs.length; i += CHUNK) {
    await queue.addBulk(jobs.slice(i, i + CHUNK).map((j) => ({ name: j.name, data: j.data, opts: j.opts })));
  }
}

/** The old worker: corrupt uploads fail at once (attempts 1, so straight to `failed`), the rest take jobMs. */
function processor(jobMs: number) {
  return async (job: Job) => {
    if ((job.data as { corrupt?: boolean }).corrupt) throw new Error('corrupt PDF: no readable pages');
    await new Promise((r) => setTimeout(r, jobMs));
    return { pages: 3 };
  };
}

function startWorkers(options: SeedOptions): Worker[] {
  return Array.from({ length: options.workers }, (_, i) => {
    const worker = options.bullmq.worker(LEGACY_QUEUE, processor(options.jobMs), { concurrency: 1, name: `old-smart-upload-${i + 1}` });
    // A worker without an 'error' listener would crash the demo when Redis goes away at the end.
    worker.on('error', () => undefined);
    return worker;
  });
}

/**
 * Fills the legacy queue the way the old producers did and starts the old workers: the corrupt
 * uploads first (the workers fail them, so they sit in `failed`), then everything else in bulk.
 */
export async function seedLegacy(mix: DemoMix, options: SeedOptions): Promise<OldWorkers> {
  const queue = options.bullmq.queue(LEGACY_QUEUE);
  queue.on('error', () => undefined);
  let workers: Worker[] = [];
  const close = async () => {
    await bounded(() => Promise.all(workers.map((w) => w.close())), 5000);
    await bounded(() => Promise.all(workers.map((w) => w.close(true))), 1000);
    workers = [];
  };
  try {
    await addAll(queue, mix.corrupt);
    workers = startWorkers(options);
    const deadline = Date.now() + 20_000;
    while ((await queue.getFailedCount()) < mix.corrupt.length) {
      if (options.signal.aborted) throw demoStopped();
      if (Date.now() > deadline) throw new Error(`the old workers did not fail the ${mix.corrupt.length} corrupt jobs within 20 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await addAll(queue, mix.bulk);
    if (options.signal.aborted) throw demoStopped();
  } catch (error) {
    await close();
    throw error;
  } finally {
    await bounded(() => queue.close(), 2000);
  }
  const finish = async (name: string, timeoutMs: number, signal: AbortSignal) => {
    if (workers.length === 0) throw new Error('the old workers are not running');
    return finishLegacyWork({ bullmq: options.bullmq, name, timeoutMs, signal });
  };
  return { count: options.workers, finish, close };
}
