#!/usr/bin/env node
// `node scripts/help-timing.mjs [rounds] [other/bin/queuectl…]` (after `npm run build`): how long
// `queuectl --help` takes next to bare `node -e 0` (issue 18.16). Each round runs every command
// once, in turn, so a load on this shared machine falls on all of them alike; prints the median
// wall time (spawn to exit) and CPU time (user + system, every thread, reported by the process
// itself through test/fixtures/cpu-time/report.cjs) of each, and each median's ratio to node's.
// Extra bin paths (another checkout's build) are measured in the same rounds, for a before/after.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const report = fileURLToPath(new URL('../test/fixtures/cpu-time/report.cjs', import.meta.url));
const bin = fileURLToPath(new URL('../bin/queuectl', import.meta.url));
const rounds = Number(process.argv[2] ?? 21);
const commands = [['node -e 0', ['-e', '0']], ...[bin, ...process.argv.slice(3)].flatMap((b) => [[`${b} --help`, [b, '--help']], [`${b} --version`, [b, '--version']]])];

function timed(args) {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['-r', report, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { wall: Number(process.hrtime.bigint() - started) / 1e6, cpu: Number(String(r.output[3]).trim()) / 1000 };
}
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

const runs = commands.map(() => []);
for (let round = -1; round < rounds; round++) {
  commands.forEach(([, args], i) => {
    const run = timed(args);
    if (round >= 0) runs[i].push(run); // round -1 warms the file cache
  });
}
const node = { wall: median(runs[0].map((r) => r.wall)), cpu: median(runs[0].map((r) => r.cpu)) };
console.log(`${rounds} rounds, medians (ratio to node -e 0):`);
commands.forEach(([label], i) => {
  const wall = median(runs[i].map((r) => r.wall));
  const cpu = median(runs[i].map((r) => r.cpu));
  console.log(`  wall ${wall.toFixed(1).padStart(6)} ms (${(wall / node.wall).toFixed(2)})  cpu ${cpu.toFixed(1).padStart(6)} ms (${(cpu / node.cpu).toFixed(2)})  ${label}`);
});
