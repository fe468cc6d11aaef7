import type { ConnectionSpec } from './types.js';

export interface SpecInput {
  url?: string;
  passwordFile?: string;
  tlsCa?: string;
  timeoutMs: number;
  env: NodeJS.ProcessEnv;
}

/** Parses --redis / REDIS_URL (default redis://127.0.0.1:6379) into a ConnectionSpec; bad input is a UsageError. */
export function parseConnectionSpec(input: SpecInput): ConnectionSpec {
  throw new Error('not implemented yet');
}

/** Replaces any password in a URL by `***`. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}
