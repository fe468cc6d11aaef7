import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { planChanges } from '../src/apply/plan.js';
import { TopologyError } from '../src/errors.js';
import { schedulerDiff } from '../src/schedules/compare.js';
import { legacyFromKey, schedulerFromFields } from '../src/schedules/parse.js';
import type { LiveScheduler } from '../src/schedules/types.js';
import { loadTopologyFile } from '../src/topology/load.js';
import type { Topology } from '../src/topology/types.js';
import { tempDir } from './helpers/temp.js';

/** Schedules as code, the pure parts: the file's schedulers:, BullMQ's stored forms, the diff and the plan. */

async function loadYaml(schedulers: string, extra = '') {
  const file = join(tempDir('schedunit'), 'queuectl.yaml');
  writeFileSync(file, `version: 1\nqueues:\n  reports:\n    jobs: [report.nightly, report.ping]\n${extra}    schedulers:\n${schedulers}workers:\n  w: { queues: [reports] }\n`);
  try {
    return { topology: (await loadTopologyFile(file)).topology, problems: [] as string[] };
  } catch (error) {
    if (error instanceof TopologyError) return { topology: undefined, problems: error.problems };
    throw error;
  }
}

describe('schedulers: in the topology file', () => {
  it('normalizes durations and dates; a template with no name takes the scheduler id, as BullMQ does', async () => {
    const { topology } = await loadYaml(`      nightly: { pattern: "0 3 * * *", tz: Europe/Madrid, endDate: "2030-01-01T00:00:00Z", job: { name: report.nightly, data: { kind: full } } }\n      report.ping: { every: 30s, limit: 10 }\n`, '    paused: true\n');
    expect(topology!.queues.reports!.paused).toBe(true);
    expect(topology!.queues.reports!.schedulers).toEqual({
      nightly: { id: 'nightly', pattern: '0 3 * * *', tz: 'Europe/Madrid', endDate: Date.parse('2030-01-01T00:00:00Z'), job: { name: 'report.nightly', data: { kind: 'full' } } },
      'report.ping': { id: 'report.ping', every: 30_000, limit: 10, job: { name: 'report.ping' } },
    });
  });

  it.each([
    ['a bad cron field, as cron-parser (BullMQ\'s parser) words it', 'x: { pattern: "61 * * * *" }', /x\.pattern.*invalid cron pattern "61 \* \* \* \*": Constraint error, got value 61 expected range 0-59/],
    ['an unknown time zone', 'x: { pattern: "0 3 * * *", tz: Mars/Olympus }', /x\.tz.*unknown time zone "Mars\/Olympus"/],
    ['tz with every', 'x: { every: 5s, tz: UTC }', /x\.tz.*tz applies to a cron pattern only/],
    ['neither pattern nor every', 'x: { limit: 3 }', /x\.pattern.*missing — give a cron pattern/],
    ['both pattern and every', 'x: { pattern: "* * * * *", every: 1s }', /x\.every.*a pattern or every, not both/],
    ['immediately with startDate', 'x: { pattern: "0 3 * * *", immediately: true, startDate: 2030-01-01T00:00:00Z }', /x\.immediately.*do not go together/],
    ['a template jobId', 'x: { every: 1s, job: { name: report.ping, opts: { jobId: fixed } } }', /x\.job\.opts\.jobId.*takes no jobId/],
    ['a date that is no date', 'x: { every: 1s, endDate: tomorrow }', /x\.endDate.*invalid date "tomorrow"/],
  ])('refuses %s (exit 2, with the line)', async (_what, line, expected) => {
    const { problems } = await loadYaml(`      ${line}\n`);
    expect(problems.join('\n')).toMatch(expected);
  });
});

describe('BullMQ stored forms', () => {
  const optsFromJSON = (raw: string) => JSON.parse(raw) as Record<string, unknown>;

  it('a scheduler hash (with ic) is a scheduler; without ic it is an old-style repeatable job', () => {
    const hash = { name: 'tick', every: '1000', ic: '3', data: '{"v":1}', opts: '{"attempts":2}' };
    expect(schedulerFromFields('q', 'tick-v1', hash, 5000, optsFromJSON)).toEqual({
      queue: 'q', id: 'tick-v1', legacy: false, every: 1000, next: 5000, iterations: 3, job: { name: 'tick', data: { v: 1 }, opts: { attempts: 2 } },
    });
    const { ic: _ic, ...old } = hash;
    expect(schedulerFromFields('q', 'abc123', old, 5000, optsFromJSON)).toMatchObject({ legacy: true, nextJobIds: ['repeat:abc123:5000'] });
  });

  it('an old-style key name:jobId:endDate:tz:pattern, with the md5 id BullMQ 5 gave its next job', () => {
    const key = 'report.ping::::*/5 * * * *';
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    expect(legacyFromKey('q', key, 7000)).toEqual({
      queue: 'q', id: key, legacy: true, pattern: '*/5 * * * *', next: 7000, job: { name: 'report.ping', data: {}, opts: {} },
      nextJobIds: [`repeat:${md5(`report.ping${md5(key)}`)}:7000`, `repeat:${key}:7000`],
    });
    expect(legacyFromKey('q', 'ping:id1:1893456000000:UTC:60000', undefined)).toMatchObject({ every: 60_000, tz: 'UTC', endDate: 1893456000000 });
    // A scheduler id that merely has colons is no old-style key.
    expect(legacyFromKey('q', 'tenant:42:daily', 1)).toBeUndefined();
  });
});

describe('diff and plan', () => {
  const live = (over: Partial<LiveScheduler>): LiveScheduler => ({ queue: 'reports', id: 'nightly', legacy: false, job: { name: 'report.nightly', data: {}, opts: {} }, ...over });
  const topology = (over: Partial<Topology['queues'][string]> = {}): Topology => ({
    version: 1, prefix: 'bull', workers: {}, legacy: {},
    queues: { reports: { name: 'reports', jobs: ['report.nightly'], schedulers: { nightly: { id: 'nightly', pattern: '0 3 * * *', job: { name: 'report.nightly', data: { a: 1, b: 2 } } } }, ...over } },
  });

  it('lists exactly the fields that differ; key order in data does not count', () => {
    const declared = topology().queues.reports!.schedulers!.nightly!;
    expect(schedulerDiff(declared, live({ pattern: '0 3 * * *', job: { name: 'report.nightly', data: { b: 2, a: 1 }, opts: {} } }))).toEqual([]);
    expect(schedulerDiff(declared, live({ pattern: '0 4 * * *', tz: 'UTC', job: { name: 'other', data: { a: 1, b: 2 }, opts: {} } }))).toEqual([
      { field: 'pattern', from: '0 4 * * *', to: '0 3 * * *' },
      { field: 'tz', from: 'UTC' },
      { field: 'job.name', from: 'other', to: 'report.nightly' },
    ]);
  });

  it('per queue: creates and changes before removals, then settings; an ended scheduler is refused before any write', () => {
    const state = {
      queues: [{ name: 'reports', kind: 'declared' as const, exists: true, paused: false, meta: { concurrency: 3 } }],
      schedulers: [live({ id: 'old', every: 1000 }), live({ id: 'stray-one', queue: 'stray', every: 1000 })],
    };
    const plan = planChanges(topology({ concurrency: 3, paused: true }), state, { prune: false });
    expect(plan.changes.map((c) => `${c.action} ${c.resource} ${c.id ?? ''}`.trim())).toEqual(['create scheduler nightly', 'delete scheduler old', 'update paused']);
    expect(plan.leftAlone).toEqual([{ queue: 'stray', schedulers: 1 }]);
    // A global limit is changed or removed where one is set live (as check judges it), never created.
    const unset = { ...state, queues: [{ ...state.queues[0]!, meta: {} }] };
    expect(planChanges(topology({ concurrency: 3, rateLimit: { max: 1, duration: 1000 } }), unset, { prune: false }).changes.map((c) => c.resource)).toEqual(['scheduler', 'scheduler']);
    const halfSet = { ...state, queues: [{ ...state.queues[0]!, meta: { concurrency: 3, max: 1 } }] };
    expect(planChanges(topology({ concurrency: 3, rateLimit: { max: 1, duration: 1000 } }), halfSet, { prune: false }).changes.map((c) => c.resource)).toEqual(['scheduler', 'scheduler']);
    expect(planChanges(topology(), halfSet, { prune: false }).changes.filter((c) => c.resource !== 'scheduler')).toEqual([
      { action: 'delete', queue: 'reports', resource: 'concurrency', fields: [{ field: 'concurrency', from: 3 }] },
      { action: 'delete', queue: 'reports', resource: 'rateLimit', fields: [{ field: 'rateLimit', from: { max: 1, duration: undefined } }] },
    ]);
    expect(planChanges(topology(), state, { prune: true, target: 'stray' }).changes.map((c) => c.id)).toEqual(['stray-one']);
    const ended = topology();
    ended.queues.reports!.schedulers!.nightly!.endDate = 1000;
    expect(() => planChanges(ended, state, { prune: false, now: 2000 })).toThrow(/scheduler "nightly" of queue "reports" ends at 1970-01-01T00:00:01\.000Z, which has passed/);
    // Live and unchanged past its end: nothing to write, nothing refused.
    const finished = { ...state, schedulers: [live({ pattern: '0 3 * * *', endDate: 1000, job: { name: 'report.nightly', data: { a: 1, b: 2 }, opts: {} } })] };
    expect(planChanges(ended, finished, { prune: false, now: 2000 }).changes.filter((c) => c.resource === 'scheduler')).toEqual([]);
  });
});
