import type { Severity, Topology } from '../types.js';

/** What the lint rules may know besides the file itself. */
export interface LintOptions {
  /** The Redis URL in force (--redis); a `redis+cluster://` URL turns on the cluster rules. */
  redisUrl?: string;
  /** True when linting against a live server (topology check): cluster problems become errors. */
  live?: boolean;
}

/**
 * A finding as a rule reports it: `path` as segments, so lint() can both print it dotted and ask
 * the source for its line. Rules never see the source file.
 */
export interface RuleFinding {
  rule: string;
  severity: Severity;
  message: string;
  queue?: string;
  path?: (string | number)[];
}

/** Facts several rules need, computed once per lint run. */
export interface LintFacts {
  /** Queues named as some queue's `deadLetter.queue`: parked by design, never retried. */
  deadLetterQueues: Set<string>;
  /** Queue name → worker names that consume it. */
  workersOf: Map<string, string[]>;
}

export type Rule = (topology: Topology, options: LintOptions, facts: LintFacts) => RuleFinding[];
