/** Pure parsers for what Redis says about itself (INFO, CONFIG GET, CLUSTER INFO/SLOTS). No I/O here. */

export const CLUSTER_SLOTS = 16384;

/** `INFO` / `CLUSTER INFO` text → field map (`# Section` headers and blank lines skipped). */
export function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

/** Total keys over every `dbN:keys=…,expires=…` line of INFO keyspace. */
export function keyspaceKeys(info: Record<string, string>): number {
  let total = 0;
  for (const [field, value] of Object.entries(info)) {
    if (!/^db\d+$/.test(field)) continue;
    const keys = /(?:^|,)keys=(\d+)/.exec(value);
    if (keys) total += Number(keys[1]);
  }
  return total;
}

/** `CONFIG GET name` replies [name, value] (or [] when unknown). */
export function configValue(reply: unknown, name: string): string | undefined {
  if (!Array.isArray(reply)) return undefined;
  for (let i = 0; i + 1 < reply.length; i += 2) {
    if (String(reply[i]).toLowerCase() === name.toLowerCase()) return String(reply[i + 1]);
  }
  return undefined;
}

/** Number of distinct slots assigned in a `CLUSTER SLOTS` reply ([[start, end, master, …replicas], …]). */
export function slotsCovered(reply: unknown): number {
  if (!Array.isArray(reply)) return 0;
  const ranges = reply
    .filter((r): r is unknown[] => Array.isArray(r) && r.length >= 2)
    .map((r) => [Number(r[0]), Number(r[1])] as const)
    .filter(([a, b]) => Number.isInteger(a) && Number.isInteger(b) && a <= b)
    .sort((x, y) => x[0] - y[0]);
  let covered = 0;
  let next = 0; // first slot not yet counted, so overlapping ranges are counted once
  for (const [start, end] of ranges) {
    const from = Math.max(start, next);
    if (end >= from) covered += end - from + 1;
    next = Math.max(next, end + 1);
  }
  return covered;
}

/** Distinct master addresses in a `CLUSTER SLOTS` reply. */
export function slotMasters(reply: unknown): string[] {
  if (!Array.isArray(reply)) return [];
  const masters = new Set<string>();
  for (const range of reply) {
    const master = Array.isArray(range) ? range[2] : undefined;
    if (Array.isArray(master)) masters.add(`${String(master[0])}:${String(master[1])}`);
  }
  return [...masters];
}

/** Compares dotted versions numerically: compareVersions('6.2.0', '6.10') < 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((p) => parseInt(p, 10) || 0);
  const pb = b.split('.').map((p) => parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** RDB snapshots are configured when CONFIG GET save is a non-empty schedule ("3600 1 300 100"). */
export function rdbConfigured(save: string | undefined): boolean | undefined {
  if (save === undefined) return undefined;
  return save.trim() !== '';
}
