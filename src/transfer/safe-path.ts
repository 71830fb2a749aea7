import path from 'node:path';
import { UnsafePathError } from './errors.ts';

const MAX_NAME_BYTES = 255;

/**
 * What is wrong with a file name (from the server or a request) as one plain path segment:
 * anything a filesystem would read as a directory, a parent, or the end of a C string.
 * Undefined when nothing is.
 */
export function fileNameProblem(name: string): string | undefined {
  return name === '' ? 'it is empty'
    : name.includes('\0') ? 'it contains a NUL byte'
    : name.includes('/') || name.includes('\\') ? 'it contains a path separator'
    : name === '.' || name === '..' ? 'it names a directory'
    : Buffer.byteLength(name) > MAX_NAME_BYTES ? `it is longer than ${MAX_NAME_BYTES} bytes`
    // eslint-disable-next-line no-control-regex
    : /[\x00-\x1f\x7f]/.test(name) ? 'it contains a control character'
    : undefined;
}

/** Throws UnsafePathError for a file name from the server with a `fileNameProblem`. */
export function assertSafeFileName(name: string): void {
  const why = fileNameProblem(name);
  if (why) throw new UnsafePathError(`refusing file name ${JSON.stringify(name)} from the server: ${why}`);
}

/**
 * What is wrong with a destination (a directory relative to the download root) from a job,
 * judged without touching the disk: undefined when nothing is.
 */
export function destinationProblem(destination: string): string | undefined {
  return destination.trim() === '' ? 'it is empty'
    : destination.includes('\0') ? 'it contains a NUL byte'
    : path.isAbsolute(destination) || /^[a-zA-Z]:[\\/]/.test(destination) ? 'it is absolute; give a directory relative to the download root'
    : destination.split(/[\\/]/).includes('..') ? 'it contains ".."'
    : undefined;
}

/** Throws UnsafePathError for a destination with a `destinationProblem`. */
export function assertSafeDestination(destination: string): void {
  const why = destinationProblem(destination);
  if (why) throw new UnsafePathError(`destination ${JSON.stringify(destination)} is not allowed: ${why}`);
}
