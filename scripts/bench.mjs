#!/usr/bin/env node
// `npm run bench`: every benchmark in one run, one after the other (the machine has 2 cores, and
// parallel benches would measure each other). Each bench starts and stops its own throwaway
// redis-server, cluster or PostgreSQL on free loopback ports. This machine is shared and noisy, so
// a figure counts as a ratio against an anchor measured in the same run on the same server (issue
// 19): each row is "this ÷ the anchor's way" (hand-written BullMQ-API script, BullMQ's addBulk of
// the same jobs, BullMQ's getJobCounts per queue, …); absolute figures are information only.
// Prints a summary table on stdout (progress on stderr) and writes the same as JSON (schema
// queuectl/bench@2, below) to bench-results/latest.json and bench-results/<time>.json. Each ratio
// is compared with the newest earlier bench-results/<time>.json of the same kind (official or
// quick) that has that row, and one that moved the wrong way by more than 15% is flagged (in the
// summary and in `regressions` in the JSON).
//
// ADDING A BENCH: write scripts/bench/<name>.mjs exporting `run(options)` that resolves with
// { bench: '<name>', rows, ...details } (throw when the bench broke: lost jobs, wrong counts, a CLI
// error), each row made with `row()` from scripts/bench/summary.mjs — { label, value, unit, anchor:
// { label, value, unit }, goal: { on: 'ratio', min } } and it computes `ratio` and `met` — then add
// one line to REGISTRY in scripts/bench/registry.mjs with its official and --quick sizes (passed
// to run() as options, with `log`). Optionally add it to a GROUP there. test/bench-smoke.test.ts runs every registered bench at
// its quick sizes. Shared plumbing: scripts/bench/lib.mjs (Redis), pg-lib.mjs (PostgreSQL).
//
// Options: --only <names or groups, comma-separated>   --quick (small sizes for a smoke run;
//          labelled as not official and written to latest.quick.json / <time>.quick.json instead)
//          --baseline-jobs N (hand-written migrate sample, Redis and PostgreSQL)  --no-million
// Exit: 0 when every bench ran, whether or not its goals were met (it is a measurement); 1 when a
// bench broke (lost jobs, wrong counts, a CLI error); 2 for bad options.
//
// JSON (queuectl/bench@2): { schema, official, quick, only, startedAt, finishedAt, durationS, node,
//   redis, postgres, machine, git, sizes, results: { <bench>: { bench, rows, …details } | { bench,
//   error } }, summary: rows (each as in summary.mjs, plus `previous: { ratio, change, regressed,
//   startedAt, file }` when compared), goalsMet, broken: [bench], compared: number of rows compared,
//   regressions: [{ bench, id, label, previous, now, change, file }] }.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { argv, isMain, root } from './bench/lib.mjs';
import { GROUPS, REGISTRY } from './bench/registry.mjs';
import { compareWithPrevious, summaryLines, summaryRows } from './bench/summary.mjs';

const BENCHES = Object.keys(REGISTRY);
const USAGE = `usage: node scripts/bench.mjs [--only ${[...BENCHES, ...Object.keys(GROUPS)].join(',')}] [--quick] [--baseline-jobs N] [--no-million]`;

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
  const asked = a.str('only')?.split(',').map((s) => s.trim()).filter(Boolean) ?? BENCHES;
  const unknown = asked.filter((b) => !BENCHES.includes(b) && !GROUPS[b]);
  if (unknown.length || asked.length === 0) usage(`--only takes a comma list of ${[...BENCHES, ...Object.keys(GROUPS)].join(', ')}`);
  const only = new Set(asked.flatMap((b) => GROUPS[b] ?? [b]));
  const baselineJobs = a.num('baseline-jobs');
  if (baselineJobs !== undefined && !(Number.isInteger(baselineJobs) && baselineJobs > 0)) usage('--baseline-jobs takes a positive whole number');
  const quick = a.flag('quick');
  const sizes = Object.fromEntries(BENCHES.filter((b) => only.has(b)).map((b) => [b, structuredClone(REGISTRY[b][quick ? 'quick' : 'official'])]));
  for (const b of ['migrate', 'pg-migrate']) if (baselineJobs && sizes[b]) sizes[b].baselineJobs = baselineJobs;
  if (a.flag('no-million')) for (const b of ['migrate', 'pg-migrate', 'table-move']) if (sizes[b]) sizes[b].million = false;
  return { only: BENCHES.filter((b) => only.has(b)), quick, sizes };
}

const firstLine = (cmd, args) => spawnSync(cmd, args, { cwd: root, encoding: 'utf8' }).stdout?.trim() ?? '';

/** What the figures depend on besides the code: versions, machine, and which commit was built. */
function environment() {
  const commit = firstLine('git', ['rev-parse', 'HEAD']) || null;
  const dirty = firstLine('git', ['status', '--porcelain', '--untracked-files=no', '--', 'src']) !== '';
  return {
    node: process.version,
    redis: /v=(\S+)/.exec(firstLine('redis-server', ['--version']))?.[1] ?? 'unknown',
    postgres: null, // filled in from the first PostgreSQL bench that ran
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
  const dir = join(root, 'bench-results');
  const suffix = options.quick ? '.quick.json' : '.json';
  const previous = readPrevious(dir, options.quick);
  const { rows: summary, regressions } = compareWithPrevious(summaryRows(results), previous);
  const doc = {
    schema: 'queuectl/bench@2',
    official: !options.quick,
    quick: options.quick,
    only: options.only,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationS: Math.round((finished.getTime() - started.getTime()) / 100) / 10,
    ...env,
    postgres: Object.values(results).find((r) => r.postgres)?.postgres ?? null,
    sizes: options.sizes,
    results,
    summary,
    goalsMet: summary.every((r) => r.met !== false),
    broken,
    compared: summary.filter((r) => r.previous).length,
    regressions,
  };
  process.stdout.write(`${summaryLines(doc).join('\n')}\n`);

  mkdirSync(dir, { recursive: true });
  const stamp = started.toISOString().replace(/:/g, '-'); // ':' is awkward in file names on some systems
  const json = `${JSON.stringify(doc, null, 2)}\n`;
  for (const file of [`${stamp}${suffix}`, `latest${suffix}`]) writeFileSync(join(dir, file), json);
  process.stdout.write(`written: bench-results/latest${suffix} and bench-results/${stamp}${suffix}\n`);
  return broken.length ? 1 : 0;
}

/**
 * The earlier results files of the same kind (official or quick), newest first, each with its
 * `file` name; unreadable ones are skipped. latest*.json is a copy of the newest, so it is left out.
 */
function readPrevious(dir, quick) {
  if (!existsSync(dir)) return [];
  const mine = (f) => f.endsWith('.json') && !f.startsWith('latest') && f.endsWith('.quick.json') === quick;
  const docs = [];
  for (const f of readdirSync(dir).filter(mine).sort().reverse()) {
    try {
      docs.push({ ...JSON.parse(readFileSync(join(dir, f), 'utf8')), file: `bench-results/${f}` });
    } catch {
      // a half-written or foreign file: not comparable
    }
  }
  return docs;
}

if (isMain(import.meta.url)) {
  main().then(
    (code) => { process.exitCode = code; },
    (error) => {
      process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
