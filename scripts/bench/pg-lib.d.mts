// Types for the parts of pg-lib.mjs that test/bench-smoke.test.ts uses.
import type pg from 'pg';
export declare const SCHEMA: string;
export declare function startPostgres(): Promise<{ url: string; shownUrl: string; port: number; dataDir: string; version: string; stop(): Promise<void> }>;
export declare function bullmqPool(url: string, max?: number): pg.Pool;
export declare function sql<T = any>(url: string, text: string, params?: unknown[]): Promise<T[]>;
