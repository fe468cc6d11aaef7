// Types for the parts of lib.mjs that TypeScript code (test/bench-smoke.test.ts) uses.
export declare const root: string;
export declare function resp(args: readonly (string | number)[]): string;
export declare function freePort(options?: { bus?: boolean }): Promise<number>;
export declare function redisCli(port: number, ...args: string[]): string;
export declare function startServer(options?: { args?: string[]; bus?: boolean }): Promise<{ port: number; pid: number; url: string; stop(): Promise<void> }>;
export declare function pipeSeed(port: number, commands: Iterable<string>): Promise<string>;
export declare function argv(list?: string[]): { num(name: string): number | undefined; str(name: string): string | undefined; flag(name: string): boolean };
export declare function int(n: number): string;
