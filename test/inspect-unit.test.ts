import { describe, expect, it } from 'vitest';
import { evaluateAlert, heldJobs } from '../src/inspect/alerts.js';
import { formatAge } from '../src/ui/format.js';
import { discoveryPattern, queueNameOf } from '../src/inspect/discover.js';
import { escapeGlob } from '../src/redis/scan.js';
import { parseClientList, parseQueueReads, workerClientName } from '../src/inspect/read-queues.js';
import { parseJob } from '../src/inspect/read-job.js';
import { inspectDocument, renderHealth, renderQueueTable } from '../src/inspect/render.js';
import { ratesSince, snapshot } from '../src/inspect/watch.js';
import type { LiveQueue } from '../src/inspect/types.js';

const zero = { waiting: 0, prioritized: 0, delayed: 0, active: 0, failed: 0, completed: 0, waitingChildren: 0 };

function live(overrides: Partial<LiveQueue> = {}): LiveQueue {
  return { name: 'q', kind: 'declared', exists: true, counts: { ...zero }, paused: false, oldestWaitingMs: null, meta: {}, stalled: 0, workers: [], ...overrides };
}

describe('alerts', () => {
  it('is ok without thresholds, warning and critical at or above them', () => {
    expect(evaluateAlert(live({ counts: { ...zero, waiting: 1000 } }), undefined).level).toBe('ok');
    const alerts = { waiting: [100, 500] as [number, number], oldestWait: [60_000, 300_000] as [number, number] };
    expect(evaluateAlert(live({ counts: { ...zero, waiting: 99 } }), alerts).level).toBe('ok');
    expect(evaluateAlert(live({ counts: { ...zero, waiting: 100 } }), alerts)).toEqual({ level: 'warning', reasons: ['waiting 100 ≥ 100'] });
    expect(evaluateAlert(live({ counts: { ...zero, waiting: 500 } }), alerts).level).toBe('critical');
    const old = evaluateAlert(live({ oldestWaitingMs: 400_000 }), alerts);
    expect(old).toEqual({ level: 'critical', reasons: ['oldest wait 6m ≥ 5m'] });
  });

  it('takes the worst of several thresholds', () => {
    const alerts = { failed: [1, 10] as [number, number], delayed: [5, 50] as [number, number], active: [1, 2] as [number, number] };
    const result = evaluateAlert(live({ counts: { ...zero, failed: 2, delayed: 60, active: 1 } }), alerts);
    expect(result.level).toBe('critical');
    expect(result.reasons).toHaveLength(3);
  });

  it('warns about a legacy queue holding jobs, not an empty one', () => {
    expect(evaluateAlert(live({ kind: 'legacy', counts: { ...zero, completed: 50 } }), undefined).level).toBe('ok');
    expect(evaluateAlert(live({ kind: 'legacy', counts: { ...zero, delayed: 1 } }), undefined))
      .toEqual({ level: 'warning', reasons: ['legacy queue holds 1 job'] });
    expect(heldJobs({ ...zero, waiting: 1, failed: 2, waitingChildren: 3, completed: 9 })).toBe(6);
  });

  it('formats ages', () => {
    expect([850, 3000, 4 * 60_000 + 5, 2 * 3_600_000, 3 * 86_400_000].map(formatAge)).toEqual(['0s', '3s', '4m', '2h', '3d']);
  });
});

describe('discovery keys', () => {
  it('escapes glob specials and keeps hash tags', () => {
    expect(escapeGlob('{bull}')).toBe('{bull}');
    expect(escapeGlob('a*b?[c]\\')).toBe('a\\*b\\?\\[c\\]\\\\');
    expect(discoveryPattern('{bull}')).toBe('{bull}:*:[acdfimpw]*');
  });

  it('recognises marker keys only', () => {
    expect(queueNameOf('bull:orders:meta', 'bull')).toBe('orders');
    expect(queueNameOf('bull:orders:completed', 'bull')).toBe('orders');
    expect(queueNameOf('bull:orders:waiting-children', 'bull')).toBe('orders');
    expect(queueNameOf('bull:orders:123', 'bull')).toBeUndefined();
    expect(queueNameOf('bull:orders:process-1', 'bull')).toBeUndefined();
    expect(queueNameOf('bull:orders:1:logs', 'bull')).toBeUndefined();
    expect(queueNameOf('bull::relay:meta', 'bull')).toBeUndefined();
    expect(queueNameOf('bullx:orders:meta', 'bull')).toBeUndefined();
    expect(queueNameOf('{b}:q:id', '{b}')).toBe('q');
  });
});

describe('parsing replies', () => {
  it('counts 5.x paused lists as waiting and skips old wait-list markers', () => {
    const replies = [3, 2, 1, 4, 5, 6, 7, 8, 1, ['1', 'bullmq:5.1.0', '4', null, null], 1, 0, ['7', '0:1'], '9', ['11']];
    const { queue, oldestId } = parseQueueReads({ name: 'q', kind: 'legacy' }, replies);
    expect(queue.counts).toEqual({ waiting: 4, prioritized: 4, delayed: 5, active: 1, failed: 6, completed: 7, waitingChildren: 8 });
    expect(queue.paused).toBe(true);
    expect(queue.bullmqVersion).toBe('bullmq:5.1.0');
    expect(queue.meta).toEqual({ concurrency: 4, max: undefined, duration: undefined });
    expect(oldestId).toBe('7');
  });

  it('falls back to the first prioritized job, and knows an absent queue', () => {
    const prio = parseQueueReads({ name: 'q', kind: 'declared' }, [0, 0, 0, 2, 0, 0, 0, 0, 0, [null, null, null, null, null], 0, 0, [], null, ['p1']]);
    expect(prio.oldestId).toBe('p1');
    const absent = parseQueueReads({ name: 'q', kind: 'declared' }, [0, 0, 0, 0, 0, 0, 0, 0, 0, [null, null, null, null, null], 0, 0, [], null, []]);
    expect(absent.queue.exists).toBe(false);
    expect(absent.oldestId).toBeUndefined();
  });

  it('finds BullMQ worker connections by name', () => {
    const name = workerClientName('bull', 'orders');
    expect(name).toBe(`bull:${Buffer.from('orders').toString('base64')}`);
    const list = [
      `id=1 addr=127.0.0.1:5000 laddr=x fd=8 name=${name} age=1 idle=3 flags=N`,
      `id=2 addr=127.0.0.1:5001 fd=9 name=${name}:w:ocr-1 age=1 idle=0 flags=N`,
      `id=3 addr=127.0.0.1:5002 fd=9 name=${name}:qe age=1 idle=0 flags=N`,
      `id=4 addr=127.0.0.1:5003 fd=9 name= age=1 idle=0 flags=N`,
    ].join('\n');
    const workers = parseClientList(list, 'bull', ['orders', 'other']);
    expect(workers.get('orders')).toEqual([
      { name: '127.0.0.1:5000', addr: '127.0.0.1:5000', idleSeconds: 3 },
      { name: 'ocr-1', addr: '127.0.0.1:5001', idleSeconds: 0 },
    ]);
    expect(workers.get('other')).toBeUndefined();
  });

  it('reads a job hash, old and new attempt fields, delayed due time', () => {
    const due = Date.UTC(2030, 0, 1);
    const probes = [null, null, String(due * 4096 + 7), null, null, null, null, null];
    const job = parseJob('q', 'j1', { name: 'n', data: '{"a":1}', opts: '{}', attemptsMade: '2', timestamp: '0', delay: '5000', stacktrace: '["Error: x\\n    at y"]' }, probes, 3);
    expect(job).toMatchObject({ state: 'delayed', attemptsMade: 2, data: { a: 1 }, dueAt: '2030-01-01T00:00:00.000Z', createdAt: '1970-01-01T00:00:00.000Z', logs: 3 });
    expect(job.stacktrace).toEqual(['Error: x\n    at y']);
  });
});

describe('rendering', () => {
  const health = { version: '7.0.15', mode: 'standalone' as const, usedMemory: 2048, maxMemory: 0, evictionPolicy: 'allkeys-lru', nodes: 1 };

  it('builds the contract JSON shape', () => {
    const doc = inspectDocument([{ queue: live({ workers: undefined }), alert: { level: 'ok', reasons: [] } }], health);
    expect(doc.schema).toBe('queuectl/inspect@1');
    expect(Object.keys(doc.redis)).toEqual(expect.arrayContaining(['version', 'mode', 'usedMemory', 'maxMemory', 'evictionPolicy']));
    expect(doc.queues[0]).toMatchObject({ name: 'q', kind: 'declared', paused: false, oldestWaitingMs: null, workers: null, alert: 'ok' });
    expect(Object.keys(doc.queues[0].counts)).toEqual(expect.arrayContaining(['waiting', 'prioritized', 'delayed', 'active', 'failed', 'completed']));
  });

  it('renders a plain table and a health warning when eviction may drop jobs', () => {
    const text = renderQueueTable([{ queue: live({ oldestWaitingMs: 3000 }), alert: { level: 'warning', reasons: ['waiting 1 ≥ 1'] } }], { color: false });
    expect(text).toContain('oldest wait');
    expect(text).toContain('3s');
    expect(text).not.toMatch(/\x1b\[/);
    expect(renderHealth(health, { color: false })).toMatch(/warning: maxmemory-policy is allkeys-lru/);
    expect(renderHealth({ ...health, evictionPolicy: 'noeviction' }, { color: false })).not.toMatch(/warning/);
  });

  it('computes rates per second between ticks', () => {
    const a = snapshot([live({ counts: { ...zero, waiting: 10, completed: 0 } })], 0);
    const b = snapshot([live({ counts: { ...zero, waiting: 4, completed: 12 } })], 2000);
    expect(ratesSince(undefined, a, 'q')).toBeUndefined();
    expect(ratesSince(a, b, 'q')).toEqual({ waitingPerSec: -3, completedPerSec: 6 });
  });
});
