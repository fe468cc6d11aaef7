/**
 * The one place sizes and ages become text, so every command says "4 MiB" and "3m" the same way.
 * Pure functions; no imports, cheap to load from anywhere.
 */

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** 512 → "512 B", 4194304 → "4 MiB", 1610612736 → "1.5 GiB" (binary units; whole numbers shown without a decimal). */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = unit === 0 || Number.isInteger(value) ? String(value) : value.toFixed(1);
  return `${shown} ${BYTE_UNITS[unit]}`;
}

/** A short age for tables: 850ms → 0s, 3s, 4m, 2h, 3d (whole units, rounded down). */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

/** A precise age for diagnostics: 42s, 4m05s, 2h07m. */
export function formatAgePrecise(ms: number): string {
  const seconds = Math.max(0, ms / 1000);
  if (seconds < 60) return `${Math.round(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.floor(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

/** "3m ago" for a timestamp, against `now`. */
export function formatAgo(at: number, now: number): string {
  return `${formatAge(now - at)} ago`;
}
