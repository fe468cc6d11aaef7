import type { BenchResult } from './bench-result.d.mts';
export declare function run(options?: { jobs?: number; baselineJobs?: number; log?: (line: string) => void }): Promise<BenchResult>;
