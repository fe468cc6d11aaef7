import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TopologyError, UsageError } from '../errors.js';

/**
 * Loading a topology module (`queuectl.config.{ts,mjs,js}` or any TS/JS file given to -c): jiti
 * compiles and runs it, and its default export (an object, or a promise of one) is the topology.
 * Running it is running code, so: only a file no one else could have written (assertTrusted);
 * it must end (settled: a module that never settles is an input error, never a silent exit 0);
 * and what it exports is copied to plain data once (plainData), so a throwing getter, a cycle or
 * an exploding object graph is an input error too.
 */

/** A TS/JS module whose default export is the topology object (jiti compiles TS on the fly). */
export async function importModule(file: string, shown: string): Promise<unknown> {
  assertTrusted(file, shown);
  const { createJiti } = await import('jiti');
  const jiti = createJiti(import.meta.url, { moduleCache: false, alias: { queuectl: runningPackageEntry() } });
  let namespace: Record<string, unknown>;
  try {
    namespace = (await settled(jiti.import(file), shown)) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TopologyError) throw error;
    throw new TopologyError(shown, [moduleFailure(error, file)]);
  }
  // jiti fakes a `default` for modules without one; only a real own property counts.
  const own = namespace && typeof namespace === 'object' ? Object.getOwnPropertyDescriptor(namespace, 'default') : undefined;
  if (!own) {
    throw new TopologyError(shown, ['the module has no default export — end it with `export default defineTopology({ ... })`']);
  }
  let value: unknown;
  try {
    value = await settled(Promise.resolve(own.value), shown);
  } catch (error) {
    if (error instanceof TopologyError) throw error;
    throw new TopologyError(shown, [`the default export is a promise that rejected: ${moduleFailure(error, file)}`]);
  }
  if (typeof value === 'function') {
    throw new TopologyError(shown, ['the default export is a function — export the topology object itself: `export default defineTopology({ ... })`']);
  }
  return plainData(value, shown);
}

/**
 * `import { defineTopology } from 'queuectl'` in a config file must load the queuectl that runs it:
 * a global install is nowhere on the config's own node_modules path. dist/index.js when built
 * (this file is dist/topology/load-module.js), src/index.ts when the tests run the sources.
 */
function runningPackageEntry(): string {
  const built = fileURLToPath(new URL('../index.js', import.meta.url));
  return existsSync(built) ? built : fileURLToPath(new URL('../index.ts', import.meta.url));
}

/** Bounds on the default export's size: far above a real topology, far below exhausting memory. */
const MAX_NODES = 1_000_000;
const MAX_DEPTH = 64;

/**
 * A plain copy of the default export, read once here so that everything after works on data: a
 * getter or proxy that throws, a cycle, or an object graph that shares one part so often that it
 * expands without bound is an input error (exit 2), not a crash of the schema check later.
 */
function plainData(value: unknown, shown: string): unknown {
  let nodes = 0;
  const copy = (v: unknown, depth: number): unknown => {
    if (v === null || typeof v !== 'object') return v;
    nodes += 1;
    if (depth > MAX_DEPTH) throw new TopologyError(shown, [`the default export nests deeper than ${MAX_DEPTH} levels (a cycle?) — export plain data: objects, lists, strings, numbers`]);
    if (nodes > MAX_NODES) throw new TopologyError(shown, [`the default export has more than ${MAX_NODES} objects (one object shared too often?) — export plain data of a sensible size`]);
    if (Array.isArray(v)) return v.map((item) => copy(item, depth + 1));
    return Object.fromEntries(Object.keys(v).map((key) => [key, copy((v as Record<string, unknown>)[key], depth + 1)]));
  };
  try {
    return copy(value, 0);
  } catch (error) {
    if (error instanceof TopologyError) throw error;
    const err = error instanceof Error ? error : new Error(String(error));
    throw new TopologyError(shown, [`reading the default export threw ${err.name}: ${err.message.split('\n')[0]} — export plain data (no getters or proxies that throw)`]);
  }
}

/**
 * queuectl runs a topology module as code, as make runs a Makefile, and most commands load the
 * one in the working directory on their own. So, like git's safe.directory and ssh's key checks,
 * it refuses a file someone else could have written: not owned by the current user, or writable
 * by its group or by others. (No uids on Windows: nothing to compare there.)
 */
function assertTrusted(file: string, shown: string): void {
  const uid = process.getuid?.();
  if (uid === undefined) return;
  const info = statSync(file);
  if (info.uid !== uid) {
    throw new UsageError(
      `refusing to run ${shown}: it is owned by uid ${info.uid}, not by you (uid ${uid}), and queuectl executes this file`,
      `if you trust it, chown it to yourself; or use a YAML/JSON topology, which is only read`,
    );
  }
  if ((info.mode & 0o022) !== 0) {
    const who = (info.mode & 0o002) !== 0 ? 'anyone' : 'its group';
    throw new UsageError(
      `refusing to run ${shown}: ${who} can write it (mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}), and queuectl executes this file`,
      `chmod go-w ${shown}`,
    );
  }
}

/** How long a topology module may take to load and settle its default export. */
export const MODULE_SETTLE_MS = 15_000;

/**
 * `work`, or a TopologyError when it cannot finish: when the event loop runs empty while it is
 * pending (a promise nothing will ever settle: Node would exit 0 with no output, and a CI gate
 * would pass), or after MODULE_SETTLE_MS (the module keeps timers or sockets alive but never
 * delivers). The timer is unref'd so it never keeps the process alive by itself.
 */
function settled<T>(work: Promise<T>, shown: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const stop = (why: string) => {
      cleanup();
      reject(new TopologyError(shown, [`${why} — make the default export (and any top-level await) resolve, or export the object itself`]));
    };
    const onIdle = () => stop('the module never finished loading: it waits on a promise that nothing will settle');
    const timer = setTimeout(() => stop(`the module did not finish loading within ${MODULE_SETTLE_MS / 1000}s`), MODULE_SETTLE_MS);
    timer.unref();
    process.once('beforeExit', onIdle);
    const cleanup = () => {
      clearTimeout(timer);
      process.off('beforeExit', onIdle);
    };
    work.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error: unknown) => {
        cleanup();
        reject(error);
      },
    );
  });
}

/** One line for a module that failed to load: its message, and the line in the file when the error names it. */
function moduleFailure(error: unknown, file: string): string {
  const err = error instanceof Error ? error : new Error(String(error));
  const text = `${err.message}\n${err.stack ?? ''}`;
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const first = err.message.split('\n')[0]!.trim().replace(/^ParseError: /, 'syntax error: ').replace(/\s+$/, '');
  // A missing import is reported at the transpiled require (line 1, column 200-odd): point at the import in the source instead.
  const missing = /Cannot find (?:module|package) '([^']+)'/.exec(first);
  const at = missing ? importLine(file, missing[1]!) : new RegExp(`${escaped}:(\\d+)(?::(\\d+))?`).exec(text);
  const where = at ? `line ${at[1]}${at[2] ? `, column ${at[2]}` : ''}: ` : '';
  const what = /syntax error|Unexpected|Cannot find|Cannot use import/i.test(first) ? first : `the module threw ${err.name}: ${first}`;
  return `${where}${what} — fix the module so it loads with node`;
}


/** [, line, column] of the first import/require of `specifier` in the module's own text. */
function importLine(file: string, specifier: string): [string, string, string?] | undefined {
  let lines: string[];
  try {
    lines = readFileSync(file, 'utf8').split('\n');
  } catch {
    return undefined;
  }
  for (let i = 0; i < lines.length; i++) {
    for (const quote of ["'", '"', '`']) {
      const column = lines[i]!.indexOf(`${quote}${specifier}${quote}`);
      if (column !== -1) return ['', String(i + 1), String(column + 1)];
    }
  }
  return undefined;
}
