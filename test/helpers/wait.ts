/**
 * Polls `check` until it holds; throws naming `what` after `ms`. Tests wait on observed state (job
 * counts, journal counters, output) with a generous bound, never on a fixed sleep: on a loaded
 * machine a sleep is either too short (flaky) or wasted.
 */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 30_000, everyMs = 20): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
