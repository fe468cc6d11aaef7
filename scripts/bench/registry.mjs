// The benchmarks `npm run bench` runs (scripts/bench.mjs), in this order. ONE LINE PER BENCH: the
// name is the file scripts/bench/<name>.mjs, which exports `run(options)` (see the top of
// scripts/bench.mjs); `official` holds the issues' sizes, `quick` small ones for `--quick`, each
// passed to run() as its options. GROUPS are names for several benches at once in --only.

export const REGISTRY = {
  migrate: { official: { jobs: 200_000, baselineJobs: 20_000, million: true, memoryJobs: 1_000_000 }, quick: { jobs: 20_000, baselineJobs: 2_000, million: true, memoryJobs: 100_000 } },
  inspect: { official: { queues: 1000, jobsPerQueue: 1000, runs: 3 }, quick: { queues: 100, jobsPerQueue: 100, runs: 1 } },
  dlq: { official: { jobs: 100_000 }, quick: { jobs: 10_000 } },
  cluster: { official: { jobs: 100_000 }, quick: { jobs: 10_000 } },
  'pg-inspect': { official: { queues: 1000, jobsPerQueue: 1000, runs: 3 }, quick: { queues: 50, jobsPerQueue: 100, runs: 1 } },
  'pg-migrate': { official: { jobs: 200_000, baselineJobs: 20_000, million: true, memoryJobs: 1_000_000 }, quick: { jobs: 5_000, baselineJobs: 500, million: false, memoryJobs: 20_000 } },
  xmove: { official: { jobs: 200_000, loopJobs: 10_000 }, quick: { jobs: 5_000, loopJobs: 500 } },
  'bull-move': { official: { jobs: 200_000, baselineJobs: 20_000 }, quick: { jobs: 5_000, baselineJobs: 500 } },
  'table-move': { official: { rows: 200_000, baselineRows: 10_000, million: true }, quick: { rows: 5_000, baselineRows: 500, million: false } },
};

export const GROUPS = { redis: ['migrate', 'inspect', 'dlq', 'cluster'], postgres: ['pg-inspect', 'pg-migrate'], tables: ['table-move'], moves: ['xmove'], bull: ['bull-move'] };
