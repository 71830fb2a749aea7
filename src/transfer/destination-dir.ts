import { createHash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { exists, fsyncDir, placeFile } from './atomic-commit.ts';
import { sidecarPath } from './download-part.ts';
import { DestinationExistsError, UnsafePathError } from './errors.ts';
import { assertSafeDestination, assertSafeFileName, destinationProblem, fileNameProblem } from './safe-path.ts';

/** Where one file of a download lives: its final name, and the part its bytes grow in. */
export interface FilePaths {
  finalPath: string;
  partPath: string;
}

/** A directory on the way from the root to the destination, as it was when cldl checked it. */
interface Link {
  path: string;
  dev: number;
  ino: number;
}

const PART_SUFFIX = '.cldl-part';
const MAX_NAME_BYTES = 255;

/**
 * A download's destination directory under the download root. It owns the rules for the paths in
 * it: which names are acceptable, where a file's part goes, and that nothing is written outside
 * the root.
 *
 * The destination comes from a job and the directories under the root may be anyone's, so the
 * directory is created one component at a time without following links (a symbolic link anywhere
 * below the root is refused, before anything is created beyond it), and every directory on the way
 * is remembered by device and inode. Before a file is opened or renamed the chain is checked
 * again, and after opening the file is checked to be the one at its path: a directory swapped for
 * a link while vCenter prepared the files is caught instead of followed. (Node has no openat(), so
 * a swap inside the few microseconds between the last check and the open is not; the check after
 * opening then removes what was created.)
 */
export class DestinationDir {
  readonly path: string;
  readonly #chain: readonly Link[];

  private constructor(dir: string, chain: readonly Link[]) {
    this.path = dir;
    this.#chain = chain;
  }

  /** What is wrong with a destination from a request (undefined when nothing is); no disk access. */
  static problem(destination: string): string | undefined {
    return destinationProblem(destination);
  }

  /** What is wrong with a file name as one plain path segment (undefined when nothing is). */
  static fileNameProblem(name: string): string | undefined {
    return fileNameProblem(name);
  }

  /** Creates `destination` under `root` (which may itself be reached through links), refusing any link below it. */
  static async open(root: string, destination: string): Promise<DestinationDir> {
    return DestinationDir.#walk(root, destination, true);
  }

  /** The destination if it exists as a plain directory under the root; undefined otherwise. Creates nothing. */
  static async existing(root: string, destination: string): Promise<DestinationDir | undefined> {
    try {
      return await DestinationDir.#walk(root, destination, false);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  static async #walk(root: string, destination: string, create: boolean): Promise<DestinationDir> {
    assertSafeDestination(destination);
    let current = await realpath(root);
    const chain: Link[] = [await linkOf(current, destination)];
    for (const segment of destination.split(/[\\/]+/).filter((s) => s !== '' && s !== '.')) {
      current = path.join(current, segment);
      let st = await lstat(current).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT' || !create) throw err;
        return undefined;
      });
      if (!st) {
        await mkdir(current).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'EEXIST') throw err;
        });
        st = await lstat(current);
      }
      chain.push(checkedLink(current, st, destination));
    }
    return new DestinationDir(current, chain);
  }

  /**
   * The paths of `name` (refused unless it is one plain segment) for the download `owner`. The part
   * carries a digest of the owner: two downloads of one name never share a part, and a file called
   * `X.part` (someone else's, or the item's own) is never taken for one.
   */
  file(name: string, owner: string): FilePaths {
    assertSafeFileName(name);
    return { finalPath: path.join(this.path, name), partPath: path.join(this.path, partName(name, owner)) };
  }

  /** Whether the file is on disk. */
  has(filePath: string): Promise<boolean> {
    return exists(filePath);
  }

  /** Throws DestinationExistsError when `name` exists and may not be replaced. */
  async assertFree(name: string, overwrite: boolean): Promise<void> {
    const finalPath = path.join(this.path, name);
    if (!overwrite && (await exists(finalPath))) throw new DestinationExistsError(finalPath);
  }

  /** Throws UnsafePathError when a directory on the way was replaced (by a link, or anything else). */
  async verify(): Promise<void> {
    for (const link of this.#chain) {
      const st = await lstat(link.path).catch(() => undefined);
      if (!st || st.isSymbolicLink() || !st.isDirectory() || st.dev !== link.dev || st.ino !== link.ino) {
        throw new UnsafePathError(`${link.path} was replaced while cldl was using it; refusing to write through it`);
      }
    }
  }

  /**
   * Opens a file in this directory, creating it if `flags` say so: the directory chain is checked
   * just before, the file's last component is never followed, and afterwards the opened file must
   * be the one at its path. A file this call created and then found outside is removed again.
   */
  async openFile(filePath: string, flags: number, mode: number): Promise<FileHandle> {
    this.#assertChild(filePath);
    await this.verify();
    let created = false;
    let handle: FileHandle;
    if (flags & constants.O_CREAT) {
      try {
        handle = await open(filePath, flags | constants.O_EXCL | constants.O_NOFOLLOW, mode);
        created = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        handle = await open(filePath, (flags & ~constants.O_CREAT) | constants.O_NOFOLLOW, mode);
      }
    } else {
      handle = await open(filePath, flags | constants.O_NOFOLLOW, mode);
    }
    try {
      const opened = await handle.stat();
      await this.verify();
      const there = await lstat(filePath);
      if (there.dev !== opened.dev || there.ino !== opened.ino) throw new UnsafePathError(`${filePath} changed while cldl opened it`);
      return handle;
    } catch (err) {
      await handle.close().catch(() => undefined);
      if (created) await unlink(filePath).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Gives a finished part its final name, atomically, after checking the directory chain again;
   * never over an existing file without `overwrite`. The directory is synced so the name survives.
   */
  async commit(partPath: string, finalPath: string, overwrite: boolean): Promise<void> {
    await this.commitAll([{ partPath, finalPath }], overwrite);
  }

  /**
   * `commit` for several files: the chain checked once, each part renamed, and the directory synced
   * once, after the last rename and before this returns, whether all were renamed or one failed
   * (the names given so far must survive a power cut like any other).
   */
  async commitAll(files: readonly FilePaths[], overwrite: boolean): Promise<void> {
    if (files.length === 0) return;
    for (const f of files) {
      this.#assertChild(f.partPath);
      this.#assertChild(f.finalPath);
    }
    await this.verify();
    let placed = 0;
    try {
      for (const f of files) {
        await placeFile(f.partPath, f.finalPath, overwrite);
        placed++;
      }
    } catch (err) {
      if (placed > 0) await fsyncDir(this.path).catch(() => undefined);
      throw err;
    }
    await fsyncDir(this.path);
  }

  /** Removes a part (and its record of segments), after checking the chain; gone already is fine. */
  async removePart(partPath: string): Promise<void> {
    this.#assertChild(partPath);
    await this.verify();
    for (const p of [partPath, sidecarPath(partPath)]) {
      await unlink(p).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
  }

  /** The path of `name` (one plain segment) in this directory. */
  child(name: string): string {
    assertSafeFileName(name);
    return path.join(this.path, name);
  }

  /** The text of file `name` in this directory; undefined when there is none. */
  async readText(name: string): Promise<string | undefined> {
    await this.verify();
    const handle = await this.openFile(this.child(name), constants.O_RDONLY, 0).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!handle) return undefined;
    try {
      return await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  }

  /** Writes file `name` whole or not at all (a temporary file, fsynced, renamed over it, the directory synced). */
  async writeTextAtomically(name: string, text: string): Promise<void> {
    const final = this.child(name);
    const tmp = this.child(`.${name}.${process.pid}.tmp`);
    const handle = await this.openFile(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o640);
    try {
      await handle.writeFile(text);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await this.verify();
    await rename(tmp, final);
    await fsyncDir(this.path);
  }

  /**
   * Moves the directory `from` (elsewhere under the root) to `name` in this directory. Whatever
   * was there is first moved aside, beside `from`, and removed once the new one is in place: a
   * reader sees the old tree or the new one, never a mix.
   */
  async adopt(from: DestinationDir, name: string): Promise<void> {
    const target = this.child(name);
    await this.verify();
    await from.verify();
    const existing = await lstat(target).catch(() => undefined);
    const parked = `${from.path}.replaced`;
    if (existing) {
      if (existing.isSymbolicLink() || !existing.isDirectory()) throw new UnsafePathError(`${target} is not a directory; refusing to replace it`);
      await rename(target, parked);
    }
    await rename(from.path, target);
    await fsyncDir(this.path);
    if (existing) await rm(parked, { recursive: true, force: true });
  }

  /** Removes the tree `name` of this directory (links in it are removed, never followed). */
  async removeChild(name: string): Promise<void> {
    const target = this.child(name);
    await this.verify();
    await rm(target, { recursive: true, force: true });
    await fsyncDir(this.path);
  }

  /** The size of regular file `name` in this directory; undefined when there is none. */
  async sizeOf(name: string): Promise<number | undefined> {
    const st = await lstat(this.child(name)).catch(() => undefined);
    return st?.isFile() ? st.size : undefined;
  }

  /** The names in this directory. */
  async entries(): Promise<string[]> {
    await this.verify();
    return readdir(this.path);
  }

  /** The directory `name` in this one, created if missing (no link followed). */
  subdirectory(name: string, create = true): Promise<DestinationDir | undefined> {
    assertSafeFileName(name);
    return DestinationDir.#below(this, name, create);
  }

  static async #below(parent: DestinationDir, name: string, create: boolean): Promise<DestinationDir | undefined> {
    await parent.verify();
    const p = path.join(parent.path, name);
    let st = await lstat(p).catch(() => undefined);
    if (!st) {
      if (!create) return undefined;
      await mkdir(p).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      st = await lstat(p);
    }
    return new DestinationDir(p, [...parent.#chain, checkedLink(p, st, name)]);
  }

  #assertChild(filePath: string): void {
    if (path.dirname(filePath) !== this.path) throw new UnsafePathError(`${filePath} is not in ${this.path}`);
  }
}

function checkedLink(p: string, st: Stats, destination: string): Link {
  if (st.isSymbolicLink()) {
    throw new UnsafePathError(`destination ${JSON.stringify(destination)} is not allowed: ${p} is a symbolic link (links below the download root are not followed)`);
  }
  if (!st.isDirectory()) throw new UnsafePathError(`destination ${JSON.stringify(destination)} is not allowed: ${p} is not a directory`);
  return { path: p, dev: st.dev, ino: st.ino };
}

async function linkOf(root: string, destination: string): Promise<Link> {
  return checkedLink(root, await lstat(root), destination);
}

/** `.NAME.DIGEST.cldl-part`: hidden, recognisably cldl's, unique per download and file, at most 255 bytes. */
function partName(name: string, owner: string): string {
  const digest = createHash('sha256').update(owner).update('\0').update(name).digest('hex').slice(0, 12);
  const room = MAX_NAME_BYTES - 1 - 1 - digest.length - PART_SUFFIX.length;
  return `.${truncateBytes(name, room)}.${digest}${PART_SUFFIX}`;
}

function truncateBytes(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let out = '';
  for (const ch of text) {
    if (Buffer.byteLength(out + ch) > maxBytes) break;
    out += ch;
  }
  return out;
}
