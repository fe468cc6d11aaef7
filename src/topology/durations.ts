/**
 * Durations in the topology file: a number of milliseconds, a digit string, or a number with a
 * unit (`500ms`, `30s`, `5m`, `1h`, `7d`). Everything downstream sees milliseconds only.
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;

/** The "how to fix" half of every duration problem. */
export const DURATION_HINT = 'use ms or 500ms, 30s, 5m, 1h, 7d';

/** Milliseconds for a duration value, or undefined when it is not one. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const match = PATTERN.exec(value.trim());
  if (!match) return undefined;
  const unit = (match[2] ?? 'ms') as keyof typeof UNIT_MS;
  return Math.round(Number(match[1]) * UNIT_MS[unit]);
}

/** One problem line's message for a value that is not a duration. */
export function durationProblem(value: unknown): string {
  const shown = typeof value === 'string' ? `"${value}"` : value === undefined ? 'nothing' : JSON.stringify(value) ?? String(value);
  return `invalid duration ${shown} — ${DURATION_HINT}`;
}

/** The shortest exact form of a millisecond count (`90000` → `90s`), for messages and output. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
