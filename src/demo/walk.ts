import { Chalk } from 'chalk';
import { demoStopped } from './interrupt.js';
import { runQueuectl, shellLine } from './child.js';
import type { DemoAction, DemoStep } from './steps.js';

export type StepStatus = 'ok' | 'failed' | 'skipped';
export interface StepOutcome {
  title: string;
  status: StepStatus;
  detail?: string;
}

export interface WalkOptions {
  steps: DemoStep[];
  /** Flags after each command: `-c <file>` and the connection, as run and as shown. */
  base: string[];
  shownBase: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  color: boolean;
  print(line: string): void;
  /** Waits for the person before each step; undefined off a terminal or with --yes. */
  pause?: () => Promise<void>;
  /** True when this build has the command path (e.g. ['dlq', 'retry']). */
  available(path: string[]): boolean;
  /** In-process steps: each returns the lines to show. */
  actions: Record<DemoAction, () => Promise<string[]>>;
}

/** Runs the steps in order, each one shown as a person would see it, and judges each. */
export async function walk(options: WalkOptions): Promise<StepOutcome[]> {
  const c = new Chalk({ level: options.color ? 1 : 0 });
  const outcomes: StepOutcome[] = [];
  const total = options.steps.length;
  for (const [i, step] of options.steps.entries()) {
    options.print('');
    options.print(c.bold.cyan(`━━ Step ${i + 1}/${total}: ${step.title}`));
    options.print(step.explain);
    if (step.requires && !options.available(step.requires)) {
      const detail = `skipped: command not available in this build (queuectl ${step.requires.join(' ')})`;
      options.print(c.yellow(detail));
      outcomes.push({ title: step.title, status: 'skipped', detail });
      continue;
    }
    if (step.skip) {
      options.print(c.yellow(step.skip));
      outcomes.push({ title: step.title, status: 'skipped', detail: step.skip });
      continue;
    }
    if ('argv' in step.run) options.print(c.dim(`$ ${shellLine(['queuectl', ...step.run.argv, ...options.shownBase])}`));
    if (options.pause) await options.pause();
    if (options.signal.aborted) throw demoStopped();
    const outcome = await runStep(step, options, c);
    outcomes.push(outcome);
    if (outcome.status === 'ok') options.print(c.green(`✓ ${outcome.detail}`));
    else options.print(c.red(`✗ ${outcome.detail}`));
  }
  return outcomes;
}

async function runStep(step: DemoStep, options: WalkOptions, c: InstanceType<typeof Chalk>): Promise<StepOutcome> {
  const fail = (detail: string): StepOutcome => ({ title: step.title, status: 'failed', detail });
  if ('action' in step.run) {
    try {
      for (const line of await options.actions[step.run.action]()) options.print(line);
      return { title: step.title, status: 'ok', detail: 'done' };
    } catch (error) {
      // Ctrl-C during an action stops the demo the same way as anywhere else, not as a failed step.
      if (options.signal.aborted) throw demoStopped();
      return fail(error instanceof Error ? error.message : String(error));
    }
  }
  const child = { cwd: options.cwd, env: options.env, signal: options.signal };
  const result = await runQueuectl([...step.run.argv, ...options.base], { ...child, onLine: (line) => options.print(line) });
  if (options.signal.aborted) throw demoStopped();
  const code = result.code ?? -1;
  const why = step.expectWhy ? ` (${step.expectWhy})` : '';
  if (code !== step.expectExit) return fail(`exit ${code}, expected ${step.expectExit}${why}`);

  const problems: string[] = [];
  if (step.verify) {
    const docs: unknown[] = [];
    for (const probe of step.verify.probes) {
      const run = await runQueuectl([...probe, ...options.base], child);
      try {
        docs.push(JSON.parse(run.stdout));
      } catch {
        problems.push(`queuectl ${probe.join(' ')} printed no JSON document (exit ${run.code}): ${run.stderr.trim().split('\n')[0] ?? ''}`);
      }
    }
    if (problems.length === 0) problems.push(...step.verify.judge(docs));
  }
  if (problems.length > 0) {
    for (const p of problems) options.print(c.red(`  ${p}`));
    return fail(`exit ${code} as expected, but: ${problems[0]}`);
  }
  return { title: step.title, status: 'ok', detail: `exit ${code}, as expected${why}` };
}

/** The closing summary: which steps did not do what they should. */
export function summarize(outcomes: StepOutcome[]): { ok: boolean; lines: string[] } {
  const failed = outcomes.filter((o) => o.status === 'failed');
  const skipped = outcomes.filter((o) => o.status === 'skipped');
  const lines: string[] = [];
  const done = outcomes.length - skipped.length;
  if (failed.length === 0) lines.push(`Demo complete: ${done} of ${outcomes.length} steps did what they should${skipped.length ? `, ${skipped.length} skipped (${skipped.map((o) => o.detail?.replace(/^skipped: /, '')).join('; ')})` : ''}.`);
  else {
    lines.push(`Demo failed: ${failed.length} of ${outcomes.length} steps did not do what they should:`);
    for (const o of failed) lines.push(`  - Step ${outcomes.indexOf(o) + 1} (${o.title}): ${o.detail}`);
  }
  return { ok: failed.length === 0, lines };
}
