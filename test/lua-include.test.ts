import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadLua } from '../src/util/lua.js';
import { tempDir } from './helpers/temp.js';

function tree(files: Record<string, string>): string {
  const dir = tempDir('lua-include');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('loadLua', () => {
  it('splices includes relative to the naming file, each once, and survives cycles', () => {
    const dir = tree({
      'main.lua': '-- @include "includes/a.lua"\n-- @include "includes/b.lua"\nreturn a() + b()\n',
      'includes/a.lua': '-- @include "util.lua"\nlocal function a() return one end\n',
      'includes/b.lua': '-- @include "util.lua"\n-- @include "a.lua"\nlocal function b() return one end\n',
      'includes/util.lua': '-- @include "b.lua"\nlocal one = 1\n',
    });
    const lua = loadLua(pathToFileURL(join(dir, 'main.lua')));
    expect(lua).not.toContain('@include');
    expect(lua.match(/local one = 1/g)).toHaveLength(1);
    expect(lua.match(/local function a/g)).toHaveLength(1);
    expect(lua.match(/local function b/g)).toHaveLength(1);
    // Dependencies come before what uses them (util is first named by a, before a's own body).
    expect(lua.indexOf('local one')).toBeLessThan(lua.indexOf('local function a'));
    expect(lua.trimEnd().endsWith('return a() + b()')).toBe(true);
  });

  it('the shipped migrate scripts expand to one body with every helper defined once', () => {
    for (const name of ['move-batch', 'cross-slot-take', 'cross-slot-copy', 'table-add']) {
      const lua = loadLua(new URL(`../src/migrate/lua/${name}.lua`, import.meta.url));
      expect(lua).not.toContain('@include');
      expect(lua.match(/local function chunked/g)).toHaveLength(1);
    }
  });
});
