import type pg from 'pg';
import type { BenchResult } from './bench-result.d.mts';
export declare function seed(url: string, pool: pg.Pool, queues: number, perQueue: number): Promise<string[]>;
export declare function run(options?: { queues?: number; jobsPerQueue?: number; runs?: number; log?: (line: string) => void }): Promise<BenchResult>;
