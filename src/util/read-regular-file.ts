import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { UsageError } from '../errors.js';
import { formatBytes } from '../ui/format.js';

/**
 * Topology files: far above any real one (4 MiB holds some 30,000 queues), and below what would
 * exhaust memory: parsing YAML takes about 130 bytes of heap per byte, so 4 MiB needs ~0.5 GB
 * where 16 MiB needed ~1.9 GB.
 */
export const TOPOLOGY_FILE_MAX_BYTES = 4 * 1024 * 1024;
/** Secrets such as --password-file: a password, not a document. */
export const SECRET_FILE_MAX_BYTES = 64 * 1024;

/**
 * Reads a file the user named, as UTF-8, only when it is a regular file of at most `maxBytes`.
 * A FIFO with no writer would block forever, `/dev/zero` never ends, and a huge file exhausts
 * memory: each is a UsageError (exit 2) naming `label` (e.g. "topology file queuectl.yaml").
 * Opening uses O_NONBLOCK so that even the open of a FIFO returns at once; the check is on the
 * opened descriptor, so a file swapped after a stat cannot slip through. Open errors (ENOENT,
 * EACCES, ...) and a directory (code EISDIR) are thrown as errno errors for the caller to word.
 */
export function readRegularFileSync(file: string, label: string, maxBytes: number): string {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stats = fstatSync(fd);
    if (stats.isDirectory()) throw Object.assign(new Error(`EISDIR: ${file} is a directory`), { code: 'EISDIR' });
    if (!stats.isFile()) {
      throw new UsageError(`${label} is ${kindOf(stats)}, not a regular file`, 'name a regular file (reading a pipe or device could block or never end)');
    }
    if (stats.size > maxBytes) throw tooBig(label, maxBytes);
    // Read to the end rather than trusting st_size (the file may grow), but never past the limit.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1024 * 1024, maxBytes + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > maxBytes) throw tooBig(label, maxBytes);
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function tooBig(label: string, maxBytes: number): UsageError {
  return new UsageError(`${label} is larger than ${formatBytes(maxBytes)}`, 'check that it is the right file');
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a plain file';
}

/** A CA bundle may hold every public root (~200 KiB); far below what could hurt. */
export const CA_BUNDLE_MAX_BYTES = 4 * 1024 * 1024;

/**
 * A file named by a flag (--password-file, --tls-*), for either backend: a regular file of bounded
 * size, else one exit-2 line naming the flag (a FIFO or /dev/zero never hangs the run).
 */
export function readFlagFile(file: string, flag: string, maxBytes = SECRET_FILE_MAX_BYTES): string {
  try {
    return readRegularFileSync(file, `${flag} ${file}`, maxBytes);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UsageError(`cannot read ${flag} ${file} (${code})`, 'check the path and its permissions');
  }
}
