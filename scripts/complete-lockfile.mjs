// The registry reachable here serves msgpackr-extract's Linux builds only, so npm writes a lock
// without its other platform packages, and `npm ci` then refuses the lock as out of sync.
// This adds the missing optional platform entries (skipped on a non-matching OS, fetched by
// name and version where they match). Run after any `npm install` that rewrites the lock.
import { readFileSync, writeFileSync } from 'node:fs';

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const extract = lock.packages['node_modules/msgpackr-extract'];
let added = 0;
for (const [name, version] of Object.entries(extract?.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`;
  if (lock.packages[key]) continue;
  const [, os, cpu] = /msgpackr-extract-(\w+)-(\w+)$/.exec(name) ?? [];
  lock.packages[key] = { version, cpu: [cpu], license: 'MIT', optional: true, os: [os] };
  added++;
}
const { '': root, ...rest } = lock.packages;
lock.packages = { '': root, ...Object.fromEntries(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b))) };
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform entries`);
