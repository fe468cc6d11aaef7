import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * A fresh `queuectl-<label>-*` directory under the temp dir, removed after the file's tests
 * (afterAll runs when they fail too). The global teardown fails the run if one is left behind.
 */
export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `queuectl-${label}-`));
  made.push(dir);
  return dir;
}

/** Writes `text` as `name` in a fresh temp dir (see tempDir) and returns the file's path. */
export function tempFile(label: string, name: string, text: string): string {
  const file = join(tempDir(label), name);
  writeFileSync(file, text);
  return file;
}
