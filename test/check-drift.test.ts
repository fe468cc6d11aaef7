import { describe, expect, it } from 'vitest';
import { drift, inSync } from '../src/check/drift.js';
import { buildReport, renderReport } from '../src/check/render.js';
import { batchRanges, sampleRanges } from '../src/check/sample-names.js';
import { parseWorkerConnections } from '../src/check/workers.js';
import type { LiveFacts } from '../src/check/types.js';
import type { LiveQueue, QueueCounts } from '../src/inspect/types.js';
import type { Topology } from '../src/topology/types.js';

const topology: Topology = {
  version: 1,
  prefix: 'bull',
  queues: {
    'eccb-ocr': { name: 'eccb-ocr', jobs: ['ocr.process'], concurrency: 2, rateLimit: { max: 100, duration: 60_000 } },
    'eccb-process': { name: 'eccb-process', jobs: ['smartupload.process'] },
  },
  workers: { ocr: { name: 'ocr', queues: ['eccb-ocr'] }, proc: { name: 'proc', queues: ['eccb-process'] } },
  legacy: { 'eccb-smart-upload': { name: 'eccb-smart-upload' } },
};

const zero: QueueCounts = { waiting: 0, prioritized: 0, delayed: 0, active: 0, failed: 0, completed: 0, waitingChildren: 0 };
function q(name: string, kind: LiveQueue['kind'], extra: Partial<LiveQueue> = {}): LiveQueue {
  return { name, kind, exists: true, counts: { ...zero }, paused: false, oldestWaitingMs: null, meta: {}, stalled: 0, ...extra };
}
function facts(extra: Partial<LiveFacts> = {}): LiveFacts {
  return {
    queues: [q('eccb-ocr', 'declared'), q('eccb-process', 'declared'), q('eccb-smart-upload', 'legacy', { exists: false })],
    health: { evictionPolicy: 'noeviction' },
    misrouted: [],
    workers: [],
    deep: false,
    ...extra,
  };
}
const rules = (live: LiveFacts, cluster = false) => drift(topology, live, { cluster }).map((f) => `${f.severity}:${f.rule}:${f.queue ?? ''}`);

describe('drift', () => {
  it('is in sync when live matches the file', () => {
    const findings = drift(topology, facts());
    expect(findings).toEqual([]);
    expect(inSync(findings)).toBe(true);
  });

  it('warns (only) about a declared queue with no keys', () => {
    const live = facts({ queues: [q('eccb-ocr', 'declared'), q('eccb-process', 'declared', { exists: false })] });
    expect(rules(live)).toEqual(['warning:queue-absent:eccb-process']);
    expect(inSync(drift(topology, live))).toBe(true);
  });

  it('flags a legacy queue holding pending jobs, not one holding only completed jobs', () => {
    const legacy = q('eccb-smart-upload', 'legacy', { counts: { ...zero, waiting: 3, failed: 1 } });
    const [finding] = drift(topology, facts({ queues: [legacy] }));
    expect(finding).toMatchObject({ rule: 'legacy-has-jobs', severity: 'error', queue: 'eccb-smart-upload' });
    expect(finding!.message).toContain('4 jobs (3 waiting, 1 failed)');
    expect(finding!.message).toContain('queuectl migrate --from eccb-smart-upload');
    const done = q('eccb-smart-upload', 'legacy', { counts: { ...zero, completed: 9 } });
    expect(drift(topology, facts({ queues: [done] }))).toEqual([]);
  });

  it('names the --states that moves what the legacy queue holds: never a migrate that moves nothing', () => {
    const message = (counts: Partial<QueueCounts>) => drift(topology, facts({ queues: [q('eccb-smart-upload', 'legacy', { counts: { ...zero, ...counts } })] }))[0]!.message;
    expect(message({ failed: 50 })).toContain('run: queuectl migrate --from eccb-smart-upload --states failed ');
    expect(message({ waiting: 3, failed: 1 })).toContain('run: queuectl migrate --from eccb-smart-upload --states wait,prioritized,delayed,failed ');
    expect(message({ delayed: 3 })).toContain('run: queuectl migrate --from eccb-smart-upload (');
    expect(message({ active: 2 })).toContain('let the old workers finish them');
    expect(message({ active: 2 })).not.toContain('queuectl migrate');
    const failedOnly = facts({ misrouted: [{ queue: 'eccb-ocr', name: 'smartupload.process', count: 3, active: 0, failed: 3, examples: ['17'] }] });
    expect(drift(topology, failedOnly)[0]!.message).toMatch(/run: queuectl migrate --from eccb-ocr --states failed$/);
  });

  it('flags an undeclared queue with keys', () => {
    expect(rules(facts({ queues: [q('stray', 'undeclared', { counts: { ...zero, waiting: 1 } })] }))).toEqual(['error:queue-undeclared:stray']);
  });

  it('flags misrouted jobs with owner, examples and the migrate command', () => {
    const live = facts({ misrouted: [{ queue: 'eccb-ocr', name: 'smartupload.process', count: 3, active: 0, examples: ['17', '18'] }] });
    const [finding] = drift(topology, live);
    expect(finding!.rule).toBe('job-misrouted');
    expect(finding!.message).toBe(
      'at least 3 jobs named smartupload.process (e.g. 17, 18), owned by eccb-process — run: queuectl migrate --from eccb-ocr',
    );
    const deep = drift(topology, { ...live, deep: true });
    expect(deep[0]!.message.startsWith('3 jobs named')).toBe(true);
  });

  it('flags workers of undeclared queues, but not old workers draining a legacy queue', () => {
    const live = facts({
      workers: [
        { queue: 'stray', name: 'w1', addr: '1.2.3.4:5' },
        { queue: 'stray', name: 'w2', addr: '1.2.3.4:6' },
        { queue: 'eccb-smart-upload', name: 'old', addr: '1.2.3.4:7' },
        { queue: 'eccb-ocr', name: 'ocr', addr: '1.2.3.4:8' },
      ],
    });
    const findings = drift(topology, live);
    expect(findings.map((f) => f.rule)).toEqual(['worker-undeclared-queue']);
    expect(findings[0]!.message).toContain('2 worker connections (w1, w2)');
  });

  it('flags meta concurrency and rate limit that differ from the file, only when meta has them', () => {
    const live = facts({
      queues: [
        q('eccb-ocr', 'declared', { meta: { concurrency: 5, max: 100, duration: 60_000 } }),
        q('eccb-process', 'declared', { meta: { max: 10, duration: 1000 } }),
      ],
    });
    expect(rules(live)).toEqual(['error:meta-concurrency-drift:eccb-ocr', 'error:meta-ratelimit-drift:eccb-process']);
    expect(rules(facts({ queues: [q('eccb-ocr', 'declared', { meta: { concurrency: 2, max: 100, duration: 60_000 } })] }))).toEqual([]);
  });

  it('flags an eviction policy other than noeviction', () => {
    expect(rules(facts({ health: { evictionPolicy: 'allkeys-lru' } }))).toEqual(['error:eviction-policy:']);
  });

  it('makes a prefix without hash tag an error on a cluster', () => {
    expect(rules(facts(), true)).toEqual(['error:prefix-no-hash-tag:']);
    expect(drift({ ...topology, prefix: '{bull}' }, facts(), { cluster: true })).toEqual([]);
  });

  it('orders errors before warnings, grouped by rule', () => {
    const live = facts({
      health: { evictionPolicy: 'volatile-lru' },
      queues: [q('eccb-process', 'declared', { exists: false }), q('zz', 'undeclared'), q('aa', 'undeclared')],
    });
    expect(rules(live)).toEqual([
      'error:eviction-policy:',
      'error:queue-undeclared:aa',
      'error:queue-undeclared:zz',
      'warning:queue-absent:eccb-process',
    ]);
  });
});

describe('render', () => {
  it('prints one aligned line per finding and a drift summary', () => {
    const live = facts({
      queues: [q('eccb-process', 'declared', { exists: false })],
      misrouted: [{ queue: 'eccb-ocr', name: 'smartupload.process', count: 3, active: 0, examples: ['17', '18'] }],
    });
    const report = buildReport(drift(topology, live));
    expect(report.inSync).toBe(false);
    const text = renderReport(report, { queues: 2, legacy: 1, redis: 'redis://u:***@h:1', sample: 50 }, false);
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      'ERROR    job-misrouted  eccb-ocr      at least 3 jobs named smartupload.process (e.g. 17, 18), owned by eccb-process — run: queuectl migrate --from eccb-ocr',
    );
    expect(lines[1]).toBe('');
    expect(lines[2]).toMatch(/^WARNING  queue-absent   eccb-process  declared but/);
    expect(lines.at(-1)).toBe(
      'drift: 1 error, 1 warning — 2 queues, 1 legacy queue checked against redis://u:***@h:1; job names sampled (first and last 50 per state; --deep reads all)',
    );
    expect(text).not.toMatch(/\x1b\[/);
  });

  it('says in sync, and the JSON document has the contract shape', () => {
    const report = buildReport([]);
    expect(report).toEqual({ schema: 'queuectl/topology-check@1', inSync: true, findings: [] });
    expect(renderReport(report, { queues: 4, legacy: 1, redis: 'redis://h:1' }, false)).toBe(
      'in sync: 4 queues, 1 legacy queue checked against redis://h:1; every job read',
    );
  });
});

describe('sampling ranges', () => {
  it('covers the first and last n once', () => {
    expect(sampleRanges(0, 50)).toEqual([]);
    expect(sampleRanges(80, 50)).toEqual([[0, 79]]);
    expect(sampleRanges(1000, 50)).toEqual([[0, 49], [950, 999]]);
  });
  it('batches all indexes', () => {
    expect(batchRanges(2500, 1000)).toEqual([[0, 999], [1000, 1999], [2000, 2499]]);
    expect(batchRanges(0, 1000)).toEqual([]);
  });
});

describe('worker connections', () => {
  it('decodes BullMQ worker names under the prefix and skips everything else', () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const list = [
      `id=1 addr=127.0.0.1:1 name=bull:${b64('eccb-ocr')} cmd=bzpopmin`,
      `id=2 addr=127.0.0.1:2 name=bull:${b64('stray')}:w:stray-worker cmd=bzpopmin`,
      `id=3 addr=127.0.0.1:3 name=bull:${b64('eccb-ocr')}:qe cmd=xread`,
      `id=4 addr=127.0.0.1:4 name=other:${b64('x')} cmd=get`,
      `id=5 addr=127.0.0.1:5 name= cmd=client`,
    ].join('\n');
    expect(parseWorkerConnections(list, 'bull')).toEqual([
      { queue: 'eccb-ocr', name: '127.0.0.1:1', addr: '127.0.0.1:1' },
      { queue: 'stray', name: 'stray-worker', addr: '127.0.0.1:2' },
    ]);
  });
});
