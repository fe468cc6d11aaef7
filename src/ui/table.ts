import { createRequire } from 'node:module';
import Table from 'cli-table3';

/** cli-table3's own measure of a cell (widest line, ANSI codes stripped, wide characters counted). */
const { strlen } = createRequire(import.meta.url)('cli-table3/src/utils.js') as { strlen: (text: string) => number };

/**
 * cli-table3 lays out a table in time quadratic in its rows (it checks every cell against every
 * earlier row for spans): 10,000 findings took seconds. Larger plain tables are rendered in
 * slices of this many rows with the column widths of the whole table, which prints the same text.
 */
const SLICE_ROWS = 200;

export interface TableOptions {
  /** Colour the header; off means no ANSI codes at all (cli-table3 colours headers by default). */
  color?: boolean;
  /** Plain space-separated columns like `kubectl get` (default, the one look of every queuectl table), or box-drawing borders. */
  borders?: boolean;
  /** Wrap cells of these columns at this many characters (index → width). */
  wrap?: Record<number, number>;
  /** Right-align these columns (counts, ages). */
  alignRight?: number[];
  /** Rows per slice of a large plain table (default SLICE_ROWS; Infinity renders it whole). */
  sliceRows?: number;
}

const PLAIN_CHARS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
};

/** Renders rows under a header as a string (no trailing newline); callers print it. */
export function renderTable(head: string[], rows: (string | number)[][], options: TableOptions = {}): string {
  const borders = options.borders ?? false;
  const cells = rows.map((row) => row.map(String));
  const slice = options.sliceRows ?? SLICE_ROWS;
  if (borders || cells.length <= slice) return renderOne(head, cells, options, wrapWidths(head, options));
  // The widths cli-table3 would pick for the whole table: the wrap width, else the widest cell (at least 1).
  const widths = wrapWidths(head, options).map((fixed, i) => fixed ?? cells.reduce((widest, row) => Math.max(widest, strlen(row[i] ?? '')), Math.max(1, strlen(head[i]!))));
  const slices: string[] = [];
  for (let start = 0; start < cells.length; start += slice) {
    slices.push(renderOne(start === 0 ? head : [], cells.slice(start, start + slice), options, widths));
  }
  return slices.join('\n');
}

/** Column widths fixed by `wrap` (null: as wide as the content). cli-table3 widths include the padding on both sides. */
function wrapWidths(head: string[], options: TableOptions): (number | null)[] {
  return head.map((_, i) => {
    const width = options.wrap?.[i];
    return width === undefined ? null : width + (options.borders ? 2 : 0);
  });
}

function renderOne(head: string[], rows: string[][], options: TableOptions, colWidths: (number | null)[]): string {
  const color = options.color ?? false;
  const borders = options.borders ?? false;
  const table = new Table({
    head,
    colWidths,
    wordWrap: true,
    wrapOnWordBoundary: true,
    colAligns: colWidths.map((_, i) => (options.alignRight?.includes(i) ? 'right' : 'left')), // by column: later slices have no head
    ...(borders ? {} : { chars: PLAIN_CHARS }),
    style: {
      head: color ? ['bold'] : [],
      border: color && borders ? ['grey'] : [],
      ...(borders ? {} : { 'padding-left': 0, 'padding-right': 0 }),
    },
  });
  for (const row of rows) table.push(row);
  const text = table.toString();
  // Without borders cli-table3 still pads the last column; trim so lines end cleanly.
  return borders ? text : text.split('\n').map((line) => line.trimEnd()).join('\n');
}
