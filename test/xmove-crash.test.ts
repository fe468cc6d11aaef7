import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase, migrateBullmq } from './helpers/postgres.js';
import { redisUrl, startRedis } from './helpers/redis.js';
import { closeAll, expectExactlyOnce, names, progressOf, seedAndConsume, startMigrate, topologyFile, type Where } from './xmove-fixture.js';

/**
 * migrate --to-url under kill -9: the CLI is killed at observed progress (the source journal's
 * counters) 20+ times in each direction while real BullMQ workers consume the destination (and
 * remove completed jobs at once, so a moved job may be gone before the source knows); each rerun
 * settles what the killed one left in flight. In the end every job ran exactly once, nothing is
 * left in the source or in flight.
 */
afterAll(closeAll);

// Enough jobs that a run cannot finish within 20 kills: the moves got 4–6× faster, and at 240
// jobs a loaded run moved ~15 jobs between a kill and the next poll, ending after 16 kills.
const N = 720;

const BATCH = 5;

/** Runs migrate, killing it -9 each time the journal shows `step` more jobs moved, until a run ends by itself. */
export async function killLoop(args: string[], progress: () => Promise<number>, step: number): Promise<{ kills: number; last: { code: number | null; out: string; err: string } }> {
  let kills = 0;
  let target = step;
  for (;;) {
    const run = startMigrate(args);
    let exited = false;
    void run.done.then(() => (exited = true));
    while (!exited && (await progress()) < target) await new Promise((r) => setTimeout(r, 15));
    if (exited) return { kills, last: { code: await run.done, out: run.out(), err: run.err() } };
    run.child.kill('SIGKILL');
    await run.done;
    kills += 1;
    target = (await progress()) + step;
  }
}

describe('migrate --to-url under kill -9', () => {
  for (const direction of ['redis→postgres', 'postgres→redis'] as const) {
    it(`${direction}: 20+ kills at observed progress, workers consuming the destination, every job runs exactly once`, async () => {
      const pgUrl = await freshDatabase();
      await migrateBullmq(pgUrl);
      const other = direction === 'postgres→redis' ? await startRedis() : undefined;
      const from: Where = direction === 'redis→postgres' ? { kind: 'redis', url: redisUrl() } : { kind: 'postgres', url: pgUrl };
      const to: Where = direction === 'redis→postgres' ? { kind: 'postgres', url: pgUrl } : { kind: 'redis', url: other!.url };
      try {
        const n = names();
        const runs = await seedAndConsume(from, to, n, N);
        const args = ['migrate', '--from', n.legacy, '--to-url', to.url, '--batch', String(BATCH), '--yes', '-c', topologyFile(n), '--url', from.url];
        // Kill at the first progress past the last kill: on a loaded machine a run moves several batches
        // between two polls, and a larger step let the run finish with fewer than 20 kills.
        const { kills, last } = await killLoop(args, progressOf(from, n.legacy), 1);
        expect(last.err).not.toMatch(/Error:|at .*\.js/);
        expect(last.code, last.err).toBe(0);
        await expectExactlyOnce(from, to, n, runs, N);
        expect(kills).toBeGreaterThanOrEqual(20);
      } finally {
        await closeAll();
        await other?.stop();
      }
    }, 600_000);
  }
});
