import type * as FsPromises from 'node:fs/promises';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DestinationDir, DestinationExistsError } from '../../src/transfer/index.ts';

// Every path node:fs/promises opens: a directory opened is a directory fsynced (atomic-commit.ts).
const { opened } = vi.hoisted(() => ({ opened: [] as string[] }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof FsPromises>();
  const open: typeof fs.open = (p, flags, mode) => {
    opened.push(String(p));
    return fs.open(p, flags, mode);
  };
  return { ...fs, open };
});

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'cldl-commit-'));
  opened.length = 0;
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function parts(dir: DestinationDir, names: string[]) {
  const files = names.map((n) => dir.file(n, 'dl-1'));
  for (const [i, f] of files.entries()) await writeFile(f.partPath, `bytes of ${names[i]}`);
  return files;
}

describe('DestinationDir.commitAll', () => {
  it('gives every part its final name and syncs the directory once for all of them', async () => {
    const dir = await DestinationDir.open(root, 'tmpl');
    const files = await parts(dir, ['a.ovf', 'a-disk1.vmdk', 'a.mf']);
    opened.length = 0;
    await dir.commitAll(files, false);
    expect((await readdir(dir.path)).sort()).toEqual(['a-disk1.vmdk', 'a.mf', 'a.ovf']);
    expect(await readFile(path.join(dir.path, 'a.mf'), 'utf8')).toBe('bytes of a.mf');
    expect(opened).toEqual([dir.path]);
  });

  it('stops at a name it may not replace, and still syncs the names it gave', async () => {
    const dir = await DestinationDir.open(root, 'tmpl');
    const files = await parts(dir, ['a.ovf', 'a-disk1.vmdk']);
    await writeFile(path.join(dir.path, 'a-disk1.vmdk'), 'precious');
    opened.length = 0;
    await expect(dir.commitAll(files, false)).rejects.toThrow(DestinationExistsError);
    expect(await readFile(path.join(dir.path, 'a.ovf'), 'utf8')).toBe('bytes of a.ovf');
    expect(await readFile(path.join(dir.path, 'a-disk1.vmdk'), 'utf8')).toBe('precious');
    expect(opened).toEqual([dir.path]);
  });
});
