import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The per-run temp root; `close()` removes it and returns what the run left in it. */
export interface RunTempRoot {
  dir: string;
  close(): string[];
}

/**
 * Points TMPDIR at a fresh directory owned by this run, so every os.tmpdir() of the test workers and
 * of the processes they spawn (bin/queuectl, the demo's throwaway redis-server) lands in it. Two
 * copies of the suite running at once each see only their own leftovers, never each other's.
 * jiti (TypeScript topology files) would otherwise keep a compile cache there: the run turns it off.
 */
export function openRunTempRoot(): RunTempRoot {
  const before = { TMPDIR: process.env.TMPDIR, JITI_FS_CACHE: process.env.JITI_FS_CACHE };
  const dir = mkdtempSync(join(tmpdir(), 'queuectl-test-run-'));
  process.env.TMPDIR = dir;
  process.env.JITI_FS_CACHE = 'false';
  let closed = false;
  return {
    dir,
    close() {
      if (closed) return [];
      closed = true;
      const left = readdirSync(dir);
      rmSync(dir, { recursive: true, force: true });
      for (const [name, value] of Object.entries(before)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      return left;
    },
  };
}
