import { stat } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { LineCounter, parseDocument, type Document } from '../vendor/yaml.js';
import { TopologyError, UsageError } from '../errors.js';
import { readRegularFileSync, TOPOLOGY_FILE_MAX_BYTES } from '../util/read-regular-file.js';
import { formatBytes } from '../ui/format.js';
import { duplicateKeyProblems } from './duplicate-keys.js';
import { importModule } from './load-module.js';
import { readPlainYaml } from './fast-yaml.js';
import { createLineLocator } from './locate.js';
import { normalizeTopology } from './normalize.js';
import { formatProblem, toProblems } from './problems.js';
import { parseWith, topologySchema } from './schema.js';
import type { LoadedTopology, TopologySource } from './types.js';

export interface LoadOptions {
  /** -c / --config, when given. */
  config?: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** `-c -`: the topology comes from stdin (YAML or JSON; a module cannot be piped). */
export const STDIN_TOPOLOGY = '-';

/**
 * Looked for in the working directory, in this order, when no file is named (contract); then in
 * each parent up to the repository root (the first directory holding `.git`), like git, ESLint and
 * Prettier. Outside a repository only the working directory is searched: a queuectl.config.ts is
 * executed, and one in some parent of /tmp or $HOME is nothing the user chose.
 */
export const DEFAULT_FILES = ['queuectl.yaml', 'queuectl.yml', 'queuectl.json', 'queuectl.config.ts', 'queuectl.config.mjs', 'queuectl.config.js'];
const MODULE_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs']);

/** Finds the topology file as the contract says. Undefined when none was named and none exists. */
export async function findTopologyFile(options: LoadOptions): Promise<string | undefined> {
  const fromEnv = options.env.QUEUECTL_CONFIG;
  // Set but blank is a mistake (an empty CI variable), not a request to look in the working directory.
  if (options.config === undefined && fromEnv !== undefined && fromEnv.trim() === '') {
    throw new UsageError('QUEUECTL_CONFIG is set but empty', 'give it the path of the topology file, or unset it to use ./queuectl.yaml');
  }
  if (options.config === STDIN_TOPOLOGY) return STDIN_TOPOLOGY;
  const named = options.config ? { file: options.config, via: '-c' } : fromEnv ? { file: fromEnv, via: 'QUEUECTL_CONFIG' } : undefined;
  if (named) {
    const file = resolve(options.cwd, named.file);
    await assertReadableFile(file, named.via === '-c' ? 'check the path given to -c' : 'check the path in QUEUECTL_CONFIG');
    return file;
  }
  for (const dir of await searchedDirectories(resolve(options.cwd))) {
    for (const name of DEFAULT_FILES) {
      const file = join(dir, name);
      if (await stat(file).then((s) => s.isFile(), () => false)) return file;
    }
  }
  return undefined;
}

/** cwd, then its parents up to and including the one that holds `.git` (a directory, or a worktree's file); only cwd when none does. */
async function searchedDirectories(cwd: string): Promise<string[]> {
  const chain: string[] = [];
  for (let dir = cwd; ; dir = dirname(dir)) {
    chain.push(dir);
    if (await stat(join(dir, '.git')).then(() => true, () => false)) return chain;
    if (dirname(dir) === dir) return [cwd];
  }
}

/** The topology piped to `-c -`, bounded like a file; a terminal on stdin is a usage error, not a hang. */
async function readStdinTopology(stdin: NodeJS.ReadStream = process.stdin): Promise<string> {
  if (stdin.isTTY) throw new UsageError('-c - reads the topology from stdin, but stdin is a terminal', 'pipe the file in: queuectl topology validate -c - < queuectl.yaml');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    size += (chunk as Buffer).length;
    if (size > TOPOLOGY_FILE_MAX_BYTES) {
      stdin.destroy();
      throw new UsageError(`the topology on stdin is larger than ${formatBytes(TOPOLOGY_FILE_MAX_BYTES)}`, 'check that it is the right file');
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Loads, parses and validates a topology file. Throws TopologyError / UsageError (exit 2). */
export async function loadTopologyFile(file: string): Promise<LoadedTopology> {
  if (file === STDIN_TOPOLOGY) {
    const text = await readStdinTopology();
    return parseText(text, '<stdin>', text.trimStart().startsWith('{') ? 'json' : 'yaml');
  }
  const shown = displayPath(file);
  const ext = extname(file).toLowerCase();
  if (MODULE_EXTENSIONS.has(ext)) {
    readText(file, shown); // the same regular-file and size checks before jiti reads it
    const data = await importModule(file, shown);
    return validate(data, { file: shown, format: 'module', lineOf: () => undefined });
  }
  return parseText(readText(file, shown), shown, ext === '.json' ? 'json' : 'yaml');
}

function parseText(text: string, shown: string, format: 'json' | 'yaml'): LoadedTopology {
  const source: TopologySource = { file: shown, format, lineOf: lazyLineLocator(text, format) };
  if (format === 'json') return validate(parseJson(text, shown), source);
  const plain = readPlainYaml(text);
  if (plain) return validate(plain.data, source);
  const { doc, counter } = parseYaml(text, format);
  const problems = [...doc.errors, ...duplicateKeyProblems(doc, counter)];
  if (problems.length > 0) throw new TopologyError(shown, yamlSyntaxProblems(problems));
  return validate(yamlData(doc, shown), { ...source, lineOf: createLineLocator(doc, counter) });
}

function parseYaml(text: string, format: 'json' | 'yaml'): { doc: Document; counter: LineCounter } {
  const counter = new LineCounter();
  // uniqueKeys: false — yaml's own duplicate-key check is quadratic; duplicateKeyProblems() is not.
  const doc = parseDocument(text, { lineCounter: counter, merge: format === 'yaml', prettyErrors: true, uniqueKeys: false });
  return { doc, counter };
}

/** Lines are needed only for problems and findings: a clean file is never parsed into yaml's Document. */
function lazyLineLocator(text: string, format: 'json' | 'yaml'): TopologySource['lineOf'] {
  let locate: TopologySource['lineOf'] | undefined;
  return (path) => {
    if (!locate) {
      const { doc, counter } = parseYaml(text, format);
      locate = createLineLocator(doc, counter);
    }
    return locate(path);
  };
}

function validate(data: unknown, source: TopologySource): LoadedTopology {
  if (data === null || data === undefined) {
    throw new TopologyError(source.file, ['the file is empty — declare at least `queues:` with one queue']);
  }
  if (typeof data !== 'object' || Array.isArray(data)) {
    const got = Array.isArray(data) ? 'a list' : `${typeof data} ${JSON.stringify(data)}`;
    throw new TopologyError(source.file, [`expected a mapping (version, prefix, defaults, queues, workers, legacy) at the top level, got ${got} — start the file with queues:`]);
  }
  // Top-level `x-…` keys hold YAML anchors for `<<:` merges (the docker-compose convention).
  const declared = Object.fromEntries(Object.entries(data).filter(([key]) => !key.startsWith('x-')));
  const result = parseWith(topologySchema, declared);
  if (!result.success) throw new TopologyError(source.file, toProblems(result.error.issues, source.lineOf).map(formatProblem));
  return { topology: normalizeTopology(result.data), source };
}

async function assertReadableFile(file: string, hint: string): Promise<void> {
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
    throw fileError(error, displayPath(file), hint);
  });
  if (info.isDirectory()) throw new UsageError(`topology file ${displayPath(file)} is a directory`, 'name the YAML, JSON or TS file itself');
}

/** Only a regular file of bounded size: a FIFO or /dev/zero would hang, a huge file exhaust memory. */
function readText(file: string, shown: string): string {
  try {
    return readRegularFileSync(file, `topology file ${shown}`, TOPOLOGY_FILE_MAX_BYTES);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw fileError(error as NodeJS.ErrnoException, shown, 'check the path given to -c');
  }
}

function fileError(error: NodeJS.ErrnoException, shown: string, hint: string): UsageError {
  switch (error.code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new UsageError(`topology file ${shown} not found`, hint);
    case 'EACCES':
    case 'EPERM':
      return new UsageError(`cannot read topology file ${shown}: permission denied`, 'check its permissions (chmod +r) or run as a user who can read it');
    case 'EISDIR':
      return new UsageError(`topology file ${shown} is a directory`, 'name the YAML, JSON or TS file itself');
    default:
      return new UsageError(`cannot read topology file ${shown}: ${error.code ?? error.message}`, hint);
  }
}

/** JSON.parse's own verdict (YAML would accept trailing commas and more), with a line when it gives a position. */
function parseJson(text: string, shown: string): unknown {
  try {
    return text.trim() === '' ? null : JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message.replace(/, ".*" is not valid JSON$/s, '');
    const position = /at position (\d+)/.exec(message);
    const where = position ? lineAndColumn(text, Number(position[1])) : undefined;
    const what = message.replace(/\s*in JSON at position \d+.*$/s, '').replace(/\s*\(line \d+ column \d+\)$/, '');
    throw new TopologyError(shown, [`${where ? `line ${where.line}, column ${where.column}: ` : ''}invalid JSON: ${what} — fix the JSON syntax (no trailing commas, keys in double quotes)`]);
  }
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

/** Most aliases one document may expand; yaml counts the copies an alias makes, nested ones included. */
const MAX_ALIAS_COUNT = 1000;

/**
 * The document as plain data. An alias bomb ("billion laughs", also through `<<:` merge keys)
 * would expand exponentially; yaml stops at MAX_ALIAS_COUNT and that is an input error.
 */
function yamlData(doc: Document, shown: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/alias/i.test(message)) {
      throw new TopologyError(shown, [`its YAML aliases expand to more than ${MAX_ALIAS_COUNT} copies (an alias bomb?) — write the values out, or alias each anchor fewer times`]);
    }
    throw new TopologyError(shown, [`invalid YAML: ${message.split('\n')[0]} — fix the YAML`]);
  }
}

function yamlSyntaxProblems(errors: { message: string; linePos?: [{ line: number; col: number }, ...unknown[]] }[]): string[] {
  const position = (e: (typeof errors)[number]) => (e.linePos ? e.linePos[0].line * 1e6 + e.linePos[0].col : Infinity);
  const lines = [...errors].sort((a, b) => position(a) - position(b)).map((e) => {
    const what = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    const where = e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}: ` : '';
    return `${where}invalid YAML: ${what} — fix the YAML syntax (indent with spaces, close every bracket and quote)`;
  });
  return [...new Set(lines)];
}

/** Relative to the working directory when inside it, so messages stay short. */
function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}
