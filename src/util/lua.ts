import { readFileSync } from 'node:fs';

// A whole line `-- @include "includes/name.lua"`, like BullMQ's `--- @include "includes/name"`.
const INCLUDE = /^[ \t]*--+[ \t]*@include[ \t]+"([^"]+)"[ \t]*$/gm;

/**
 * Reads a Lua script and splices in its includes, so scripts can share local functions and still
 * reach Redis as one self-contained body (SCRIPT LOAD / defineCommand know nothing of files).
 * A path is relative to the folder of the file that names it; each file goes in once per script,
 * where it is first named: a second mention (or a cycle back to a file being read) becomes nothing.
 */
export function loadLua(url: URL): string {
  return expand(url, new Set());
}

function expand(url: URL, seen: Set<string>): string {
  seen.add(url.href);
  return readFileSync(url, 'utf8').replace(INCLUDE, (_line, path: string) => {
    const target = new URL(path, url);
    return seen.has(target.href) ? '' : expand(target, seen).replace(/\n$/, '');
  });
}
