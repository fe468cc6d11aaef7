/**
 * How human output is laid out for this run, set once by createOutput from -o/--output and the
 * terminal: every table (src/ui/table.ts) fits the terminal's width unless -o wide or a pipe asks
 * for everything. Process-wide on purpose: a new command's tables fit without threading a width
 * through every renderer.
 */
export type OutputFormat = 'human' | 'wide' | 'plain' | 'json';

export interface Layout {
  /** Columns available; undefined means no limit (a pipe, a file, -o wide, -o plain). */
  width?: number;
  /** -o plain: tab-separated cells, no padding, no colour: for cut/awk. */
  plain: boolean;
}

let current: Layout = { plain: false };

export function setLayout(layout: Layout): void {
  current = layout;
}

export function layout(): Layout {
  return current;
}

/** The width tables get: the terminal's columns for human output on a terminal, else unlimited (pipes keep full width). */
export function layoutFor(format: OutputFormat, stdout: { isTTY?: boolean; columns?: number }): Layout {
  if (format === 'plain') return { plain: true };
  if (format === 'human' && stdout.isTTY && stdout.columns) return { plain: false, width: stdout.columns };
  return { plain: false };
}
