import Table from 'cli-table3';
import { escapeControls } from './escape.js';

export interface TableOptions {
  /** Colour the header; off means no ANSI codes at all (cli-table3 colours headers by default). */
  color?: boolean;
  /** Plain space-separated columns like `kubectl get` (default, the one look of every queuectl table), or box-drawing borders. */
  borders?: boolean;
  /** Wrap cells of these columns at this many characters (index → width). */
  wrap?: Record<number, number>;
  /** Right-align these columns (counts, ages). */
  alignRight?: number[];
}

const PLAIN_CHARS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
};

/** Renders rows under a header as a string (no trailing newline); callers print it. */
export function renderTable(head: string[], rows: (string | number)[][], options: TableOptions = {}): string {
  const color = options.color ?? false;
  const borders = options.borders ?? false;
  const colWidths = head.map((_, i) => {
    const width = options.wrap?.[i];
    // cli-table3 widths include the padding on both sides.
    return width === undefined ? null : width + (borders ? 2 : 0);
  });
  const table = new Table({
    head,
    colWidths,
    wordWrap: true,
    wrapOnWordBoundary: true,
    colAligns: head.map((_, i) => (options.alignRight?.includes(i) ? 'right' : 'left')),
    ...(borders ? {} : { chars: PLAIN_CHARS }),
    style: {
      head: color ? ['bold'] : [],
      border: color && borders ? ['grey'] : [],
      ...(borders ? {} : { 'padding-left': 0, 'padding-right': 0 }),
    },
  });
  // Escaped before layout, so a control sequence in a cell neither reaches the terminal nor skews widths.
  for (const row of rows) table.push(row.map((cell) => escapeControls(String(cell), color)));
  const text = table.toString();
  // Without borders cli-table3 still pads the last column; trim so lines end cleanly.
  return borders ? text : text.split('\n').map((line) => line.trimEnd()).join('\n');
}
