import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defineTopology } from '../src/index.js';
import { TopologyError, UsageError } from '../src/errors.js';
import { durationProblem, formatDuration, parseDuration } from '../src/topology/durations.js';
import { findTopologyFile, loadTopologyFile } from '../src/topology/load.js';
import { didYouMean } from '../src/topology/problems.js';
import { tempDir } from './helpers/temp.js';
import { jobSpec } from '../src/topology/job-spec.js';

const fixtures = fileURLToPath(new URL('./fixtures/topology/', import.meta.url));

/** Writes a YAML topology and returns the problems it loads with (or [] when it is valid). */
async function problemsOf(yaml: string, name = 't.yaml'): Promise<string[]> {
  const file = join(tempDir('load'), name);
  writeFileSync(file, yaml);
  try {
    await loadTopologyFile(file);
    return [];
  } catch (error) {
    if (error instanceof TopologyError) return error.problems;
    throw error;
  }
}

async function load(yaml: string) {
  const file = join(tempDir('load'), 't.yaml');
  writeFileSync(file, yaml);
  return (await loadTopologyFile(file)).topology;
}

describe('durations', () => {
  it.each([
    [250, 250],
    ['250', 250],
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['1.5s', 1500],
    [0, 0],
  ])('%j is %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(['5x', '', 'soon', '-5s', '1 minute', '5M', 's'])('rejects %j', (input) => {
    expect(parseDuration(input)).toBeUndefined();
  });

  it('rejects non-strings and negative numbers', () => {
    for (const value of [-1, Number.NaN, Infinity, true, null, [], {}]) expect(parseDuration(value)).toBeUndefined();
  });

  it('words the problem with the accepted forms', () => {
    expect(durationProblem('5x')).toBe('invalid duration "5x" — use ms or 500ms, 30s, 5m, 1h, 7d');
  });

  it('formats the shortest exact unit', () => {
    expect([90_000, 60_000, 1500, 86_400_000].map(formatDuration)).toEqual(['90s', '1m', '1500ms', '1d']);
  });
});

describe('did you mean', () => {
  it('suggests close names only', () => {
    expect(didYouMean('atempts', ['attempts', 'backoff'])).toBe('attempts');
    expect(didYouMean('Concurency', ['concurrency'])).toBe('concurrency');
    expect(didYouMean('zzz', ['attempts', 'backoff'])).toBeUndefined();
  });
});

describe('normalize', () => {
  it('applies defaults, converts durations and names every entry', async () => {
    const t = await load(`
defaults:
  attempts: 3
  backoff: 30s
  removeOnComplete: 100
  alerts: { failed: [1, 5] }
queues:
  a: { jobs: [a.run], jobId: "a-{id}", attempts: 5, alerts: { waiting: [10, 20] } }
  b: { jobs: [b.run], dedup: none, backoff: { type: steps, steps: [1s, 1m] } }
workers:
  w: { queues: [a, b] }
legacy:
  old:
`);
    expect(t.version).toBe(1);
    expect(t.prefix).toBe('bull');
    expect(t.queues.a).toEqual({
      name: 'a',
      jobs: ['a.run'],
      jobId: 'a-{id}',
      attempts: 5,
      backoff: { type: 'fixed', delay: 30_000 },
      removeOnComplete: { count: 100 },
      alerts: { failed: [1, 5], waiting: [10, 20] },
    });
    expect(t.queues.b!.attempts).toBe(3);
    expect(t.queues.b!.backoff).toEqual({ type: 'steps', steps: [1000, 60_000] });
    expect(t.queues.b!.dedup).toBe('none');
    expect(t.workers.w).toEqual({ name: 'w', queues: ['a', 'b'] });
    expect(t.legacy.old).toEqual({ name: 'old' });
  });

  it('accepts top-level x- keys as anchors for merge keys', async () => {
    const t = await load('x-retry: &retry { attempts: 5, backoff: 1s }\nqueues:\n  a: { <<: *retry, jobs: [a] }\n');
    expect(t.queues.a).toEqual({ name: 'a', jobs: ['a'], attempts: 5, backoff: { type: 'fixed', delay: 1000 } });
  });

  it('keeps absent options absent (no undefined keys)', async () => {
    const t = await load('queues:\n  a: { jobs: [x] }\n');
    expect(Object.keys(t.queues.a!)).toEqual(['name', 'jobs']);
    expect(t.workers).toEqual({});
    expect(t.legacy).toEqual({});
  });

  it('reads every backoff, retention and dead-letter form', async () => {
    const t = await load(`
queues:
  a: { jobs: [a], backoff: { type: exponential, delay: 2000, jitter: 0.5 }, removeOnFail: { age: 7d }, deadLetter: failed }
  b: { jobs: [b], backoff: [30s, 2m], removeOnComplete: false, removeOnFail: true, deadLetter: { queue: dlq } }
  c: { jobs: [c], backoff: 500, rateLimit: { max: 10, duration: 1s }, timeout: "1500", deduplication: { id: "c-{x}", ttl: 5m } }
`);
    expect(t.queues.a).toMatchObject({ backoff: { type: 'exponential', delay: 2000, jitter: 0.5 }, removeOnFail: { age: 604_800_000 }, deadLetter: { kind: 'failed' } });
    expect(t.queues.b).toMatchObject({ backoff: { type: 'steps', steps: [30_000, 120_000] }, removeOnComplete: false, removeOnFail: true, deadLetter: { kind: 'queue', queue: 'dlq' } });
    expect(t.queues.c).toMatchObject({ backoff: { type: 'fixed', delay: 500 }, rateLimit: { max: 10, duration: 1000 }, timeout: 1500, deduplication: { id: 'c-{x}', ttl: 300_000 } });
  });
});

describe('per-job-name options and lockDuration', () => {
  it('reads jobOptions per job name and lockDuration apart from timeout', async () => {
    const t = await load(`
defaults: { attempts: 3, lockDuration: 30s }
queues:
  reports:
    jobs: [report.nightly, report.adhoc]
    timeout: 10m
    lockDuration: 2m
    jobOptions:
      report.nightly: { priority: 5, attempts: 2, backoff: 1m, delay: 5s, lifo: true, removeOnComplete: { age: 3600 } }
  other: { jobs: [o] }
`);
    expect(t.queues.reports).toMatchObject({ timeout: 600_000, lockDuration: 120_000 });
    expect(t.queues.other!.lockDuration).toBe(30_000);
    expect({ ...t.queues.reports!.jobOptions }).toEqual({
      'report.nightly': { priority: 5, attempts: 2, backoff: { type: 'fixed', delay: 60_000 }, delay: 5000, lifo: true, removeOnComplete: { age: 3_600_000 } },
    });
    const nightly = jobSpec(t.queues.reports!, 'report.nightly');
    expect(nightly).toMatchObject({ name: 'reports', priority: 5, attempts: 2, timeout: 600_000, lockDuration: 120_000 });
    expect(nightly).not.toHaveProperty('jobOptions');
    expect(jobSpec(t.queues.reports!, 'report.adhoc')).toMatchObject({ attempts: 3 });
    expect(jobSpec(t.queues.reports!, 'report.adhoc')).not.toHaveProperty('priority');
  });

  it('validates them with the path and line', async () => {
    const problems = await problemsOf(`queues:
  a:
    jobs: [a.run]
    jobOptions:
      a.run: { priority: 3000000, atempts: 2 }
`);
    expect(problems).toEqual([
      'queues.a.jobOptions.a.run.priority (line 5): priority must be at most 2097151 (BullMQ\'s limit) — 1 runs first, higher numbers later',
      'queues.a.jobOptions.a.run.atempts (line 5): unknown key "atempts" — did you mean "attempts"?',
    ]);
  });
});

describe('retention age', () => {
  it('reads a bare number as seconds, as BullMQ does, and a duration string as a duration', async () => {
    const t = await load('queues:\n  a: { jobs: [a], removeOnComplete: { age: 86400, count: 10 }, removeOnFail: { age: 12h } }\n');
    expect(t.queues.a!.removeOnComplete).toEqual({ age: 86_400_000, count: 10 });
    expect(t.queues.a!.removeOnFail).toEqual({ age: 43_200_000 });
  });

  it('refuses a unitless string, which would be ms elsewhere and seconds in the code', async () => {
    const problems = await problemsOf('queues:\n  a: { jobs: [a], removeOnFail: { age: "86400" } }\n');
    expect(problems).toEqual(['queues.a.removeOnFail.age (line 2): age "86400" has no unit — write age: 86400 (a number: seconds, as BullMQ reads it) or a duration such as 1d']);
  });
});

describe('schema problems', () => {
  it('names the dotted path and the line of the key', async () => {
    const problems = await problemsOf(`version: 1
queues:
  eccb-ocr:
    jobs: [ocr.process]
    backoff:
      type: exponential
      delay: 5x
`);
    expect(problems).toEqual(['queues.eccb-ocr.backoff.delay (line 7): invalid duration "5x" — use ms or 500ms, 30s, 5m, 1h, 7d']);
  });

  it('reports every problem, in file order, not just the first', async () => {
    const problems = await problemsOf(`queues:
  a:
    jobs: []
    timeout: 5x
  b: { jobs: [b], atempts: 2 }
workers:
  w: { queues: [] }
`);
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^queues\.a\.jobs \(line 3\): jobs must not be empty/);
    expect(problems[1]).toMatch(/^queues\.a\.timeout \(line 4\): invalid duration "5x"/);
    expect(problems[2]).toBe('queues.b.atempts (line 5): unknown key "atempts" — did you mean "attempts"?');
    expect(problems[3]).toMatch(/^workers\.w\.queues \(line 7\): queues must not be empty/);
  });

  it('points a missing key at its parent line', async () => {
    const problems = await problemsOf('prefix: bull\nqueues:\n  a:\n    jobId: "a-{id}"\n');
    expect(problems).toEqual(['queues.a.jobs (line 3): missing — list the job names this queue owns: jobs: [name]']);
  });

  it.each([
    ['version: 2\nqueues: {}\n', /^version \(line 1\): unsupported version 2/],
    ['queues: {}\nworker: {}\n', /^worker \(line 2\): unknown key "worker" — did you mean "workers"\?/],
    ['prefix: bull\n', /^queues \(line 1\): missing — declare your queues/],
    ['queues:\n  a: { jobs: [a], backoff: { type: linear, delay: 1 } }\n', /^queues\.a\.backoff\.type \(line 2\): expected one of "fixed", "exponential", "steps", got "linear"/],
    ['queues:\n  a: { jobs: [a], backoff: { type: steps } }\n', /^queues\.a\.backoff\.steps \(line 2\): missing/],
    ['queues:\n  a: { jobs: [a], backoff: { type: fixed, delay: 1, jitter: 2 } }\n', /^queues\.a\.backoff\.jitter \(line 2\): jitter must be between 0 and 1/],
    ['queues:\n  a: { jobs: [a], backoff: [] }\n', /^queues\.a\.backoff \(line 2\): an empty steps list/],
    ['queues:\n  a: { jobs: [a], backoff: true }\n', /^queues\.a\.backoff \(line 2\): expected a duration, a list of durations/],
    ['queues:\n  a: { jobs: [a], alerts: { waiting: [500, 100] } }\n', /^queues\.a\.alerts\.waiting \(line 2\): warning 500 is above critical 100/],
    ['queues:\n  a: { jobs: [a], alerts: { oldestWait: [5m, 1m] } }\n', /warning 5m is above critical 1m/],
    ['queues:\n  a: { jobs: [a], alerts: { failed: [1, 2, 3] } }\n', /^queues\.a\.alerts\.failed \(line 2\): expected \[warning, critical\]/],
    ['queues:\n  a: { jobs: [a], deadLetter: dlq }\n', /deadLetter: \{ queue: dlq \}/],
    ['queues:\n  a: { jobs: [a], removeOnFail: "yes" }\n', /^queues\.a\.removeOnFail \(line 2\): expected true, false, a count or \{ age, count \}/],
    ['queues:\n  a: { jobs: [a], attempts: 0 }\n', /^queues\.a\.attempts \(line 2\): 0 is too small — use 1 or more/],
    ['queues:\n  a: { jobs: [a], concurrency: "2" }\n', /got "2" — write an integer/],
    ['queues:\n  a: { jobs: [a], rateLimit: { max: 5 } }\n', /^queues\.a\.rateLimit\.duration \(line 2\): missing — add a duration/],
    ['queues:\n  a: { jobs: [a], dedup: always }\n', /^queues\.a\.dedup \(line 2\): expected "none"/],
    ['queues:\n  a:\n    jobs: [a]\n    payload:\n      type: object\n      properties: { id: { type: string } }\n      required: [id, sessionId]\n',
      /^queues\.a\.payload\.required\[1\] \(line 7\): "sessionId" is required but not declared/],
    ['queues:\n  a:\n    jobs: [a]\n    payload: { type: object, properties: { id: { type: strng } } }\n', /did you mean "string"\?/],
    ['queues: { a: { jobs: [a] } }\nlegacy:\n  old: { to: 5 }\n', /^legacy\.old\.to \(line 3\): expected a string, got 5/],
    ['defaults:\n  jobs: [a]\nqueues: { a: { jobs: [a] } }\n', /^defaults\.jobs \(line 2\): unknown key "jobs"/],
  ])('%j', async (yaml, expected) => {
    const problems = await problemsOf(yaml);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).toMatch(expected);
  });

  it('gives JSON files line numbers too', async () => {
    const problems = await problemsOf('{\n  "queues": {\n    "q": {\n      "jobs": ["a"],\n      "concurrency": "two"\n    }\n  }\n}\n', 't.json');
    expect(problems).toEqual(['queues.q.concurrency (line 5): concurrency must be a whole number, got "two" — write an integer']);
  });

  it('names the line of YAML and JSON syntax errors', async () => {
    expect((await problemsOf('queues:\n  q:\n    jobs: [a]\n   jobId: x\n'))[0]).toMatch(/^line 4, column \d+: invalid YAML: /);
    expect((await problemsOf('{\n  "queues": {},\n}\n', 't.json'))[0]).toMatch(/^line 3, column 1: invalid JSON: /);
  });
});

describe('file formats', () => {
  it('loads equal topologies from YAML, JSON and a TS module using defineTopology', async () => {
    const yaml = await loadTopologyFile(join(fixtures, 'valid.yaml'));
    const json = await loadTopologyFile(join(fixtures, 'valid.json'));
    const ts = await loadTopologyFile(join(fixtures, 'valid.config.ts'));
    expect(json.topology).toEqual(yaml.topology);
    expect(ts.topology).toEqual(yaml.topology);
    expect([yaml.source.format, json.source.format, ts.source.format]).toEqual(['yaml', 'json', 'module']);
    expect(yaml.topology.queues['eccb-ocr']!.backoff).toEqual({ type: 'steps', steps: [30_000, 120_000, 300_000, 900_000, 1_800_000] });
    expect(yaml.topology.legacy['eccb-old']).toEqual({ name: 'eccb-old' });
  });

  it('locates lines through source.lineOf', async () => {
    const { source } = await loadTopologyFile(join(fixtures, 'valid.yaml'));
    expect(source.lineOf(['queues', 'eccb-ocr', 'timeout'])).toBe(26);
    expect(source.lineOf(['queues', 'eccb-ocr', 'jobs', 0])).toBe(23);
    expect(source.lineOf(['workers', 'ocr', 'nothing-here'])).toBe(36);
  });

  it('defineTopology returns its argument', () => {
    const t = { queues: { a: { jobs: ['a'] } } };
    expect(defineTopology(t)).toBe(t);
  });
});

describe('findTopologyFile', () => {
  it('prefers -c, then QUEUECTL_CONFIG, then the first default name in cwd', async () => {
    const dir = tempDir('load');
    for (const name of ['queuectl.json', 'queuectl.yml', 'other.yaml', 'env.yaml']) writeFileSync(join(dir, name), '{}');
    expect(await findTopologyFile({ config: 'other.yaml', cwd: dir, env: { QUEUECTL_CONFIG: 'env.yaml' } })).toBe(join(dir, 'other.yaml'));
    expect(await findTopologyFile({ cwd: dir, env: { QUEUECTL_CONFIG: 'env.yaml' } })).toBe(join(dir, 'env.yaml'));
    expect(await findTopologyFile({ cwd: dir, env: {} })).toBe(join(dir, 'queuectl.yml'));
  });

  it('finds queuectl.config.ts and returns undefined when nothing is there', async () => {
    const dir = tempDir('load');
    expect(await findTopologyFile({ cwd: dir, env: {} })).toBeUndefined();
    mkdirSync(join(dir, 'queuectl.yaml')); // a directory of that name is not a topology file
    writeFileSync(join(dir, 'queuectl.config.ts'), 'export default {}');
    expect(await findTopologyFile({ cwd: dir, env: {} })).toBe(join(dir, 'queuectl.config.ts'));
  });

  it('searches upward from cwd to the repository root (the directory with .git), and no further', async () => {
    const root = tempDir('load');
    const repo = join(root, 'repo');
    const deep = join(repo, 'services', 'api');
    mkdirSync(deep, { recursive: true });
    mkdirSync(join(repo, '.git'));
    writeFileSync(join(root, 'queuectl.yaml'), '{}'); // above the repository: never found from inside
    expect(await findTopologyFile({ cwd: deep, env: {} })).toBeUndefined();
    writeFileSync(join(repo, 'queuectl.json'), '{}');
    expect(await findTopologyFile({ cwd: deep, env: {} })).toBe(join(repo, 'queuectl.json'));
    writeFileSync(join(repo, 'services', 'queuectl.yml'), '{}'); // the nearest wins
    expect(await findTopologyFile({ cwd: deep, env: {} })).toBe(join(repo, 'services', 'queuectl.yml'));
    // Outside any repository only cwd is searched (a parent's queuectl.config.ts is nothing the user chose).
    const loose = join(root, 'loose', 'sub');
    mkdirSync(loose, { recursive: true });
    expect(await findTopologyFile({ cwd: loose, env: {} })).toBeUndefined();
  });

  it('-c - reads the topology from stdin', async () => {
    const { runCli } = await import('./helpers/cli.js');
    const { readFileSync } = await import('node:fs');
    const yaml = readFileSync(new URL('../examples/eccb-smart-upload.yaml', import.meta.url), 'utf8');
    const ok = await runCli(['topology', 'validate', '-c', '-', '--json'], { input: yaml });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ file: '<stdin>' });
    const bad = await runCli(['topology', 'validate', '-c', '-'], { input: '{"queues": [' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^queuectl: <stdin>: .*invalid JSON/);
  });

  it('fails with a usage error for a named file that is missing or a directory', async () => {
    const dir = tempDir('load');
    await expect(findTopologyFile({ config: 'nope.yaml', cwd: dir, env: {} })).rejects.toThrow(UsageError);
    await expect(findTopologyFile({ cwd: dir, env: { QUEUECTL_CONFIG: 'nope.yaml' } })).rejects.toMatchObject({ hint: expect.stringContaining('QUEUECTL_CONFIG') });
    await expect(findTopologyFile({ config: dir, cwd: dir, env: {} })).rejects.toThrow(/is a directory/);
  });
});
