/**
 * The jobs the demo puts in the legacy shared queue, as the old Smart Upload producers wrote them.
 * Pure and seeded: the same options always give the same jobs, so the demo's expectations are exact.
 */

export const LEGACY_QUEUE = 'eccb-smart-upload';
/** A name the old code used that no queue in the new topology owns: migrate must leave it put. */
export const UNOWNED_NAME = 'smartupload.legacyThumbnail';

export interface DemoJob {
  name: string;
  data: Record<string, unknown>;
  opts: { jobId: string; attempts: number; backoff?: { type: 'exponential'; delay: number }; delay?: number; priority?: number };
}

export interface DemoMix {
  /** Jobs marked corrupt: the stand-in old worker fails them (attempts 1), so they end in `failed`. */
  corrupt: DemoJob[];
  /** Everything else: waiting, delayed and prioritized jobs of every name. */
  bulk: DemoJob[];
}

export interface MixOptions {
  /** Jobs in all, corrupt and unowned included. */
  total: number;
  corrupt: number;
  unowned: number;
  seed?: number;
}

export const DEFAULT_MIX: MixOptions = { total: 5000, corrupt: 40, unowned: 12, seed: 42 };

const MINUTE = 60_000;
const RETRY = { attempts: 3, backoff: { type: 'exponential' as const, delay: 2000 } };

/** mulberry32: a tiny seeded PRNG, so runs are repeatable without a dependency. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function buildMix(options: MixOptions = DEFAULT_MIX): DemoMix {
  const random = prng(options.seed ?? 42);
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)];
  const users = ['alice', 'bob', 'chen', 'dara', 'emeka', 'fatima'];
  let session = 0;
  const nextSession = () => {
    session += 1;
    return { sessionId: `s${String(session).padStart(5, '0')}`, fileId: `f${String(session).padStart(5, '0')}`, uploadedBy: pick(users) };
  };

  const corrupt: DemoJob[] = [];
  for (let i = 0; i < options.corrupt; i++) {
    const s = nextSession();
    // Most bad uploads fail in the first pass; a few only in the second.
    const name = i % 4 === 3 ? 'smartupload.secondPass' : 'smartupload.process';
    const id = name === 'smartupload.process' ? `process-${s.sessionId}` : `secondpass-${s.sessionId}`;
    corrupt.push({ name, data: { ...s, corrupt: true }, opts: { jobId: id, attempts: 1 } });
  }

  const bulk: DemoJob[] = [];
  const room = options.total - options.corrupt - options.unowned;
  // One upload session makes a first pass, often a second pass and an auto-commit, sometimes OCR.
  while (bulk.length < room) {
    const s = nextSession();
    const jobs: DemoJob[] = [{ name: 'smartupload.process', data: { ...s }, opts: { jobId: `process-${s.sessionId}`, ...RETRY } }];
    if (random() < 0.5) jobs.push({ name: 'smartupload.secondPass', data: { sessionId: s.sessionId, pages: [1, 2, 3] }, opts: { jobId: `secondpass-${s.sessionId}`, ...RETRY } });
    if (random() < 0.6) jobs.push({ name: 'smartupload.autoCommit', data: { sessionId: s.sessionId }, opts: { jobId: `autocommit-${s.sessionId}`, ...RETRY, attempts: 5 } });
    if (random() < 0.25) jobs.push({ name: 'ocr.process', data: { fileId: s.fileId, page: 1 }, opts: { jobId: `ocr-${s.fileId}`, ...RETRY } });
    for (const job of jobs) {
      const roll = random();
      // ~12% scheduled for later (5-55 min), ~10% pushed ahead by a rush upload (priority 1-5).
      if (roll < 0.12) job.opts.delay = (5 + Math.floor(random() * 50)) * MINUTE;
      else if (roll < 0.22) job.opts.priority = 1 + Math.floor(random() * 5);
      if (bulk.length < room) bulk.push(job);
    }
  }

  // Thumbnail rebuilds the old code scheduled for tonight (6 h out): delayed, so the old workers
  // never run them during the demo, and owned by no queue in the new topology.
  for (let i = 0; i < options.unowned; i++) {
    const s = nextSession();
    bulk.push({ name: UNOWNED_NAME, data: { fileId: s.fileId }, opts: { jobId: `thumb-${s.fileId}`, ...RETRY, delay: 6 * 60 * MINUTE + i * 1000 } });
  }
  return { corrupt, bulk };
}

/** How many jobs of each name a mix holds (for the demo's narrative). */
export function countByName(jobs: DemoJob[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const job of jobs) counts[job.name] = (counts[job.name] ?? 0) + 1;
  return counts;
}
