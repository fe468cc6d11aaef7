import type { Finding, Topology, TopologySource } from './types.js';
import { rules, type LintOptions, type RuleFinding } from './rules/index.js';
import type { LintFacts } from './rules/types.js';

export type { LintOptions } from './rules/index.js';

/**
 * Runs every lint rule over a loaded topology. Pure: no I/O, no printing. With a source, each
 * finding gets the line of its path (or of the nearest enclosing entry that has one, since values
 * merged in from `defaults` have no line of their own in the queue entry).
 * Errors come first, then warnings; within each, in file order.
 */
export function lint(topology: Topology, options: LintOptions = {}, source?: Pick<TopologySource, 'lineOf'>): Finding[] {
  const facts = lintFacts(topology);
  const found = rules.flatMap((rule) => rule(topology, options, facts));
  const findings = found.map((f) => toFinding(f, source));
  const rank = (f: Finding) => (f.severity === 'error' ? 0 : 1);
  // Array.prototype.sort is stable, so findings on one line keep the rules' order.
  return findings.sort((a, b) => rank(a) - rank(b) || (a.line ?? Infinity) - (b.line ?? Infinity));
}

/** True when no finding is an error (warnings do not fail validate). */
export function isValid(findings: Finding[]): boolean {
  return findings.every((f) => f.severity !== 'error');
}

function lintFacts(topology: Topology): LintFacts {
  const deadLetterQueues = new Set<string>();
  for (const q of Object.values(topology.queues)) {
    if (q.deadLetter?.kind === 'queue') deadLetterQueues.add(q.deadLetter.queue);
  }
  const workersOf = new Map<string, string[]>();
  for (const w of Object.values(topology.workers)) {
    for (const q of new Set(w.queues)) workersOf.set(q, [...(workersOf.get(q) ?? []), w.name]);
  }
  return { deadLetterQueues, workersOf };
}

function toFinding(raw: RuleFinding, source?: Pick<TopologySource, 'lineOf'>): Finding {
  const { path, ...rest } = raw;
  const finding: Finding = { ...rest };
  if (path) {
    finding.path = formatPath(path);
    const line = source ? lineNear(source, path) : undefined;
    if (line !== undefined) finding.line = line;
  }
  return finding;
}

function lineNear(source: Pick<TopologySource, 'lineOf'>, path: (string | number)[]): number | undefined {
  for (let n = path.length; n > 0; n--) {
    const line = source.lineOf(path.slice(0, n));
    if (line !== undefined) return line;
  }
  return undefined;
}

/**
 * `queues.eccb-ocr.attempts`, but `queues["afip:invoice"].attempts`: a name holding `:` (or
 * spaces, quotes, brackets) is quoted, so `where` (path, then `:line`) stays unambiguous.
 */
export function formatPath(path: (string | number)[]): string {
  return path.map((key, i) => (typeof key === 'string' && /[:\s"'[\]]/.test(key) ? `[${JSON.stringify(key)}]` : `${i === 0 ? '' : '.'}${key}`)).join('');
}
