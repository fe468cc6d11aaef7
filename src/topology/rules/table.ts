import type { Rule, RuleFinding } from './types.js';

/**
 * table-column-twice / table-status-twice: a legacy table source whose declared mapping gives one
 * column (or one status value) two meanings. The live catalog checks the rest (resolve.ts).
 */
export const tableSources: Rule = (topology) => {
  const findings: RuleFinding[] = [];
  for (const legacy of Object.values(topology.legacy)) {
    const table = legacy.table;
    if (!table) continue;
    const at = ['legacy', legacy.name, 'table'];
    for (const [what, rule, map] of [['column', 'table-column-twice', table.columns], ['status value', 'table-status-twice', table.status]] as const) {
      const seen = new Map<string, string>();
      for (const [role, value] of Object.entries(map ?? {})) {
        if (value === undefined) continue;
        const first = seen.get(value);
        if (first === undefined) {
          seen.set(value, role);
          continue;
        }
        findings.push({
          rule,
          severity: 'error',
          queue: legacy.name,
          path: [...at, what === 'column' ? 'columns' : 'status', role],
          message: `table source "${legacy.name}" maps ${what} "${value}" to both ${first} and ${role}; give each its own ${what}`,
        });
      }
    }
  }
  return findings;
};
