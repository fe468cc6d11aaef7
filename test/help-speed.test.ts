import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bin, repoRoot } from './helpers/cli.js';

/**
 * `queuectl --help` against bare `node -e 0` (issue 18.16: it took 0.19 s where node took 0.08 s;
 * the goal is under 0.12 s). On a shared two-core machine absolute times mean nothing, so the two
 * run in alternation in this one test and only their medians are compared: a load that slows one
 * slows the other. CPU time (each process reports its own at exit) moves far less with the load
 * than wall time, so it carries the tighter bound. What --help loads, the cause, is held exactly
 * by test/help-load.test.ts; this catches what a module list cannot (slow work at start-up).
 */
const report = fileURLToPath(new URL('./fixtures/cpu-time/report.cjs', import.meta.url));
const rounds = 15;

interface Run {
  wallMs: number;
  cpuMs: number;
}

function timed(args: string[]): Run {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['-r', report, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  expect(r.status, String(r.stderr)).toBe(0);
  return { wallMs, cpuMs: Number(String(r.output[3]).trim()) / 1000 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

describe('queuectl --help is fast (issue 18.16)', () => {
  it('within 1.75 times bare node in CPU time and 2.5 times in wall time (medians of alternating runs)', () => {
    const bare: Run[] = [];
    const help: Run[] = [];
    timed(['-e', '0']); // the first run of each pays for cold file caches
    timed([bin, '--help']);
    for (let i = 0; i < rounds; i++) {
      bare.push(timed(['-e', '0']));
      help.push(timed([bin, '--help']));
    }
    const cpu = { bare: median(bare.map((r) => r.cpuMs)), help: median(help.map((r) => r.cpuMs)) };
    const wall = { bare: median(bare.map((r) => r.wallMs)), help: median(help.map((r) => r.wallMs)) };
    const figures = `medians of ${rounds}: CPU ${cpu.help.toFixed(1)} ms against node's ${cpu.bare.toFixed(1)} ms, wall ${wall.help.toFixed(1)} ms against ${wall.bare.toFixed(1)} ms`;
    // On the two-core machine, at load averages from 0 to 8: about 1.4 in CPU, 1.2 to 1.55 in wall
    // (commander as CommonJS: 1.5, and 1.2 to 1.8); BullMQ loaded at start-up makes it 4 and 3.3.
    expect(cpu.help / cpu.bare, figures).toBeLessThan(1.75);
    expect(wall.help / wall.bare, figures).toBeLessThan(2.5);
  });
});
