import { loadLua } from '../util/lua.js';
import type { Cluster, Redis } from 'ioredis';

type Script = (...args: (string | number)[]) => Promise<unknown>;
const NAMES = { retryFailed: 'retry-failed', retryAdd: 'retry-add', mark: 'mark', discardFailed: 'discard-failed', findNonHashes: 'find-non-hashes' } as const;
export type ScriptName = keyof typeof NAMES;

/**
 * The dlq Lua scripts, defined once per client (ioredis sends EVALSHA and falls back to EVAL).
 * The .lua files ship next to the compiled module (scripts/copy-assets.mjs).
 */
export function dlqScripts(client: Redis | Cluster): Record<ScriptName, (keys: string[], args: (string | number)[]) => Promise<unknown>> {
  const commands = client as unknown as Record<string, Script>;
  const result = {} as Record<ScriptName, (keys: string[], args: (string | number)[]) => Promise<unknown>>;
  for (const [name, file] of Object.entries(NAMES) as [ScriptName, string][]) {
    const command = `queuectlDlq_${name}`;
    if (!(command in client)) client.defineCommand(command, { lua: loadLua(new URL(`./lua/${file}.lua`, import.meta.url)) });
    result[name] = (keys, args) => commands[command](keys.length, ...keys, ...args);
  }
  return result;
}
