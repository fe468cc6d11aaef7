import { LEGACY_QUEUE, UNOWNED_NAME } from './mix.js';
import { expectClean, expectDeadLetters, expectDriftBefore, expectLegacyGone, expectPlan } from './verify.js';

/** The in-process steps (run in the demo's own process, as the stand-in old deployment). */
export type DemoAction = 'finish-legacy-work';

/**
 * The walk-through, as data: what each step runs, the exit code it must end with, and how its
 * result is judged. Pure, so the order and the expectations can be read (and tested) in one place.
 */
export interface DemoStep {
  title: string;
  /** One sentence: what the step shows and why it matters. */
  explain: string;
  /** queuectl arguments (connection flags are added by the runner), or an in-process action. */
  run: { argv: string[] } | { action: DemoAction };
  expectExit: number;
  /** Why that exit code is the right one, printed when it is not 0. */
  expectWhy?: string;
  /** Command path that must exist in this build (e.g. ['dlq', 'retry']); otherwise the step is skipped. */
  requires?: string[];
  /** Set when this backend has no version of the step yet: shown, and the step is skipped. */
  skip?: string;
  /** Extra `--json` runs, not shown, whose documents `judge` turns into problems (none = as expected). */
  verify?: { probes: string[][]; judge: (docs: unknown[]) => string[] };
}

export interface StepFacts {
  /** Jobs of UNOWNED_NAME seeded: migrate leaves them (no owner); the old deployment runs them. */
  unowned: number;
  /** Corrupt uploads the old workers failed (they must reach dlq list, then be retried). */
  corrupt: number;
  /** Job name → owning queue, from the topology. */
  owners: Record<string, string>;
  /** Where the queues live, as people call it (default Redis). */
  store?: 'Redis' | 'PostgreSQL';
}

const STATES = 'wait,prioritized,delayed,failed';

export function demoSteps(facts: StepFacts): DemoStep[] {
  const { unowned, corrupt, owners, store = 'Redis' } = facts;
  // Without drain the legacy queue stays, holding only finished jobs: "gone" becomes "idle".
  const pg = store === 'PostgreSQL';
  const migrate = ['migrate', '--from', LEGACY_QUEUE, '--states', STATES];
  const drain = ['migrate', '--from', LEGACY_QUEUE, '--strategy', 'drain', '--quiet-for', '1s', '--confirm', LEGACY_QUEUE];
  const them = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  return [
    {
      title: `inspect: what is in ${store} now`,
      explain: `Every kind of Smart Upload job still sits in the shared legacy queue ${LEGACY_QUEUE}, consumed by the old workers, while the four queues the file declares are still empty.`,
      run: { argv: ['inspect'] },
      expectExit: 0,
    },
    {
      title: 'topology check: the CI gate sees drift',
      explain: `The drift gate compares the file with live ${store}: the legacy queue holds jobs whose names now belong to other queues, so it fails (exit 1), as it would in CI.`,
      run: { argv: ['topology', 'check'] },
      expectExit: 1,
      expectWhy: 'drift: the legacy queue still holds jobs',
      verify: { probes: [['topology', 'check', '--json']], judge: ([check]) => expectDriftBefore(check as never) },
    },
    {
      title: 'migrate --dry-run: the plan, nothing changed',
      explain: `Before moving anything, the plan shows how many jobs go to which queue per state (failed ones too, so the dead letters follow their jobs) and which stay, and why.`,
      run: { argv: [...migrate, '--dry-run'] },
      expectExit: 1,
      expectWhy: `${them(unowned, 'job')} named ${UNOWNED_NAME} have no owner and would stay`,
      requires: ['migrate'],
      verify: { probes: [[...migrate, '--dry-run', '--json']], judge: ([plan]) => expectPlan(plan as never, unowned, 'some') },
    },
    {
      title: 'migrate: move the jobs while the old workers run',
      explain: `Each batch moves atomically in ${pg ? 'one transaction' : 'one Lua script'}, keeping ids, data, attempts, priorities and due times; jobs the old workers hold stay with them (the closing verification names any they took meanwhile), and the ${them(unowned, 'job')} named ${UNOWNED_NAME}, a job type the new design dropped, stay and are reported, so the exit is 1.`,
      run: { argv: [...migrate, '--yes'] },
      expectExit: 1,
      expectWhy: `the ${them(unowned, 'unowned job')} stay and are reported`,
      requires: ['migrate'],
      // After the real run, a dry run that plans no move (only the unowned jobs stay) proves it finished.
      verify: { probes: [[...migrate, '--dry-run', '--json']], judge: ([plan]) => expectPlan(plan as never, unowned, 'none') },
    },
    {
      title: 'the old deployment finishes its last jobs, then retires',
      explain: `The last jobs only the old code can run are finished by the old deployment, then it is retired: it promotes its ${them(unowned, 'delayed job')} named ${UNOWNED_NAME} instead of waiting until tonight, its workers complete them, and they close (this is the old app's doing, not queuectl's).`,
      run: { action: 'finish-legacy-work' },
      expectExit: 0,
    },
    {
      title: 'migrate --strategy drain: delete the empty legacy queue',
      explain: `Drain moves nothing: it confirms ${LEGACY_QUEUE} is empty (nothing waiting, delayed or active) and quiet (no job added for 1 s), then deletes its keys, after the queue's name is typed (given here with --confirm, as off a terminal).`,
      run: { argv: drain },
      expectExit: 0,
      requires: ['migrate'],
      verify: { probes: [['inspect', LEGACY_QUEUE, '--json']], judge: ([inspect]) => expectLegacyGone(inspect as never) },
    },
    {
      title: 'topology check again: in sync',
      explain: 'The same gate now passes (exit 0): every job lives in the queue that owns its name, and the legacy queue is gone, so CI would let this deploy through.',
      run: { argv: ['topology', 'check'] },
      expectExit: 0,
      verify: { probes: [['topology', 'check', '--json']], judge: ([check]) => expectClean(check as never) },
    },
    {
      title: 'dlq list: the dead letters, now in their own queues',
      explain: `The ${them(corrupt, 'corrupt upload')} the old workers failed travelled with the migration into the failed sets of the queues that own their names, so deleting the legacy queue lost none of them, and the dead-letter commands find them there.`,
      run: { argv: ['dlq', 'list', '--limit', '10'] },
      expectExit: 0,
      requires: ['dlq', 'list'],
      verify: { probes: [['dlq', 'list', '--all', '--json']], judge: ([list]) => expectDeadLetters(list as never, corrupt, owners) },
    },
    {
      title: 'dlq retry: put them back under their original ids',
      explain: 'Once the cause is fixed, retry puts each dead letter back in its own queue under its original id, atomically, so retrying twice never makes two jobs.',
      run: { argv: ['dlq', 'retry', '--all', '--yes'] },
      expectExit: 0,
      requires: ['dlq', 'retry'],
      verify: { probes: [['dlq', 'list', '--all', '--json']], judge: ([list]) => expectDeadLetters(list as never, 0, owners) },
    },
    {
      title: 'dedup-check: one session, one job',
      explain: `On a scratch ${pg ? 'schema' : 'prefix'}, five producers enqueue the same upload session at once and a canary worker fails its first attempt: each queue must end with one job and one successful run.`,
      run: { argv: ['dedup-check'] },
      expectExit: 0,
      requires: ['dedup-check'],
    },
    {
      title: 'inspect: where everything ended up',
      explain: `The jobs now wait in the queues that own them for the new workers, the retried dead letters among them, and ${LEGACY_QUEUE} has no keys left. The demo starts no new workers, so a queue holding more jobs than its alerts.waiting threshold in the topology shows "critical": in production its workers would be draining it.`,
      run: { argv: ['inspect'] },
      expectExit: 0,
      verify: { probes: [['inspect', '--json']], judge: ([inspect]) => expectLegacyGone(inspect as never) },
    },
  ];
}
