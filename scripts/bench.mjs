#!/usr/bin/env node
// `npm run bench`: every benchmark in one run, one after the other (the machine has 2 cores, and
// parallel benches would measure each other). Each bench starts and stops its own throwaway
// redis-server or cluster on free loopback ports. Prints a summary table on stdout (progress on
// stderr) and writes the same as JSON to bench-results/latest.json and bench-results/<time>.json
// (schema queuectl/bench@1) so figures can be compared across versions.
// Options: --only migrate,inspect,dlq,cluster   --quick (small sizes for a smoke run; labelled as
//          not official and written to latest.quick.json / <time>.quick.json instead)
//          --baseline-jobs N (hand-written migrate run; default 20000)  --no-million
// Exit: 0 when every bench ran, whether or not its goals were met (it is a measurement); 1 when a
// bench broke (lost jobs, wrong counts, a CLI error); 2 for bad options.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { argv, root } from './bench/lib.mjs';
import { summaryLines, summaryRows } from './bench/summary.mjs';

const BENCHES = ['migrate', 'inspect', 'dlq', 'cluster', 'xmove'];

/** Per-bench options: the official sizes (the issues' figures), or small ones for --quick. */
const SIZES = {
  official: {
    migrate: { jobs: 200_000, baselineJobs: 20_000, million: true, memoryJobs: 1_000_000 },
    inspect: { queues: 1000, jobsPerQueue: 1000, runs: 3 },
    dlq: { jobs: 100_000 },
    cluster: { jobs: 100_000 },
    xmove: { jobs: 200_000, loopJobs: 3_000 },
  },
  quick: {
    migrate: { jobs: 20_000, baselineJobs: 2_000, million: true, memoryJobs: 100_000 },
    inspect: { queues: 100, jobsPerQueue: 100, runs: 1 },
    dlq: { jobs: 10_000 },
    cluster: { jobs: 10_000 },
    xmove: { jobs: 20_000, loopJobs: 1_000 },
  },
};

const USAGE = `usage: node scripts/bench.mjs [--only ${BENCHES.join(',')}] [--quick] [--baseline-jobs N] [--no-million]`;

function usage(message) {
  process.stderr.write(`bench: ${message} — ${USAGE}\n`);
  process.exit(2);
}

function parseOptions(list) {
  const known = new Set(['--only', '--quick', '--baseline-jobs', '--no-million', '--help', '-h']);
  for (let i = 0; i < list.length; i++) {
    if (!known.has(list[i])) usage(`unknown option ${list[i]}`);
    if (list[i] === '--only' || list[i] === '--baseline-jobs') i++;
  }
  if (list.includes('--help') || list.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const a = argv(list);
  const only = a.str('only')?.split(',').map((s) => s.trim()).filter(Boolean) ?? BENCHES;
  const unknown = only.filter((b) => !BENCHES.includes(b));
  if (unknown.length || only.length === 0) usage(`--only takes a comma list of ${BENCHES.join(', ')}`);
  const baselineJobs = a.num('baseline-jobs');
  if (baselineJobs !== undefined && !(Number.isInteger(baselineJobs) && baselineJobs > 0)) usage('--baseline-jobs takes a positive whole number');
  const quick = a.flag('quick');
  const sizes = structuredClone(SIZES[quick ? 'quick' : 'official']);
  if (baselineJobs) sizes.migrate.baselineJobs = baselineJobs;
  if (a.flag('no-million')) sizes.migrate.million = false;
  return { only: BENCHES.filter((b) => only.includes(b)), quick, sizes };
}

const firstLine = (cmd, args) => spawnSync(cmd, args, { cwd: root, encoding: 'utf8' }).stdout?.trim() ?? '';

/** What the figures depend on besides the code: versions, machine, and which commit was built. */
function environment() {
  const commit = firstLine('git', ['rev-parse', 'HEAD']) || null;
  const dirty = firstLine('git', ['status', '--porcelain', '--untracked-files=no', '--', 'src']) !== '';
  return {
    node: process.version,
    redis: /v=(\S+)/.exec(firstLine('redis-server', ['--version']))?.[1] ?? 'unknown',
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model?.trim() ?? 'unknown',
      memoryMb: Math.round(totalmem() / 2 ** 20),
      platform: process.platform,
      arch: process.arch,
      loadavg: loadavg().map((n) => Math.round(n * 100) / 100),
    },
    git: { commit, dirty },
  };
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const started = new Date();
  const env = environment();
  const results = {};
  for (const name of options.only) {
    const log = (line) => process.stderr.write(`[${name}] ${line}\n`);
    log(`starting${options.quick ? ' (quick sizes)' : ''}: ${JSON.stringify(options.sizes[name])}`);
    const t = Date.now();
    try {
      const { run } = await import(`./bench/${name}.mjs`);
      results[name] = await run({ ...options.sizes[name], log });
    } catch (error) {
      results[name] = { bench: name, error: error instanceof Error ? error.message : String(error) };
      log(`BROKE: ${results[name].error}`);
    }
    log(`done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  const finished = new Date();
  const broken = Object.values(results).filter((r) => r.error).map((r) => r.bench);
  const summary = summaryRows(results);
  const doc = {
    schema: 'queuectl/bench@1',
    official: !options.quick,
    quick: options.quick,
    only: options.only,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationS: Math.round((finished.getTime() - started.getTime()) / 100) / 10,
    ...env,
    sizes: options.sizes,
    results,
    summary,
    goalsMet: summary.every((r) => r.met !== false),
    broken,
  };
  process.stdout.write(`${summaryLines(doc).join('\n')}\n`);

  const dir = join(root, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const suffix = options.quick ? '.quick.json' : '.json';
  const stamp = started.toISOString().replace(/:/g, '-'); // ':' is awkward in file names on some systems
  const json = `${JSON.stringify(doc, null, 2)}\n`;
  for (const file of [`${stamp}${suffix}`, `latest${suffix}`]) writeFileSync(join(dir, file), json);
  process.stdout.write(`written: bench-results/latest${suffix} and bench-results/${stamp}${suffix}\n`);
  return broken.length ? 1 : 0;
}

main().then(
  (code) => { process.exitCode = code; },
  (error) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
