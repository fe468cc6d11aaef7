import { DEFAULT_STATES, MOVABLE_STATES, type MovableState } from './keys.js';

/**
 * The commands `migrate` and `topology check` recommend, built in one place so the two never
 * point at each other in a loop: whatever jobs remain, the command named is one that moves them
 * (a plain `migrate --from X` moves nothing when only failed jobs are left).
 */

/** The states to name for the jobs left: the default ones if any of them holds jobs, plus failed. */
export function statesToMove(counts: Partial<Record<MovableState, number>>): MovableState[] {
  const has = (s: MovableState) => (counts[s] ?? 0) > 0;
  const states: MovableState[] = DEFAULT_STATES.some(has) ? [...DEFAULT_STATES] : DEFAULT_STATES.filter(has);
  for (const s of MOVABLE_STATES) if (has(s) && !states.includes(s)) states.push(s);
  return states;
}

/** `queuectl migrate --from <from> [--to] [--names] [--states]`; --states only when not the default. */
export function migrateCommand(from: string, options: { states?: readonly MovableState[]; to?: string; names?: readonly string[] } = {}): string {
  const states = options.states ?? DEFAULT_STATES;
  const isDefault = states.length === DEFAULT_STATES.length && DEFAULT_STATES.every((s) => states.includes(s));
  return [
    `queuectl migrate --from ${from}`,
    options.to ? ` --to ${options.to}` : '',
    options.names?.length ? ` --names ${options.names.join(',')}` : '',
    isDefault ? '' : ` --states ${MOVABLE_STATES.filter((s) => states.includes(s)).join(',')}`,
  ].join('');
}
