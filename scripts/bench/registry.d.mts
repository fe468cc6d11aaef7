// Types for registry.mjs, as test/bench-smoke.test.ts uses it.
export declare const REGISTRY: Record<string, { official: Record<string, unknown>; quick: Record<string, unknown> }>;
export declare const GROUPS: Record<string, string[]>;
