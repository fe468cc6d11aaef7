import type { Output } from '../output.js';

/**
 * The one progress display of every bulk command (migrate, dlq retry, dlq discard; new ones too):
 * `<verb> done/total pct%  rate/s ETA`. On a terminal a bar redrawn in place; otherwise a plain
 * line every few seconds (never one per batch) and a last line at the end, each printed once.
 * Silent with --json, --quiet and -o plain (Output.interactive / note handle those).
 */
export interface ProgressReporter {
  /** `elapsedMs` defaults to the time since the reporter was made; `state` (migrate's ApplyProgress) is not shown. */
  update(progress: { moved: number; elapsedMs?: number; state?: string }): void;
  done(): void;
}

export interface ProgressOptions {
  /** The word before the counts: moved (default), retried, discarded. */
  verb?: string;
  /** Off a terminal, at most one line this often (default 2 s). */
  everyMs?: number;
  /** Injected clock for tests. */
  now?: () => number;
}

const WIDTH = 28;
/**
 * A rate over less than this is noise: the first batch of 250 done in 16 ms reads as 15,000
 * jobs/s under --rate 300. Below it the line shows no rate and no ETA.
 */
export const MIN_RATE_WINDOW_MS = 1000;

/** One progress line: done/total, percent, jobs/s, ETA. Pure, so it can be tested and reused. */
export function progressLine(moved: number, total: number, elapsedMs: number, bar: boolean, verb = 'moved'): string {
  const rate = elapsedMs >= MIN_RATE_WINDOW_MS ? (moved / elapsedMs) * 1000 : undefined;
  const shownTotal = Math.max(total, moved);
  const ratio = shownTotal > 0 ? moved / shownTotal : 1;
  const eta = rate && shownTotal > moved ? `ETA ${Math.ceil((shownTotal - moved) / rate)}s` : '';
  const head = bar ? `${verb} [${'#'.repeat(Math.round(ratio * WIDTH)).padEnd(WIDTH, '.')}] ` : `${verb} `;
  const speed = rate === undefined ? '' : `  ${Math.round(rate).toLocaleString('en-US')} jobs/s`;
  return `${head}${moved}/${shownTotal} ${Math.floor(ratio * 100)}%${speed} ${eta}`.trimEnd();
}

export function createProgress(out: Output, total: number, options: ProgressOptions | number = {}): ProgressReporter {
  const { verb = 'moved', everyMs = 2000, now = Date.now } = typeof options === 'number' ? { everyMs: options } : options;
  const started = now();
  let lastDraw = 0;
  let lastPlain = started; // the first plain line comes after everyMs, with a rate worth reading
  let printed = '';
  let latest: { moved: number; elapsedMs: number } | undefined;
  const plainLine = (text: string) => {
    if (text === printed) return;
    printed = text;
    out.note(text);
  };
  return {
    update(progress) {
      latest = { moved: progress.moved, elapsedMs: progress.elapsedMs ?? now() - started };
      if (out.json) return;
      const at = now();
      if (out.interactive) {
        if (at - lastDraw < 100) return;
        lastDraw = at;
        out.stderr.write(`\r\x1b[2K${progressLine(latest.moved, total, latest.elapsedMs, true, verb)}`);
      } else if (at - lastPlain >= everyMs) {
        lastPlain = at;
        plainLine(progressLine(latest.moved, total, latest.elapsedMs, false, verb));
      }
    },
    done() {
      // Nothing was to be done (a rerun after a finished run): no "0/0 100%" line at all.
      if (out.json || !latest || (total === 0 && latest.moved === 0)) return;
      if (out.interactive) out.stderr.write(`\r\x1b[2K${progressLine(latest.moved, total, latest.elapsedMs, true, verb)}\n`);
      else plainLine(progressLine(latest.moved, total, latest.elapsedMs, false, verb));
    },
  };
}
