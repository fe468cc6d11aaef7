import type * as z from '../vendor/zod.js';

/**
 * Turns zod issues into the one-line problems the user sees:
 * `queues.eccb-ocr.backoff.delay (line 12): <what is wrong> — <what to do>`.
 * Schemas with a specific message set it themselves; this map words everything else.
 */

type Issue = z.core.$ZodIssue;
type RawIssue = z.core.$ZodRawIssue;

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  tuple: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  null: 'nothing',
};

/** Short, quoted rendering of a user's value for messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  return String(value);
}

/** The per-parse error map: wording for every issue a schema did not word itself. */
export function issueMessage(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      if (issue.input === undefined) return `missing — add ${expected} here`;
      const quotedNumber = typeof issue.input === 'string' && /^\d+(\.\d+)?$/.test(issue.input) && issue.expected !== 'string';
      return `expected ${expected}, got ${describeValue(issue.input)} — ${quotedNumber ? 'write it without quotes' : `write ${expected}`}`;
    }
    case 'too_small': {
      if (issue.origin === 'array') return `must not be empty — list at least ${String(issue.minimum)}`;
      if (issue.origin === 'string') return 'must not be empty — give a value';
      return `${describeValue(issue.input)} is too small — use ${String(issue.minimum)} or more`;
    }
    case 'too_big': {
      if (issue.origin === 'array') return `too many entries — list at most ${String(issue.maximum)}`;
      return `${describeValue(issue.input)} is too big — use ${String(issue.maximum)} or less`;
    }
    case 'invalid_value': {
      const options = issue.values.map((v) => JSON.stringify(v));
      const guess = typeof issue.input === 'string' ? didYouMean(issue.input, issue.values.map(String)) : undefined;
      return `expected ${options.length > 2 ? `one of ${options.join(', ')}` : options.join(' or ')}, got ${describeValue(issue.input)} — ${guess ? `did you mean "${guess}"?` : `use ${options.length > 1 ? 'one of them' : options[0]}`}`;
    }
    case 'unrecognized_keys':
      return issue.keys.map((key) => unknownKeyMessage(key, [])).join('\n');
    default:
      return undefined;
  }
}

/** Message for one key the schema does not know, with a suggestion when one is close. */
export function unknownKeyMessage(key: string, known: string[]): string {
  const guess = didYouMean(key, known);
  const fix = guess ? `did you mean "${guess}"?` : known.length > 0 ? `allowed here: ${known.join(', ')}` : 'remove it';
  return `unknown key "${key}" — ${fix}`;
}

/** The closest candidate within a small edit distance, compared case-insensitively. */
export function didYouMean(input: string, candidates: string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(input.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { candidate, distance };
  }
  const limit = Math.max(1, Math.min(3, Math.floor(input.length / 3)));
  return best && best.distance <= limit ? best.candidate : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** Dotted path as the user writes it: `queues.eccb-ocr.jobs[0]`. */
export function formatPath(path: PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text ? `.${String(segment)}` : String(segment);
  }
  return text || '(top level)';
}

export interface Problem {
  path: string;
  line?: number;
  message: string;
}

/**
 * One problem per issue, and one per key for unknown keys (strict objects put one message line
 * per key, in the order of `issue.keys`). Sorted by line so they read like the file.
 */
export function toProblems(issues: Issue[], lineOf: (path: (string | number)[]) => number | undefined): Problem[] {
  const problems: Problem[] = [];
  const add = (path: PropertyKey[], message: string) => {
    const plain = path.filter((p): p is string | number => typeof p !== 'symbol');
    problems.push({ path: formatPath(plain), line: lineOf(plain), message });
  };
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const lines = issue.message.split('\n');
      issue.keys.forEach((key, i) => add([...issue.path, key], lines[i] ?? unknownKeyMessage(key, [])));
    } else {
      add(issue.path, issue.message);
    }
  }
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? Infinity) - (b.p.line ?? Infinity) || a.i - b.i)
    .map(({ p }) => p);
}

/** `queues.eccb-ocr.backoff.delay (line 12): <message>` */
export function formatProblem(problem: Problem): string {
  return `${problem.path}${problem.line === undefined ? '' : ` (line ${problem.line})`}: ${problem.message}`;
}
