// tsc copies no .lua files; the migrate and dlq scripts are loaded from dist at run time.
import { cpSync, existsSync, readdirSync, statSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';

function copyLua(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) copyLua(path);
    else if (entry.endsWith('.lua')) {
      const target = join('dist', path.slice('src/'.length));
      mkdirSync(dirname(target), { recursive: true });
      cpSync(path, target);
    }
  }
}
if (existsSync('src')) copyLua('src');
