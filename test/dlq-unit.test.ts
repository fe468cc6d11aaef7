import { describe, expect, it } from 'vitest';
import { matches, parseFilters } from '../src/dlq/filters.js';
import { dlqSources, parseDlqItem, parseFailedItem } from '../src/dlq/sources.js';
import { planRetry } from '../src/dlq/plan.js';
import { splitRef } from '../src/dlq/refs.js';
import { topReasons } from '../src/dlq/stats.js';
import type { Topology } from '../src/topology/types.js';

const topology: Topology = {
  version: 1, prefix: 'bull', workers: {}, legacy: {},
  queues: {
    a: { name: 'a', jobs: ['x'], deadLetter: { kind: 'failed' } },
    b: { name: 'b', jobs: ['y'], deadLetter: { kind: 'queue', queue: 'dead' } },
    c: { name: 'c', jobs: ['z'], deadLetter: { kind: 'queue', queue: 'dead' } },
    dead: { name: 'dead', jobs: ['d'] },
  },
};

describe('dlq pure parts', () => {
  it('groups queues sharing a dead-letter queue into one source, and --queue selects sources', () => {
    expect(dlqSources(topology)).toEqual([
      { style: 'failed', queue: 'a' }, { style: 'failed', queue: 'dead' }, { style: 'queue', dlq: 'dead', feeds: ['b', 'c'] },
    ]);
    expect(dlqSources(topology, ['c'])).toEqual([{ style: 'queue', dlq: 'dead', feeds: ['b', 'c'] }]);
    expect(() => dlqSources(topology, ['zz'])).toThrow(/not a declared queue/);
  });

  it('parses both item styles; a dead-letter payload may give failedAt as ISO text', () => {
    expect(parseFailedItem('a', '7', 1000, ['x', 'boom', '3', null, '{"organizationId":5}'])).toMatchObject({ ref: 'a/7', attemptsMade: 3, orgId: '5', failedAt: 1000 });
    expect(parseFailedItem('a', '7', 1000, [null, null, null, null, null])).toBeUndefined();
    const item = parseDlqItem('dead', '12', ['y', JSON.stringify({ originalQueue: 'b', originalJobId: 'j-1', error: { message: 'bad' }, attempts: 2, failedAt: '2024-01-02T00:00:00Z', jobData: { orgId: 'o' } }), '5', 'retried']);
    expect(item).toMatchObject({ ref: 'dead/12', queue: 'b', id: 'j-1', failedReason: 'bad', failedAt: Date.parse('2024-01-02T00:00:00Z'), orgId: 'o', status: 'retried' });
  });

  it('filters: time window, regex, names; bad input is a usage error', () => {
    const f = parseFilters({ since: '1h', olderThan: '10m', matchReason: 'time.?out', name: ['x,y'] }, 10_000_000);
    const item = parseFailedItem('a', '1', 10_000_000 - 30 * 60_000, ['x', 'timeout', '1', null, null])!;
    expect(matches(item, f)).toBe(true);
    expect(matches({ ...item, failedAt: 10_000_000 }, f)).toBe(false);
    expect(matches({ ...item, name: 'q' }, f)).toBe(false);
    expect(() => parseFilters({ matchReason: '*' }, 0)).toThrow(/not a valid regular expression/);
    expect(() => parseFilters({ olderThan: 'x' }, 0)).toThrow(/not a duration/);
  });

  it('plans oldest first and refuses undeclared targets and finished items', () => {
    const mk = (ref: string, queue: string, failedAt: number, status = 'pending') => ({ ...parseDlqItem('dead', ref, ['n', JSON.stringify({ originalQueue: queue, originalJobId: `id-${ref}`, jobData: {}, error: 'x', attempts: 1, failedAt }), '0', status])! });
    const plan = planRetry([mk('1', 'b', 3), mk('2', 'ghost', 2), mk('3', 'c', 1), mk('4', 'b', 0, 'discarded')], topology);
    expect(plan.items.map((i) => i.ref)).toEqual(['dead/3', 'dead/1']);
    expect(plan.refused.map((r) => r.ref)).toEqual(['dead/4', 'dead/2']);
  });

  it("retries an original id with exactly two ':' (BullMQ accepts it) and refuses one ':'", () => {
    const mk = (ref: string, id: string) => ({ ...parseDlqItem('dead', ref, ['n', JSON.stringify({ originalQueue: 'b', originalJobId: id, jobData: {}, error: 'x', attempts: 1, failedAt: 1 }), '0', 'pending'])! });
    const plan = planRetry([mk('1', 'invoice:29:1733212800'), mk('2', 'invoice:29')], topology);
    expect(plan.items.map((i) => i.ref)).toEqual(['dead/1']);
    expect(plan.refused.map((r) => r.ref)).toEqual(['dead/2']);
  });

  it('splits references at the longest known queue name; counts top reasons', () => {
    expect(splitRef('a/b/c', ['a', 'a/b'])).toEqual({ queue: 'a/b', id: 'c' });
    expect(splitRef('x-1', ['a'])).toEqual({ id: 'x-1' });
    expect(topReasons(['a\nstack', 'b', 'a', '', 'c', 'd', 'e', 'f'], 2)).toEqual([{ reason: 'a', count: 2 }, { reason: '(no reason)', count: 1 }]);
  });
});
