import { createRequire } from 'node:module';

/**
 * cron-parser (with luxon) loads only when a file declares a cron `pattern`: `topology validate`
 * of a file without one is a CI and pre-commit step whose start-up is held by what it loads.
 * cron-parser is CommonJS, so a synchronous require fits the synchronous schema check.
 */
const cronParser = (): typeof import('cron-parser') => createRequire(import.meta.url)('cron-parser');

/**
 * Cron patterns and time zones of `schedulers:`, judged by cron-parser: the library (and the exact
 * version, pinned in package.json) BullMQ 6 itself parses them with (job-scheduler.js), so a
 * pattern the file accepts is one BullMQ accepts. The next fire times queuectl prints are the ones
 * BullMQ stored, never recomputed.
 */

/** A problem with a time zone name, or undefined when the runtime knows it. */
export function timeZoneProblem(tz: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return undefined;
  } catch {
    return `unknown time zone "${tz}" — use an IANA name such as Europe/Madrid, America/New_York or UTC`;
  }
}

/** A problem with a cron pattern (in `tz` when given), or undefined when BullMQ would accept it. */
export function cronProblem(pattern: string, tz?: string): string | undefined {
  if (tz !== undefined && timeZoneProblem(tz)) return undefined; // reported on tz itself
  try {
    cronParser().CronExpressionParser.parse(pattern, tz ? { tz } : {}).next();
    return undefined;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return `invalid cron pattern "${pattern}": ${why} — e.g. "0 3 * * *" (03:00 every day) or "*/15 * * * * *" (every 15 s, with seconds)`;
  }
}
