import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatAge, formatAgePrecise, formatAgo, formatBytes } from '../src/ui/format.js';

describe('one formatting module for sizes and ages', () => {
  it('formats sizes in binary units, whole numbers without a decimal', () => {
    expect([512, 1024, 4 * 1024 * 1024, 1.5 * 1024 ** 3, 1536].map(formatBytes)).toEqual(['512 B', '1 KiB', '4 MiB', '1.5 GiB', '1.5 KiB']);
  });

  it('formats ages short, precise and relative', () => {
    expect([850, 3000, 4 * 60_000 + 5, 2 * 3_600_000, 3 * 86_400_000].map(formatAge)).toEqual(['0s', '3s', '4m', '2h', '3d']);
    expect([42_000, 245_000, 2 * 3_600_000 + 7 * 60_000].map(formatAgePrecise)).toEqual(['42s', '4m05s', '2h07m']);
    expect(formatAgo(1_000, 181_000)).toBe('3m ago');
  });

  it('no second formatBytes/formatAge is written anywhere in src', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
    const twins = files('src').filter((f) => f !== join('src', 'ui', 'format.ts') && /function (formatBytes|formatAge|age)\(/.test(readFileSync(f, 'utf8')));
    expect(twins).toEqual([]);
  });
});
