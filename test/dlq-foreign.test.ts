import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { bullConnection, client, uniqueName } from './helpers/redis.js';
import { testContext } from './helpers/context.js';
import { deletePrefix, runUntilCompleted } from './dlq-helpers.js';
import { run as list } from '../src/commands/dlq-list.js';
import { run as show } from '../src/commands/dlq-show.js';
import { run as retry } from '../src/commands/dlq-retry.js';
import { run as stats } from '../src/commands/dlq-stats.js';
import { readCarried } from '../src/dlq/shape.js';

// Issue 12.1: a real app writes its own dead-letter items ({ originalJobId, originalQueue,
// originalName, originalData, failedReason, failedAt, attemptsMade }) into eccb-dead-letter.
const prefix = uniqueName('p');
const ocr = uniqueName('ocr');
const proc = uniqueName('proc');
const legacy = uniqueName('shared');
const dlqName = uniqueName('dead-letter');
const FIELDS = '{ queue: originalQueue, id: originalJobId, name: originalName, data: originalData, reason: failedReason, failedAt: failedAt, attempts: attemptsMade, opts: originalOpts }';
const yamlWith = (fields: string) => `version: 1
prefix: "${prefix}"
defaults: { attempts: 3, deadLetter: { queue: ${dlqName}${fields ? `, fields: ${fields}` : ''} } }
queues:
  ${ocr}: { jobs: [ocr.process], jobId: "ocr-{fileId}" }
  ${proc}: { jobs: [smartupload.process], dedup: none }
  ${dlqName}: { jobs: [dead-letter], dedup: none, attempts: 1, deadLetter: failed }
workers:
  w: { queues: [${ocr}, ${proc}] }
legacy:
  ${legacy}: { note: shared queue before the split }
`;
const declared = yamlWith(FIELDS);
const undeclared = yamlWith('');
let redis: Redis;
let dlq: Queue;
const ids: Record<string, string> = {};

/** What the app's worker writes on a job's last failure. */
function foreign(queue: string, id: string, name: string, data: unknown, extra: Record<string, unknown> = {}) {
  return { originalJobId: id, originalQueue: queue, originalName: name, originalData: data, failedReason: `cannot process ${id}`, failedAt: new Date(Date.now() - 60_000).toISOString(), attemptsMade: 3, ...extra };
}

beforeAll(async () => {
  redis = client();
  dlq = new Queue(dlqName, { connection: bullConnection(), prefix });
  ids.plain = (await dlq.add('dead-letter', foreign(ocr, 'ocr-f1', 'ocr.process', { fileId: 'f1' }))).id!;
  ids.prio = (await dlq.add('dead-letter', foreign(ocr, 'ocr-f2', 'ocr.process', { fileId: 'f2' }, { originalOpts: { priority: 7 } }))).id!;
  ids.legacy = (await dlq.add('dead-letter', foreign(legacy, '41', 'smartupload.process', { sessionId: 's-41' }))).id!;
  ids.unowned = (await dlq.add('dead-letter', foreign(legacy, '42', 'thumbnail.render', { sessionId: 's-42' }))).id!;
  // Does not fit the declared shape: no originalData.
  const { originalData: _, ...broken } = foreign(ocr, 'ocr-f3', 'ocr.process', {});
  ids.broken = (await dlq.add('dead-letter', broken)).id!;
});

afterAll(async () => {
  await dlq.close();
  await deletePrefix(redis, prefix);
});

const topologyOf = async (yaml: string) => (await testContext({ yaml }).ctx.topology()).topology;
const ctxFor = (yaml: string, extra: Parameters<typeof testContext>[0] = {}) => testContext({ yaml, ...extra });
const ref = (key: keyof typeof ids) => `${dlqName}/${ids[key]}`;
/** Every key matching, sorted (a whole SCAN: other files share this Redis). */
async function keysMatching(pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, page] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.push(...page);
    cursor = next;
  } while (cursor !== '0');
  return [...new Set(keys)].sort();
}
/** Every key of the real queues: a refused retry leaves them all absent. */
const realKeys = async () => [...(await keysMatching(`${prefix}:${ocr}:*`)), ...(await keysMatching(`${prefix}:${proc}:*`))];

describe('dead-letter items in the shape the topology declares (deadLetter.fields)', () => {
  it('list, show and stats read reason, attempts and name through the mapping; an item that does not fit is unreadable', async () => {
    const t = ctxFor(declared, { json: true });
    expect(await list({}, t.ctx)).toBe(0);
    const items = t.json().items as Record<string, unknown>[];
    expect(items.find((i) => i.ref === ref('plain'))).toMatchObject({ queue: ocr, id: 'ocr-f1', name: 'ocr.process', failedReason: 'cannot process ocr-f1', attemptsMade: 3 });
    expect(items.find((i) => i.ref === ref('broken'))).toMatchObject({ unreadable: 'no originalData' });
    const text = ctxFor(declared);
    await list({}, text.ctx);
    expect(text.stdout()).toMatch(/unreadable: no originalData/);
    const shown = ctxFor(declared);
    expect(await show({}, shown.ctx, [ref('plain')])).toBe(0);
    expect(shown.stdout()).toContain('reason:       cannot process ocr-f1');
    expect(shown.stdout()).toContain('attempts:     3');
    expect(shown.stdout()).toContain('"fileId": "f1"');
    const s = ctxFor(declared, { json: true });
    await stats({}, s.ctx);
    const rows = s.json().queues as { queue: string; count: number; topReasons: { reason: string }[] }[];
    expect(rows.find((r) => r.queue === ocr)).toMatchObject({ count: 2 });
    expect(rows.find((r) => r.queue === '(unreadable)')).toMatchObject({ count: 1 });
    // --queue takes a legacy queue: the items that came from it.
    const fromLegacy = ctxFor(declared, { json: true });
    await list({ queue: [legacy] }, fromLegacy.ctx);
    expect((fromLegacy.json().items as { id: string }[]).map((i) => i.id).sort()).toEqual(['41', '42']);
  });

  it('an unreadable item is never retried: by reference exit 2 with one line, with --all refused; nothing written', async () => {
    const error = await retry({}, ctxFor(declared, { yes: true }).ctx, [ref('broken')]).catch((e) => e);
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(/cannot retry .*: unreadable: the item does not fit its dead-letter queue's item shape \(no originalData\)/);
    expect(await realKeys()).toEqual([]);
    const dry = ctxFor(declared, { json: true });
    expect(await retry({ all: true, dryRun: true }, dry.ctx)).toBe(1);
    expect(dry.json().refused).toEqual(expect.arrayContaining([expect.objectContaining({ ref: ref('broken'), reason: expect.stringMatching(/^unreadable/) })]));
    expect(await realKeys()).toEqual([]);
  });

  it('retry re-adds the job under its own name and data; a prioritized job goes back prioritized', async () => {
    const t = ctxFor(declared, { yes: true, json: true });
    expect(await retry({}, t.ctx, [ref('plain'), ref('prio')])).toBe(0);
    expect(t.json().retried).toBe(2);
    const job = await redis.hgetall(`${prefix}:${ocr}:ocr-f1`);
    expect(job.name).toBe('ocr.process');
    expect(JSON.parse(job.data)).toEqual({ fileId: 'f1' });
    expect(await redis.lrange(`${prefix}:${ocr}:wait`, 0, -1)).toEqual(['ocr-f1']);
    expect(await redis.zrange(`${prefix}:${ocr}:prioritized`, 0, -1)).toEqual(['ocr-f2']);
    expect(await redis.hget(`${prefix}:${ocr}:ocr-f2`, 'priority')).toBe('7');
    expect(JSON.parse((await redis.hget(`${prefix}:${ocr}:ocr-f2`, 'opts'))!)).toMatchObject({ priority: 7, attempts: 3 });
    const ran = await runUntilCompleted(redis, prefix, ocr, 'ocr-f2');
    expect(ran.sort()).toEqual(['ocr-f1', 'ocr-f2']);
  });

  it('the failed copy a worker left behind goes back in its own state kind: prioritized, not wait', async () => {
    await redis.hset(`${prefix}:${ocr}:ocr-f9`, 'name', 'ocr.process', 'data', '{"fileId":"f9"}', 'opts', '{"attempts":3,"priority":4}', 'priority', 4, 'timestamp', Date.now(), 'atm', 3, 'failedReason', 'x', 'finishedOn', Date.now());
    await redis.zadd(`${prefix}:${ocr}:failed`, Date.now(), 'ocr-f9');
    const copy = (await dlq.add('dead-letter', foreign(ocr, 'ocr-f9', 'ocr.process', { fileId: 'f9' }))).id!;
    const t = ctxFor(declared, { yes: true, json: true });
    expect(await retry({}, t.ctx, [`${dlqName}/${copy}`])).toBe(0);
    expect(t.json().retried).toBe(1);
    expect(await redis.zscore(`${prefix}:${ocr}:failed`, 'ocr-f9')).toBeNull();
    expect(await redis.zscore(`${prefix}:${ocr}:prioritized`, 'ocr-f9')).not.toBeNull();
    expect(await redis.lrange(`${prefix}:${ocr}:wait`, 0, -1)).not.toContain('ocr-f9');
    expect(await redis.hget(`${prefix}:${ocr}:ocr-f9`, 'atm')).toBeNull();
  });

  it('an item of a legacy queue goes to the queue that now owns its name; an unowned name is refused', async () => {
    // Named by the job it carries: <legacy queue>/<original id>.
    const t = ctxFor(declared, { yes: true, json: true });
    expect(await retry({}, t.ctx, [`${legacy}/41`])).toBe(0);
    expect(t.json()).toMatchObject({ retried: 1, perQueue: { [proc]: 1 } });
    const job = await redis.hgetall(`${prefix}:${proc}:41`);
    expect(job.name).toBe('smartupload.process');
    expect(JSON.parse(job.data)).toEqual({ sessionId: 's-41' });
    expect(await redis.lrange(`${prefix}:${proc}:wait`, 0, -1)).toEqual(['41']);
    // A numeric id keeps the new owner's id counter past it.
    expect(Number(await redis.get(`${prefix}:${proc}:id`))).toBeGreaterThanOrEqual(41);
    expect(await redis.exists(`${prefix}:${legacy}:41`)).toBe(0);
    const error = await retry({}, ctxFor(declared, { yes: true }).ctx, [ref('unowned')]).catch((e) => e);
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(`no declared queue owns the job name "thumbnail.render"`);
  });
});

describe('the same items with no declared shape (the default, contract Part 1)', () => {
  it('are unreadable, never shown as an empty reason and 0 attempts, and never retried', async () => {
    const t = ctxFor(undeclared, { json: true });
    expect(await list({}, t.ctx)).toBe(0);
    const items = t.json().items as Record<string, unknown>[];
    const pending = items.filter((i) => i.ref === ref('broken') || i.ref === ref('unowned'));
    expect(pending).toHaveLength(2);
    for (const item of pending) expect(item.unreadable).toBe('no jobData, error, attempts');
    const before = await realKeys();
    const error = await retry({}, ctxFor(undeclared, { yes: true }).ctx, [ref('unowned')]).catch((e) => e);
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(/unreadable/);
    const all = ctxFor(undeclared, { yes: true, json: true });
    expect(await retry({ all: true }, all.ctx)).toBe(1);
    expect(all.json()).toMatchObject({ planned: 0, retried: 0 });
    expect(await realKeys()).toEqual(before);
  });
});

describe('item shapes (pure)', () => {
  it('reads the default shape and a declared one, and says what does not fit', () => {
    const def = { queue: 'originalQueue', id: 'originalJobId', data: 'jobData', reason: 'error', attempts: 'attempts', failedAt: 'failedAt' };
    expect(readCarried(JSON.stringify({ originalQueue: 'q', originalJobId: 7, jobData: { a: 1 }, error: { message: 'm', stack: 's' }, attempts: 2, failedAt: 5 }), def))
      .toMatchObject({ queue: 'q', id: '7', data: { a: 1 }, reason: 'm', stack: 's', attempts: 2, failedAt: 5, priority: 0, lifo: false });
    expect(readCarried('{"originalQueue":"q","originalJobId":"x","jobData":{},"error":"e","attempts":"two","failedAt":1}', def)).toEqual({ problem: 'attempts is not a count' });
    expect(readCarried('nope', def)).toEqual({ problem: 'its data is not JSON' });
    expect(readCarried('[1]', def)).toEqual({ problem: 'its data is not an object' });
    expect(readCarried('{"originalQueue":"","originalJobId":"x","jobData":{},"error":"e","attempts":1,"failedAt":1}', def)).toEqual({ problem: 'originalQueue is not a queue name' });
  });

  it('the topology accepts deadLetter.fields and names a wrong key', async () => {
    const topology = await topologyOf(declared);
    expect(topology.queues[ocr].deadLetter).toEqual({ kind: 'queue', queue: dlqName, fields: {
      queue: 'originalQueue', id: 'originalJobId', name: 'originalName', data: 'originalData', reason: 'failedReason', failedAt: 'failedAt', attempts: 'attemptsMade', opts: 'originalOpts',
    } });
    await expect(topologyOf(yamlWith('{ queue: q, id: i, data: d, reasn: r }'))).rejects.toThrow(/reasn/);
    await expect(topologyOf(yamlWith('{ queue: q, data: d }'))).rejects.toThrow(/fields\.id/);
  });
});
