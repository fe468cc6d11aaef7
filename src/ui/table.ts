import { createRequire } from 'node:module';
import Table from 'cli-table3';
import { escapeControls } from './escape.js';
import { layout, type Layout } from './layout.js';

export interface TableOptions {
  /** Colour the header; off means no ANSI codes at all (cli-table3 colours headers by default). */
  color?: boolean;
  /** Plain space-separated columns like `kubectl get` (default, the one look of every queuectl table), or box-drawing borders. */
  borders?: boolean;
  /** Wrap cells of these columns at this many characters (index → width). */
  wrap?: Record<number, number>;
  /** Right-align these columns (counts, ages). */
  alignRight?: number[];
  /**
   * Columns that may be left out when the table is wider than the terminal, least important
   * first; the first column is never dropped. Then wrapped and text columns are narrowed ("…").
   */
  dropFirst?: number[];
  /** Override the run's layout (tests; -o wide/plain come through setLayout). */
  layout?: Layout;
}

/** Narrowest a text column is squeezed to before a table is allowed to overflow. */
const MIN_TEXT_WIDTH = 12;

/** Renders rows under a header as a string (no trailing newline); callers print it. */
export function renderTable(head: string[], rows: (string | number)[][], options: TableOptions = {}): string {
  const how = options.layout ?? layout();
  const cells = rows.map((row) => row.map((cell) => escapeControls(String(cell), how.plain ? false : options.color ?? false)));
  if (how.plain) return tabSeparated(head, cells);
  if (options.borders) return boxed(head, rows, options);
  const fitted = fit(head, cells, options, how.width);
  return plain(fitted.head, fitted.rows, fitted.options, fitted.maxWidths);
}

/** -o plain: one line per row, cells joined by tabs, newlines inside a cell shown as spaces. */
function tabSeparated(head: string[], rows: string[][]): string {
  const flat = (cell: string) => cell.replace(/\u001b\[[0-9;]*m/g, '').replace(/[\t\n]+/g, ' ');
  return [head, ...rows].map((row) => head.map((_, i) => flat(row[i] ?? '')).join('\t')).join('\n');
}

/**
 * The table narrowed to `width` columns: first the dropFirst columns go (least important first),
 * then the widest text columns (left-aligned, not numbers) are narrowed, wrapped ones by wrapping
 * tighter, others by truncating with "…". No width (a pipe, -o wide): the table as it is.
 */
interface Fitted {
  head: string[];
  rows: string[][];
  options: TableOptions;
  /** Widths of narrowed (truncated) columns. */
  maxWidths?: Record<number, number>;
}

function fit(head: string[], rows: string[][], options: TableOptions, width: number | undefined): Fitted {
  if (width === undefined) return { head, rows, options };
  const natural = head.map((_, i) => {
    let widest = 0;
    for (const row of [head, ...rows]) for (const line of (row[i] ?? '').split('\n')) widest = Math.max(widest, widthOf(line));
    const wrapAt = options.wrap?.[i];
    return wrapAt === undefined ? widest : Math.min(widest, wrapAt);
  });
  let keep = head.map((_, i) => i);
  const total = () => keep.reduce((sum, i) => sum + natural[i]!, 0) + 2 * (keep.length - 1);
  for (const column of options.dropFirst ?? []) {
    if (total() <= width) break;
    if (column !== 0) keep = keep.filter((i) => i !== column);
  }
  const right = new Set(options.alignRight ?? []);
  const widths = [...natural];
  const flexible = keep.filter((i) => !right.has(i));
  while (total() > width) {
    const widest = flexible.filter((i) => widths[i]! > MIN_TEXT_WIDTH).sort((a, b) => widths[b]! - widths[a]!)[0];
    if (widest === undefined) break;
    const over = total() - width;
    widths[widest] = Math.max(MIN_TEXT_WIDTH, widths[widest]! - over);
    natural[widest] = widths[widest]!;
  }
  // Reindex the options for the kept columns; every narrowed or wrapped column gets an exact width.
  const wrap: Record<number, number> = {};
  const fixed: Record<number, number> = {};
  keep.forEach((column, at) => {
    if (options.wrap?.[column] !== undefined) wrap[at] = widths[column]!;
    else fixed[at] = widths[column]!;
  });
  return {
    head: keep.map((i) => head[i]!),
    rows: rows.map((row) => keep.map((i) => row[i] ?? '')),
    options: { ...options, wrap, alignRight: keep.flatMap((column, at) => (right.has(column) ? [at] : [])) },
    maxWidths: fixed,
  };
}

// cli-table3's own text helpers, so the borderless look below is the one it draws: display width
// (ANSI codes skipped, wide characters count 2), word wrap, truncation with "…", padding.
const cliTable = createRequire(import.meta.url)('cli-table3/src/utils.js') as {
  strlen(text: string): number;
  wordWrap(width: number, text: string, onWordBoundary: boolean): string[];
  colorizeLines(lines: string[]): string[];
  truncate(text: string, width: number, symbol: string): string;
  pad(text: string, width: number, fill: string, dir: 'left' | 'right'): string;
};
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const widthOf = (line: string) => (PRINTABLE_ASCII.test(line) ? line.length : cliTable.strlen(line));
const BOLD = (text: string) => `\u001b[1m${text}\u001b[22m`;

/**
 * The borderless table, laid out here in one pass: cli-table3 spends ~1 ms per row on its
 * general layout (8,000 dlq rows took 13 s); widths are computed once and each line is the
 * padded cells joined by two spaces, as cli-table3 drew them with empty border characters.
 */
function plain(head: string[], rows: string[][], options: TableOptions, maxWidths?: Record<number, number>): string {
  const linesOf = (text: string, column: number): string[] => {
    const wrapAt = options.wrap?.[column];
    return cliTable.colorizeLines(wrapAt === undefined ? text.split('\n') : cliTable.wordWrap(wrapAt, text, true));
  };
  const table = [head, ...rows].map((row) => head.map((_, i) => linesOf(row[i] ?? '', i)));
  const widths = head.map((_, i) => {
    if (options.wrap?.[i] !== undefined) return options.wrap[i];
    let widest = 0;
    for (const row of table) for (const line of row[i]) widest = Math.max(widest, widthOf(line));
    return maxWidths?.[i] !== undefined ? Math.min(widest, maxWidths[i]) : widest;
  });
  const right = new Set(options.alignRight ?? []);
  const out: string[] = [];
  table.forEach((row, r) => {
    const height = row.reduce((most, lines) => Math.max(most, lines.length), 0);
    for (let l = 0; l < height; l++) {
      const cells = row.map((lines, i) => {
        const line = lines[l] ?? '';
        const fits = widthOf(line) <= widths[i] ? line : cliTable.truncate(line, widths[i], '…');
        const padded = PRINTABLE_ASCII.test(fits) ? (right.has(i) ? fits.padStart(widths[i]) : fits.padEnd(widths[i])) : cliTable.pad(fits, widths[i], ' ', right.has(i) ? 'right' : 'left');
        return r === 0 && options.color ? BOLD(padded) : padded;
      });
      // cli-table3 pads the last column too; lines end cleanly here.
      out.push(cells.join('  ').trimEnd());
    }
  });
  return out.join('\n');
}

function boxed(head: string[], rows: (string | number)[][], options: TableOptions): string {
  const color = options.color ?? false;
  const table = new Table({
    head,
    // cli-table3 widths include the padding on both sides.
    colWidths: head.map((_, i) => (options.wrap?.[i] === undefined ? null : options.wrap[i] + 2)),
    wordWrap: true,
    wrapOnWordBoundary: true,
    colAligns: head.map((_, i) => (options.alignRight?.includes(i) ? 'right' : 'left')),
    style: { head: color ? ['bold'] : [], border: color ? ['grey'] : [] },
  });
  // Escaped before layout, so a control sequence in a cell neither reaches the terminal nor skews widths.
  for (const row of rows) table.push(row.map((cell) => escapeControls(String(cell), color)));
  return table.toString();
}
