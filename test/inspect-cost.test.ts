import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startRedis } from './helpers/redis.js';
import type { RedisProcess } from './setup/redis-process.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { discoverQueues, reverseBits } from '../src/inspect/discover.js';

// inspect's cost must grow with queues, not jobs: on a private redis-server (its commandstats are
// ours alone) the commands of `inspect --all` other than SCAN's walk stay the same whatever the
// queues hold, and the sliced SCAN walk finds every queue a plain walk finds.
let server: RedisProcess;
let redis: Redis;
const QUEUES = ['alpha', 'beta', 'gamma', 'delta'];

/** `jobs` more jobs in each queue, like BullMQ writes them: a hash each, 80% waiting, the rest failed. */
async function addJobs(from: number, jobs: number): Promise<void> {
  const pipeline = redis.pipeline();
  for (const q of QUEUES) {
    const key = (s: string | number) => `bull:${q}:${s}`;
    for (let id = from; id < from + jobs; id++) {
      pipeline.hset(key(id), 'name', 'work', 'data', '{}', 'opts', '{}', 'timestamp', 1_000 + id, 'delay', 0, 'priority', 0);
      if (id % 5 === 0) pipeline.zadd(key('failed'), id, String(id));
      else pipeline.lpush(key('wait'), String(id));
    }
    pipeline.hset(key('meta'), 'opts.maxLenEvents', 10000, 'version', 'bullmq:5.0.0');
    pipeline.set(key('id'), from + jobs);
  }
  await pipeline.exec();
}

/** Calls per command during one `inspect --all --json`, from INFO commandstats. */
async function inspectCalls(): Promise<{ calls: Map<string, number>; jobs: number; replyBytes: number }> {
  await redis.config('RESETSTAT');
  const bytesBefore = await outputBytes();
  const result = await runCli(['inspect', '--all', '--json', '--redis', server.url], { cwd: tempDir('inspect-cost'), env: { NO_COLOR: '1' } });
  expect(result.code, result.stderr).toBe(0);
  const stats = await redis.info('commandstats');
  const calls = new Map<string, number>();
  for (const match of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1], Number(match[2]));
  // Our own RESETSTAT and INFO, not inspect's.
  calls.delete('config|resetstat');
  const doc = JSON.parse(result.stdout) as { queues: { counts: Record<string, number> }[] };
  const jobs = doc.queues.reduce((sum, q) => sum + Object.values(q.counts).reduce((a, n) => a + n, 0), 0);
  // What the server sent inspect (less our own INFO replies): reading a whole list or set would show here.
  const replyBytes = (await outputBytes()) - bytesBefore;
  return { calls, jobs, replyBytes };
}

async function outputBytes(): Promise<number> {
  return Number(/total_net_output_bytes:(\d+)/.exec(await redis.info('stats'))![1]);
}

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe('inspect cost', () => {
  it('sends the same commands whatever the number of jobs (SCAN aside, which walks every key)', async () => {
    await addJobs(1, 20);
    const small = await inspectCalls();
    expect(small.jobs).toBe(QUEUES.length * 20);
    await addJobs(21, 2_000);
    const large = await inspectCalls();
    expect(large.jobs).toBe(QUEUES.length * 2_020);
    const withoutScan = (calls: Map<string, number>) => new Map([...calls].filter(([name]) => name !== 'scan'));
    expect(withoutScan(large.calls)).toEqual(withoutScan(small.calls));
    // Per queue, not per job: a handful of reads for each of the 4 queues.
    const reads = [...withoutScan(large.calls).values()].reduce((a, n) => a + n, 0);
    expect(reads).toBeLessThan(QUEUES.length * 20);
    // The replies do not grow either (an empty SCAN reply is ~30 bytes; 8,000 ids would be ~40 KB).
    const moreScans = (large.calls.get('scan') ?? 0) - (small.calls.get('scan') ?? 0);
    expect(large.replyBytes).toBeLessThan(small.replyBytes + moreScans * 40 + 2_000);
  });

  it('finds every queue when the walk is cut into slices, however big the table', async () => {
    await redis.flushall();
    // A near-empty table (fewer buckets than slices): each slice reads one bucket, some twice.
    await redis.set('bull:tiny:id', 1);
    expect(await discoverQueues([redis], 'bull', { slices: 16 })).toEqual(['tiny']);
    const names = Array.from({ length: 300 }, (_, i) => `q${i}`);
    const pipeline = redis.pipeline();
    names.forEach((name, i) => pipeline.set(`bull:${name}:id`, 1).hset(`bull:${name}:${i}`, 'name', 'x'));
    for (let i = 0; i < 20_000; i++) pipeline.hset(`bull:q${i % 300}:${1000 + i}`, 'name', 'x');
    await pipeline.exec();
    const expected = ['tiny', ...names].sort();
    expect(await discoverQueues([redis], 'bull', { slices: 1 })).toEqual(expected);
    expect(await discoverQueues([redis], 'bull', { slices: 16, count: 50 })).toEqual(expected);
    // While the table grows (and rehashes) under the walk, every queue present throughout is found.
    const growing = (async () => {
      for (let round = 0; round < 5; round++) {
        const more = redis.pipeline();
        for (let i = 0; i < 10_000; i++) more.set(`bull:q${i % 300}:${100_000 + round * 10_000 + i}`, 'x');
        await more.exec();
      }
    })();
    const during = await discoverQueues([redis], 'bull', { slices: 16, count: 50 });
    await growing;
    expect(during).toEqual(expected);
  });

  it('reverses the bits of a slice number within log2(slices) bits', () => {
    expect([0, 1, 2, 3].map((s) => reverseBits(s, 4))).toEqual([0, 2, 1, 3]);
    expect(reverseBits(1, 16)).toBe(8);
    expect(reverseBits(0, 1)).toBe(0);
  });
});
