import { link, open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { DestinationExistsError } from './errors.ts';

/**
 * Gives a finished, durable `.part` its final name, atomically: a reader sees the whole file or
 * none. Without `overwrite`, an existing file is never replaced: a hard link fails if the name is
 * taken, closing the gap between a check and a rename. The directory is fsynced so the name itself
 * survives a power cut.
 */
export async function commitFile(partPath: string, finalPath: string, overwrite: boolean): Promise<void> {
  await placeFile(partPath, finalPath, overwrite);
  await fsyncDir(path.dirname(finalPath));
}

/**
 * `commitFile` without the directory fsync: for several files of one directory, each placed and
 * then the directory synced once (`fsyncDir`) before anyone is told they are there.
 */
export async function placeFile(partPath: string, finalPath: string, overwrite: boolean): Promise<void> {
  if (overwrite) {
    await rename(partPath, finalPath);
    return;
  }
  try {
    await link(partPath, finalPath);
    await unlink(partPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new DestinationExistsError(finalPath);
    // Filesystems without hard links: check, then rename.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw err;
    if (await exists(finalPath)) throw new DestinationExistsError(finalPath);
    await rename(partPath, finalPath);
  }
}

export async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
