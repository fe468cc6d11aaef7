import { describe, expect, it } from 'vitest';
import { LaneEvents } from '../src/migrate/postgres-lanes.js';

/**
 * Event-trim floors with two sessions moving at once (postgres-lanes.ts): a trim sees only
 * committed events, so no floor may rise above what another lane may still commit.
 */
describe('LaneEvents', () => {
  it('one lane has no cap', () => {
    const events = new LaneEvents(1);
    events.open(0);
    events.close(0, '500');
    expect(events.capFor(0)).toBeUndefined();
  });

  it('caps a lane at the highest committed event id while the other lane is idle, and at what it began above while it is open', () => {
    const events = new LaneEvents(2);
    expect(events.capFor(0)).toBe(0n); // nothing committed yet: lane 1 may write anywhere above 0
    events.open(0);
    events.close(0, '3000');
    expect(events.capFor(0)).toBe(3000n); // lane 1, idle, will write above 3000
    events.open(1); // lane 1's events will be above 3000
    events.open(0);
    events.close(0, '6000');
    expect(events.capFor(0)).toBe(3000n); // lane 1 still open: its events may be anywhere above 3000
    events.close(1, '4500');
    expect(events.capFor(0)).toBe(6000n);
    expect(events.capFor(1)).toBe(6000n);
  });

  it('a failed transaction (no event id) leaves the committed top as it was', () => {
    const events = new LaneEvents(2);
    events.open(1);
    events.close(1, '100');
    events.open(1);
    events.close(1);
    expect(events.capFor(0)).toBe(100n);
  });
});
