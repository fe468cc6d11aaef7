import type { Output } from '../output.js';
import type { ApplyProgress } from './apply.js';

export interface ProgressReporter {
  update(progress: ApplyProgress): void;
  done(): void;
}

const WIDTH = 28;

/** One progress line: done/total, percent, jobs/s, ETA. Pure, so it can be tested and reused. */
export function progressLine(moved: number, total: number, elapsedMs: number, bar: boolean): string {
  const rate = elapsedMs > 0 ? (moved / elapsedMs) * 1000 : 0;
  const shownTotal = Math.max(total, moved);
  const ratio = shownTotal > 0 ? moved / shownTotal : 1;
  const eta = rate > 0 && shownTotal > moved ? `ETA ${Math.ceil((shownTotal - moved) / rate)}s` : '';
  const head = bar ? `[${'#'.repeat(Math.round(ratio * WIDTH)).padEnd(WIDTH, '.')}] ` : 'moved ';
  return `${head}${moved}/${shownTotal} ${Math.floor(ratio * 100)}%  ${Math.round(rate).toLocaleString('en-US')} jobs/s ${eta}`.trimEnd();
}

/**
 * On a terminal a bar redrawn in place; otherwise a plain line every few seconds, so logs of CI
 * jobs show progress without a flood. Silent with --json (the document is the only output).
 */
export function createProgress(out: Output, total: number, everyMs = 2000): ProgressReporter {
  let last = 0;
  let latest: ApplyProgress | undefined;
  return {
    update(progress) {
      latest = progress;
      if (out.json) return;
      const now = Date.now();
      if (out.interactive) {
        if (now - last < 100) return;
        last = now;
        out.stderr.write(`\r\x1b[2K${progressLine(progress.moved, total, progress.elapsedMs, true)}`);
      } else if (now - last >= everyMs) {
        last = now;
        out.note(progressLine(progress.moved, total, progress.elapsedMs, false));
      }
    },
    done() {
      if (out.json || !latest) return;
      if (out.interactive) out.stderr.write(`\r\x1b[2K${progressLine(latest.moved, total, latest.elapsedMs, true)}\n`);
      else out.note(progressLine(latest.moved, total, latest.elapsedMs, false));
    },
  };
}
