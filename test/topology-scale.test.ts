import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildReport, renderReport } from '../src/commands/topology-validate.js';
import { lint } from '../src/topology/lint.js';
import { loadTopologyFile } from '../src/topology/load.js';

/**
 * `topology validate` grows linearly with the number of queues. It was quadratic in three places:
 * yaml's duplicate-key check, the line lookup of each finding, and cli-table3's layout of the
 * findings table. Time is CPU time of this process (a loaded machine slows the wall clock, not
 * the work; the least of three runs), and the check is the growth from 2,500 to 10,000 queues:
 * 4x when linear, 16x when quadratic.
 */

const scratch = mkdtempSync(join(tmpdir(), 'queuectl-scale-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const DEFAULTS = `version: 1
defaults:
  attempts: 3
  backoff: { type: exponential, delay: 2s }
  removeOnComplete: { age: 1d, count: 1000 }
  removeOnFail: { age: 7d, count: 5000 }
  deadLetter: failed
`;

/** n queues with two job names and an id each; with workers it is clean, without each queue has a finding. */
function topologyFile(n: number, withWorkers: boolean): string {
  const parts = [DEFAULTS, 'queues:\n'];
  for (let i = 0; i < n; i += 1) parts.push(`  q${i}:\n    jobs: [job${i}.run, job${i}.other]\n    jobId: "q${i}-{id}"\n    concurrency: 2\n`);
  if (withWorkers) {
    parts.push('workers:\n');
    for (let i = 0; i < n; i += 1) parts.push(`  w${i}: { queues: [q${i}] }\n`);
  }
  const file = join(scratch, `${n}-${withWorkers ? 'workers' : 'bare'}.yaml`);
  writeFileSync(file, parts.join(''));
  return file;
}

/** The least CPU ms of a few runs: other processes on a loaded machine inflate single runs. */
async function leastCpuMs(file: string, runs = 3): Promise<{ ms: number; errors: number }> {
  let best = await validateCpuMs(file);
  for (let i = 1; i < runs; i += 1) {
    const next = await validateCpuMs(file);
    if (next.ms < best.ms) best = next;
  }
  return best;
}

/** CPU ms of what `topology validate` does: load, lint, render. */
async function validateCpuMs(file: string): Promise<{ ms: number; errors: number }> {
  const before = process.cpuUsage();
  const { topology, source } = await loadTopologyFile(file);
  const report = buildReport(source.file, lint(topology, {}, source));
  await renderReport(report, topology, false);
  const used = process.cpuUsage(before);
  return { ms: (used.user + used.system) / 1000, errors: report.errors };
}

describe('topology validate at scale', () => {
  it('10,000 queues with workers: clean, linear, and within 2 s of CPU', async () => {
    await validateCpuMs(topologyFile(500, true)); // warm up the JIT
    const small = await leastCpuMs(topologyFile(2_500, true));
    const large = await leastCpuMs(topologyFile(10_000, true));
    expect(large.errors).toBe(0);
    expect(large.ms / small.ms, `2,500 queues: ${small.ms} ms, 10,000: ${large.ms} ms`).toBeLessThan(8);
    expect(large.ms).toBeLessThan(2_000);
  });

  it('10,000 findings (a queue each without a worker): linear too', async () => {
    await validateCpuMs(topologyFile(500, false));
    const small = await validateCpuMs(topologyFile(2_500, false));
    const large = await validateCpuMs(topologyFile(10_000, false));
    expect(large.errors).toBe(10_000);
    expect(large.ms / small.ms, `2,500 queues: ${small.ms} ms, 10,000: ${large.ms} ms`).toBeLessThan(8);
  });
});
