import { describe, expect, it } from 'vitest';
import { formatPath, lint } from '../src/topology/lint.js';
import { ruleIds } from '../src/topology/rules/index.js';
import { parseIdTemplate, jobIdProblem } from '../src/topology/rules/template.js';
import type { QueueSpec, Topology } from '../src/topology/types.js';
import { runCli } from './helpers/cli.js';

/** A queue that satisfies every rule; tests break one thing at a time. */
function queue(name: string, over: Partial<QueueSpec> = {}): QueueSpec {
  return {
    name,
    jobs: [`${name}.run`],
    jobId: `${name}-{id}`,
    attempts: 3,
    backoff: { type: 'exponential', delay: 2000 },
    removeOnComplete: { age: 86_400_000, count: 1000 },
    removeOnFail: { age: 604_800_000, count: 5000 },
    deadLetter: { kind: 'failed' },
    ...over,
  };
}

/** A clean topology: queues a and b, each with its own worker. */
function topo(edit: (t: Topology) => void = () => {}): Topology {
  const t: Topology = {
    version: 1,
    prefix: 'bull',
    queues: { a: queue('a'), b: queue('b') },
    workers: { wa: { name: 'wa', queues: ['a'] }, wb: { name: 'wb', queues: ['b'] } },
    legacy: {},
  };
  edit(t);
  return t;
}

const rulesOf = (t: Topology, options = {}) => lint(t, options).map((f) => f.rule);

describe('lint', () => {
  it('finds nothing in a clean topology', () => {
    expect(lint(topo())).toEqual([]);
  });

  // One row per rule id: a topology that breaks it (and only it, where possible).
  const broken: [string, (t: Topology) => void, 'error' | 'warning'][] = [
    ['job-name-many-owners', (t) => (t.queues.b!.jobs = ['a.run']), 'error'],
    ['queue-no-worker', (t) => (t.workers = { wa: t.workers.wa! }), 'error'],
    ['queue-many-workers', (t) => (t.workers.wb!.queues = ['a', 'b']), 'error'],
    ['worker-unknown-queue', (t) => t.workers.wb!.queues.push('c'), 'error'],
    ['legacy-unknown-queue', (t) => (t.legacy.old = { name: 'old', to: 'nope' }), 'error'],
    ['legacy-is-declared', (t) => (t.legacy.a = { name: 'a' }), 'error'],
    ['dead-letter-unknown-queue', (t) => (t.queues.a!.deadLetter = { kind: 'queue', queue: 'dlq' }), 'error'],
    ['queue-name-invalid', (t) => { t.queues['a:b'] = queue('a:b', { jobId: 'ab-{id}', jobs: ['ab.run'] }); t.workers.wa!.queues.push('a:b'); }, 'error'],
    ['job-id-invalid', (t) => (t.queues.a!.jobId = '{id}'), 'error'],
    ['job-id-field-unknown', (t) => (t.queues.a!.payload = { type: 'object', properties: { other: { type: 'string' } }, required: ['other'] }), 'error'],
    ['job-id-field-optional', (t) => (t.queues.a!.payload = { type: 'object', properties: { id: { type: 'string' } }, required: [] }), 'warning'],
    ['dedup-missing', (t) => delete t.queues.a!.jobId, 'error'],
    ['no-retries', (t) => (t.queues.a!.attempts = 1), 'error'],
    ['no-backoff', (t) => delete t.queues.a!.backoff, 'warning'],
    ['no-retention', (t) => delete t.queues.a!.removeOnComplete, 'error'],
    ['no-dead-letter', (t) => delete t.queues.a!.deadLetter, 'error'],
    ['job-options-unknown-job', (t) => (t.queues.a!.jobOptions = { 'a.rum': { priority: 5 } }), 'error'],
    ['scheduler-job-unowned', (t) => (t.queues.a!.schedulers = { nightly: { id: 'nightly', pattern: '0 3 * * *', job: { name: 'b.run' } } }), 'error'],
    ['dead-letter-removed', (t) => (t.queues.a!.removeOnFail = true), 'error'],
    ['dead-letter-retried', (t) => {
      t.queues.a!.deadLetter = { kind: 'queue', queue: 'b' };
      t.workers = { wa: t.workers.wa! };
    }, 'error'],
    ['table-column-twice', (t) => (t.legacy = { jobs: { name: 'jobs', table: { name: 'jobs', columns: { name: 'type', data: 'type' } } } }), 'error'],
    ['table-status-twice', (t) => (t.legacy = { jobs: { name: 'jobs', table: { name: 'jobs', status: { ready: 'NEW', active: 'NEW' } } } }), 'error'],
  ];

  it.each(broken)('%s: reported when broken, with its severity', (rule, edit, severity) => {
    const findings = lint(topo(edit));
    expect(findings.map((f) => f.rule)).toEqual([rule]);
    expect(findings[0]!.severity).toBe(severity);
    expect(findings[0]!.message.length).toBeGreaterThan(40);
  });

  it('covers every rule id', () => {
    const covered = new Set([...broken.map(([r]) => r), 'prefix-no-hash-tag']);
    expect([...ruleIds].filter((id) => !covered.has(id))).toEqual([]);
  });

  it('job-name-many-owners names every owner once', () => {
    const f = lint(topo((t) => (t.queues.b!.jobs = ['b.run', 'a.run'])));
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ queue: 'b', path: 'queues.b.jobs.1' });
    expect(f[0]!.message).toContain('a, b');
  });

  it('queue-no-worker exempts a dead-letter queue, which is parked by design', () => {
    const t = topo((t) => {
      t.queues.a!.deadLetter = { kind: 'queue', queue: 'b' };
      t.queues.b!.attempts = 1;
      t.workers = { wa: t.workers.wa! };
    });
    expect(lint(t)).toEqual([]);
  });

  it('no-retention and no-dead-letter exempt a dead-letter queue no worker consumes; a consumed one still needs them', () => {
    const dlqWithout = (workers: boolean) => topo((t) => {
      t.queues.a!.deadLetter = { kind: 'queue', queue: 'b' };
      t.queues.b = { name: 'b', jobs: ['b.dead'], jobId: 'dead-{id}', attempts: 1 };
      if (!workers) t.workers = { wa: t.workers.wa! };
    });
    expect(lint(dlqWithout(false))).toEqual([]);
    expect(rulesOf(dlqWithout(true))).toEqual(['no-retention', 'no-retention', 'no-dead-letter']);
  });

  it('jobOptions: a name the queue owns is fine; a typo gets a did-you-mean; an override may not drop retries or retention', () => {
    expect(lint(topo((t) => (t.queues.a!.jobOptions = { 'a.run': { priority: 5, attempts: 2, delay: 1000 } })))).toEqual([]);
    const [typo] = lint(topo((t) => (t.queues.a!.jobOptions = { 'a.rum': { priority: 5 } })));
    expect(typo).toMatchObject({ rule: 'job-options-unknown-job', path: 'queues.a.jobOptions.a.rum' });
    expect(typo!.message).toContain('did you mean "a.run"?');
    const undone = lint(topo((t) => (t.queues.a!.jobOptions = { 'a.run': { attempts: 1, removeOnFail: false } })));
    expect(undone.map((f) => [f.rule, f.path])).toEqual([
      ['no-retries', 'queues.a.jobOptions.a.run.attempts'],
      ['no-retention', 'queues.a.jobOptions.a.run.removeOnFail'],
    ]);
  });

  it('a dead-letter queue with attempts 1 is not no-retries; with 3 it is dead-letter-retried', () => {
    const base = (attempts: number) => topo((t) => {
      t.queues.a!.deadLetter = { kind: 'queue', queue: 'b' };
      t.queues.b!.attempts = attempts;
    });
    expect(rulesOf(base(1))).toEqual([]);
    expect(rulesOf(base(3))).toEqual(['dead-letter-retried']);
  });

  it('legacy entries: a to naming a declared queue is fine', () => {
    expect(lint(topo((t) => (t.legacy.old = { name: 'old', to: 'a' })))).toEqual([]);
  });

  it('queue-name-invalid suggests the dashed name and flags empty names', () => {
    const t = topo((t) => {
      t.queues['afip:invoice'] = queue('afip:invoice', { jobId: 'afip-{id}' });
      t.queues[' '] = queue(' ', { jobId: 'x-{id}', jobs: [] });
      t.workers.wa!.queues.push('afip:invoice', ' ');
    });
    const f = lint(t).filter((x) => x.rule === 'queue-name-invalid');
    expect(f.map((x) => x.queue)).toEqual(['afip:invoice', ' ']);
    expect(f[0]!.message).toContain('"afip-invoice"');
    expect(f[1]!.message).toContain('empty');
  });

  it('job-id-invalid: integers, colons, leading zero, unbalanced braces; fine with a text prefix', () => {
    const bad = ['{orderId}', '123', '{a}{b}', '-{n}', '{n}7', 'order:{id}', '0{id}', '0abc-{id}', 'order-{id', 'order-id}', 'order-{}'];
    for (const jobId of bad) {
      expect(rulesOf(topo((t) => (t.queues.a!.jobId = jobId))), jobId).toEqual(['job-id-invalid']);
    }
    const good = ['order-{orderId}', 'o{id}', '{a}-{b}', 'process-{session.id}', 'fixed-id'];
    for (const jobId of good) {
      expect(rulesOf(topo((t) => (t.queues.a!.jobId = jobId))), jobId).toEqual([]);
    }
  });

  it('job-id-invalid follows BullMQ 6.7 on ":": exactly two (three parts) pass, one or three fail', () => {
    for (const jobId of ['{type}:{jobId}:{ts}', 'invoice:{id}:v1']) {
      expect(rulesOf(topo((t) => (t.queues.a!.jobId = jobId))), jobId).toEqual([]);
    }
    for (const jobId of ['a:{id}', 'a:{x}:{y}:{z}']) {
      expect(rulesOf(topo((t) => (t.queues.a!.jobId = jobId))), jobId).toEqual(['job-id-invalid']);
    }
    expect(lint(topo((t) => (t.queues.a!.jobId = 'a:{x}:{y}:{z}')))[0]!.message).toContain('contains ":" 3 times');
  });

  it('job-id-invalid tells how to fix it', () => {
    const [f] = lint(topo((t) => (t.queues.a!.jobId = '{orderId}')));
    expect(f!.message).toMatch(/integer.*e\.g\. "a-\{orderId\}"/);
    const [g] = lint(topo((t) => (t.queues.a!.jobId = 'order:{id}')));
    expect(g!.message).toContain('"order-{id}"');
  });

  it('checks deduplication.id fields against the payload too, but allows ":" there', () => {
    const payload = { type: 'object' as const, properties: { id: { type: 'string' as const } }, required: ['id'] };
    expect(rulesOf(topo((t) => Object.assign(t.queues.a!, { payload, deduplication: { id: 'd:{id}' } })))).toEqual([]);
    expect(rulesOf(topo((t) => Object.assign(t.queues.a!, { payload, deduplication: { id: 'd-{nope}' } })))).toEqual(['job-id-field-unknown']);
  });

  it('job-id-field rules need a payload schema and read the top segment of dotted fields', () => {
    expect(rulesOf(topo((t) => (t.queues.a!.jobId = 'a-{whatever}')))).toEqual([]);
    const payload = { type: 'object' as const, properties: { session: { type: 'object' as const } }, required: ['session'] };
    expect(rulesOf(topo((t) => Object.assign(t.queues.a!, { payload, jobId: 'a-{session.id}' })))).toEqual([]);
  });

  it('dedup: none is the explicit opt-out', () => {
    expect(rulesOf(topo((t) => { delete t.queues.a!.jobId; t.queues.a!.dedup = 'none'; }))).toEqual([]);
  });

  it('no-retries when attempts is missing', () => {
    expect(rulesOf(topo((t) => delete t.queues.a!.attempts))).toEqual(['no-retries']);
  });

  it('no-backoff only when retried', () => {
    expect(rulesOf(topo((t) => { t.queues.a!.attempts = 1; delete t.queues.a!.backoff; }))).toEqual(['no-retries']);
  });

  it('no-retention: false counts as not set; true (remove at once) is a bound', () => {
    const f = lint(topo((t) => { t.queues.a!.removeOnFail = false; t.queues.a!.removeOnComplete = true; }));
    expect(f.map((x) => [x.rule, x.path])).toEqual([['no-retention', 'queues.a.removeOnFail']]);
    expect(f[0]!.message).toContain('fills Redis memory');
  });

  it('dead-letter-removed does not apply to a dead-letter queue path', () => {
    const t = topo((t) => {
      t.queues.a!.deadLetter = { kind: 'queue', queue: 'b' };
      t.queues.a!.removeOnFail = true;
      t.queues.b!.attempts = 1;
    });
    expect(rulesOf(t)).toEqual([]);
  });

  describe('prefix-no-hash-tag', () => {
    const cluster = 'redis+cluster://10.0.0.1:7000,10.0.0.2:7000';
    it('warns offline, errors live, on a cluster URL only', () => {
      expect(lint(topo(), { redisUrl: cluster }).map((f) => [f.rule, f.severity])).toEqual([['prefix-no-hash-tag', 'warning']]);
      expect(lint(topo(), { redisUrl: cluster, live: true }).map((f) => [f.rule, f.severity])).toEqual([['prefix-no-hash-tag', 'error']]);
      expect(lint(topo(), { redisUrl: 'redis://127.0.0.1:7000' })).toEqual([]);
      expect(lint(topo())).toEqual([]);
    });
    it('is satisfied by a hash-tag prefix or hash-tagged queue names', () => {
      expect(lint(topo((t) => (t.prefix = '{bull}')), { redisUrl: cluster, live: true })).toEqual([]);
      const tagged = topo((t) => {
        t.queues = { '{a}': queue('{a}', { jobId: 'a-{id}' }) };
        t.workers = { wa: { name: 'wa', queues: ['{a}'] } };
      });
      expect(lint(tagged, { redisUrl: cluster, live: true })).toEqual([]);
    });
  });

  it('attaches dotted paths and lines, falling back to the enclosing entry, errors first', () => {
    const lines: Record<string, number> = { 'queues.a': 10, 'queues.b': 20, 'queues.b.attempts': 22 };
    const source = { lineOf: (p: (string | number)[]) => lines[p.join('.')] };
    const t = topo((t) => {
      delete t.queues.b!.backoff; // warning at queues.b.backoff → no line of its own, so line 20
      delete t.queues.a!.deadLetter; // error at queues.a.deadLetter → line 10
      t.queues.b!.removeOnComplete = false; // error → line 20
    });
    const f = lint(t, {}, source);
    expect(f.map((x) => [x.rule, x.path, x.line])).toEqual([
      ['no-dead-letter', 'queues.a.deadLetter', 10],
      ['no-retention', 'queues.b.removeOnComplete', 20],
      ['no-backoff', 'queues.b.backoff', 20],
    ]);
  });
});

describe('id templates', () => {
  it('parses text and fields', () => {
    expect(parseIdTemplate('p-{a}-{b.c}')).toEqual({
      ok: true,
      parts: [{ kind: 'text', text: 'p-' }, { kind: 'field', field: 'a' }, { kind: 'text', text: '-' }, { kind: 'field', field: 'b.c' }],
    });
    expect(parseIdTemplate('p-{a').ok).toBe(false);
  });
  it('knows what BullMQ rejects', () => {
    const problem = (s: string) => {
      const p = parseIdTemplate(s);
      return p.ok ? jobIdProblem(p.parts) : p.problem;
    };
    expect(problem('42')).toMatch(/integer/);
    expect(problem('')).toMatch(/empty/);
    expect(problem('x-42')).toBeUndefined();
  });
});

describe('queuectl topology validate / graph (built CLI)', () => {
  const fixture = (name: string) => `test/fixtures/lint/${name}.yaml`;

  it('reports each broken rule with its path and line, exit 1', async () => {
    const r = await runCli(['topology', 'validate', '-c', fixture('broken'), '--json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ schema: 'queuectl/topology-validate@1', file: fixture('broken'), valid: false, errors: 4, warnings: 1 });
    expect(doc.findings.map((f: { rule: string; path: string; line: number }) => `${f.rule} ${f.path}:${f.line}`)).toEqual([
      'job-id-invalid queues.orders.jobId:11',
      'job-name-many-owners queues.emails.jobs.1:14',
      'no-retention queues.emails.removeOnFail:17',
      'queue-no-worker queues.reports:18',
      'no-backoff queues.reports.backoff:18',
    ]);
  });

  it('prints a table and a summary line; warnings alone exit 0', async () => {
    const bad = await runCli(['topology', 'validate', '-c', fixture('broken')]);
    expect(bad.stdout).toMatch(/^rule +severity +where +message/);
    expect(bad.stdout).toContain('queues.orders.jobId:11');
    expect(bad.stdout.trimEnd().split('\n').pop()).toBe(`${fixture('broken')}: 4 errors, 1 warning`);
    const warn = await runCli(['topology', 'validate', '-c', fixture('warnings')]);
    expect(warn.code).toBe(0);
    expect(warn.stdout).toContain('job-id-field-optional');
    expect(warn.stdout.trimEnd().split('\n').pop()).toBe(`${fixture('warnings')} valid (2 warnings): 1 queue, 1 worker, 0 legacy queues`);
  });

  it('examples: ECCB and CampoTech-fixed validate clean; CampoTech fails on every ":" name', async () => {
    const eccb = await runCli(['topology', 'validate', '-c', 'examples/eccb-smart-upload.yaml']);
    expect([eccb.code, eccb.stdout.trim()]).toEqual([0, 'examples/eccb-smart-upload.yaml valid: 4 queues, 3 workers, 1 legacy queue']);
    const fixed = await runCli(['topology', 'validate', '-c', 'examples/campotech-fixed.yaml', '--json']);
    expect(fixed.code).toBe(0);
    expect(JSON.parse(fixed.stdout)).toMatchObject({ valid: true, errors: 0, warnings: 0 });
    const original = await runCli(['topology', 'validate', '-c', 'examples/campotech.yaml', '--json']);
    expect(original.code).toBe(1);
    const doc = JSON.parse(original.stdout);
    expect(new Set(doc.findings.map((f: { rule: string }) => f.rule))).toEqual(new Set(['queue-name-invalid']));
    expect(doc.findings.map((f: { queue: string }) => f.queue)).toEqual([
      'afip:invoice', 'payment:webhook', 'whatsapp:outbound', 'whatsapp:inbound', 'voice:transcription',
      'voice:extraction', 'job:notification', 'invoice:pdf', 'sync:offline',
    ]);
    expect(doc.findings[0].message).toContain('rename it to "afip-invoice"');
  });

  it('warns (exit 0) about a plain prefix when --redis is a cluster URL', async () => {
    const r = await runCli(['topology', 'validate', '-c', 'examples/eccb-smart-upload.yaml', '--redis', 'redis+cluster://127.0.0.1:7000', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).findings).toMatchObject([{ rule: 'prefix-no-hash-tag', severity: 'warning', path: 'prefix', line: 16 }]);
  });

  it('graph prints mermaid by default and dot on request', async () => {
    const mermaid = await runCli(['topology', 'graph', '-c', 'examples/eccb-smart-upload.yaml']);
    expect(mermaid.code).toBe(0);
    expect(mermaid.stdout).toMatch(/^flowchart LR\n/);
    expect(mermaid.stdout).toContain('"eccb-smart-upload (legacy)"');
    const dot = await runCli(['topology', 'graph', '--format', 'dot', '-c', 'examples/eccb-smart-upload.yaml']);
    expect(dot.code).toBe(0);
    expect(dot.stdout).toMatch(/^digraph topology \{/);
  });
});

describe('lint locations (issue 18.8)', () => {
  it('quote a name holding ":" so path and line stay apart', () => {
    expect(formatPath(['queues', 'eccb-ocr', 'attempts'])).toBe('queues.eccb-ocr.attempts');
    expect(formatPath(['queues', 'afip:invoice'])).toBe('queues["afip:invoice"]');
    expect(formatPath(['workers', 'w', 'queues', 0])).toBe('workers.w.queues.0');
  });
});
