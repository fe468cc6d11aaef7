import { describe, expect, it } from 'vitest';
import Table from 'cli-table3';
import { createRequire } from 'node:module';
import { renderTable, type TableOptions } from '../src/ui/table.js';

// cli-table3 colours only when @colors/colors believes the output supports it (it reads the TTY and
// CI variables at load time); queuectl asks for colour only on a terminal. Force it here, so the
// reference draws the coloured header the same in CI as on a terminal.
(createRequire(import.meta.url)('@colors/colors/safe') as { enable(): void }).enable();

/** The borderless table as cli-table3 drew it (the renderer before issue 13.7): the look to keep. */
function cliTable3(head: string[], rows: (string | number)[][], options: TableOptions): string {
  const table = new Table({
    head,
    colWidths: head.map((_, i) => options.wrap?.[i] ?? null),
    wordWrap: true,
    wrapOnWordBoundary: true,
    colAligns: head.map((_, i) => (options.alignRight?.includes(i) ? 'right' : 'left')),
    chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ' },
    style: { head: options.color ? ['bold'] : [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  for (const row of rows) table.push(row.map(String));
  return table.toString().split('\n').map((line) => line.trimEnd()).join('\n');
}

const dlqRows = (n: number) => Array.from({ length: n }, (_, i) => [`eccb-dead-letter/${i}`, `eccb-ocr ← eccb-dead-letter`, i % 3 ? 'ocr.process' : '', `timeout after ${i} ms`, i % 7, `${i % 60}m ago`]);

describe('renderTable (borderless)', () => {
  const cases: [string, string[], (string | number)[][], TableOptions][] = [
    ['dlq list: unicode, empty cells, a right-aligned count', ['ref', 'queue', 'name', 'reason', 'attempts', 'failed'], dlqRows(30), { alignRight: [4] }],
    ['coloured header', ['queue', 'waiting', 'failed'], [['a', 1, 20], ['bbbbbb', 300, 4]], { color: true, alignRight: [1, 2] }],
    ['multi-line cells (dlq stats top reasons)', ['queue', 'dead letters', 'top reasons'], [['q1', 3, '2× timeout\n1× bad input'], ['q2', 0, '-'], ['wide-name-q3', 12, '12× 接続 refused']], { alignRight: [1] }],
    ['a wrapped column (dedup detail, validate message)', ['rule', 'severity', 'message'], [['no-retries', 'warning', 'queue eccb-ocr has no attempts: a failed job is never retried, add attempts: 3 under defaults or the queue'], ['x', 'error', 'short']], { wrap: { 2: 30 } }],
    ['no rows', ['a', 'b'], [], {}],
  ];
  it.each(cases)('%s: the same lines cli-table3 drew', (_name, head, rows, options) => {
    expect(renderTable(head, rows, options)).toBe(cliTable3(head, rows, options));
  });

  it('renders 8,000 rows in well under 2 s (cli-table3 took 13 s)', () => {
    const rows = dlqRows(8000);
    // CPU time, not the wall clock: a loaded machine (a second suite beside this one) stretches the latter.
    const started = process.cpuUsage();
    const text = renderTable(['ref', 'queue', 'name', 'reason', 'attempts', 'failed'], rows, { alignRight: [4] });
    const used = process.cpuUsage(started);
    const ms = (used.user + used.system) / 1000;
    expect(text.split('\n')).toHaveLength(8001);
    expect(ms).toBeLessThan(1500);
  });
});

describe('renderTable fits the terminal', () => {
  const head = ['queue', 'kind', 'waiting', 'prioritized', 'failed', 'alert'];
  const rows = [['eccb-smart-upload-process', 'declared', 12, 0, 3, 'ok'], ['eccb-ocr', 'legacy', 40_000, 5, 0, 'critical']];
  const longest = (text: string) => Math.max(...text.split('\n').map((l) => l.length));

  it('drops columns by priority, then narrows text with "…", to the width given', () => {
    const full = renderTable(head, rows, { alignRight: [2, 3, 4], layout: { plain: false } });
    expect(longest(full)).toBeGreaterThan(60);
    const narrow = renderTable(head, rows, { alignRight: [2, 3, 4], dropFirst: [3, 1], layout: { plain: false, width: 50 } });
    expect(longest(narrow)).toBeLessThanOrEqual(50);
    expect(narrow.split('\n')[0]).toMatch(/^queue\s+waiting\s+failed\s+alert$/);
    const tiny = renderTable(head, rows, { alignRight: [2, 3, 4], dropFirst: [3, 1], layout: { plain: false, width: 40 } });
    expect(longest(tiny)).toBeLessThanOrEqual(40);
    expect(tiny).toMatch(/^eccb-smart-u… +12 +3  ok$/m);
  });

  it('wraps a wrapped column tighter instead of overflowing', () => {
    const text = renderTable(['rule', 'message'], [['no-retries', 'queue eccb-ocr has no attempts: a failed job is never retried, add attempts: 3']], { wrap: { 1: 70 }, layout: { plain: false, width: 40 } });
    expect(longest(text)).toBeLessThanOrEqual(40);
    expect(text.replace(/\s+/g, " ")).toMatch(/never retried, add attempts: 3$/);
  });

  it('keeps full width without a width (a pipe, -o wide), and -o plain is tab-separated', () => {
    expect(renderTable(head, rows, { dropFirst: [3, 1], layout: { plain: false } }).split('\n')[0]).toMatch(/prioritized/);
    expect(renderTable(head, rows, { color: true, layout: { plain: true } }).split('\n')).toEqual([
      'queue\tkind\twaiting\tprioritized\tfailed\talert',
      'eccb-smart-upload-process\tdeclared\t12\t0\t3\tok',
      'eccb-ocr\tlegacy\t40000\t5\t0\tcritical',
    ]);
  });
});

describe('layoutFor', () => {
  it('fits a terminal for human output only', async () => {
    const { layoutFor } = await import('../src/ui/layout.js');
    expect(layoutFor('human', { isTTY: true, columns: 100 })).toEqual({ plain: false, width: 100 });
    expect(layoutFor('human', { isTTY: false, columns: 100 })).toEqual({ plain: false });
    expect(layoutFor('wide', { isTTY: true, columns: 100 })).toEqual({ plain: false });
    expect(layoutFor('plain', { isTTY: true, columns: 100 })).toEqual({ plain: true });
  });
});
