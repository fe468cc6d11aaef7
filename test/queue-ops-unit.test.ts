import { describe, expect, it } from 'vitest';
import { describeCounts, describePause, planPause, totalJobs } from '../src/jobs/plan.js';
import type { LiveQueue } from '../src/inspect/types.js';

const live = (name: string, paused: boolean): LiveQueue => ({
  name, kind: 'declared', exists: true, paused, oldestWaitingMs: null, meta: {}, stalled: 0,
  counts: { waiting: 0, prioritized: 0, delayed: 0, active: 0, failed: 0, completed: 0, waitingChildren: 0 },
});

describe('queue operation plans (pure)', () => {
  it('pause changes only running queues, resume only paused ones, and says which', () => {
    const queues = [live('a', false), live('b', true)];
    expect(planPause(queues, true)).toEqual([{ queue: 'a', wasPaused: false, change: true }, { queue: 'b', wasPaused: true, change: false }]);
    expect(describePause(planPause(queues, true), true, true)).toEqual(['would pause a (was running)', 'b is already paused: nothing to do']);
    expect(describePause(planPause(queues, false), false, false)).toEqual(['a is already running: nothing to do', 'resumed b (was paused)']);
  });

  it('counts every state, and names only the states that hold jobs', () => {
    const counts = { waiting: 2, prioritized: 0, delayed: 1, active: 0, failed: 3, completed: 0, waitingChildren: 1 };
    expect(totalJobs(counts)).toBe(7);
    expect(describeCounts(counts)).toBe('waiting 2, delayed 1, failed 3, waiting-children 1');
    expect(describeCounts({ ...counts, waiting: 0, delayed: 0, failed: 0, waitingChildren: 0 })).toBe('no jobs');
  });
});
